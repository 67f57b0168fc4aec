"""Calibration bins (reliability-diagram table), uniform or quantile, on scikit-learn's binning rule.

A bin holds the forecasts in ``(lo, hi]`` (the first bin also holds ``lo``), exactly as
``sklearn.calibration.calibration_curve`` assigns them; the observed frequency and mean prediction
per bin are scikit-learn's own numbers. Empty bins are left out, as scikit-learn does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.calibration import calibration_curve

Strategy = Literal["uniform", "quantile"]

BIN_COLUMNS = ["strategy", "bin", "bin_lo", "bin_hi", "count", "mean_predicted", "observed_freq"]
DEFAULT_GROUPS = ("kind", "predictor")


def scorable_mask(obs: pd.DataFrame) -> pd.Series:
    """Rows with a probability in [0, 1] and a 0/1 outcome (the only rows any score can use)."""
    p = pd.to_numeric(obs["predicted_prob"], errors="coerce")
    y = pd.to_numeric(obs["outcome"], errors="coerce")
    return (p.between(0.0, 1.0) & y.isin([0, 1])).fillna(False).astype(bool)


def bin_edges(probs: np.ndarray, n_bins: int, strategy: Strategy = "uniform") -> np.ndarray:
    """``n_bins + 1`` edges: equal widths on [0, 1], or quantiles of ``probs`` (may repeat)."""
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    if strategy == "uniform":
        return np.linspace(0.0, 1.0, n_bins + 1)
    if strategy == "quantile":
        if len(probs) == 0:
            return np.linspace(0.0, 1.0, n_bins + 1)
        return np.percentile(np.asarray(probs, dtype=float), np.linspace(0.0, 100.0, n_bins + 1))
    raise ValueError(f"strategy must be 'uniform' or 'quantile', got {strategy!r}")


def assign_bins(probs: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin index per forecast, the rule scikit-learn's calibration_curve uses."""
    return np.searchsorted(edges[1:-1], np.asarray(probs, dtype=float))


def _bins_for(y: np.ndarray, p: np.ndarray, n_bins: int, strategy: Strategy) -> pd.DataFrame:
    edges = bin_edges(p, n_bins, strategy)
    ids = assign_bins(p, edges)
    counts = np.bincount(ids, minlength=n_bins)
    nonzero = np.flatnonzero(counts)
    observed, predicted = calibration_curve(y, p, n_bins=n_bins, strategy=strategy)
    return pd.DataFrame(
        {
            "strategy": strategy,
            "bin": nonzero.astype("int64"),
            "bin_lo": edges[nonzero].astype(float),
            "bin_hi": edges[nonzero + 1].astype(float),
            "count": counts[nonzero].astype("int64"),
            "mean_predicted": predicted.astype(float),
            "observed_freq": observed.astype(float),
        }
    )


def _empty(groups: Sequence[str]) -> pd.DataFrame:
    cols = {g: pd.Series(dtype="str") for g in groups}
    cols.update(
        {
            "strategy": pd.Series(dtype="str"),
            "bin": pd.Series(dtype="int64"),
            "bin_lo": pd.Series(dtype=float),
            "bin_hi": pd.Series(dtype=float),
            "count": pd.Series(dtype="int64"),
            "mean_predicted": pd.Series(dtype=float),
            "observed_freq": pd.Series(dtype=float),
        }
    )
    return pd.DataFrame(cols)


def calibration_bins(
    obs: pd.DataFrame,
    n_bins: int,
    strategy: Strategy = "uniform",
    by: Sequence[str] = DEFAULT_GROUPS,
) -> pd.DataFrame:
    """Per group in ``by`` (those columns ``obs`` has) and non-empty bin: count, mean prediction,
    observed frequency and the bin's edges. Rows that cannot be scored (missing or out-of-range
    probability, outcome not 0/1) are left out; ``weekly_metrics`` counts them as ``n_unscored``.
    """
    groups = [g for g in by if g in obs.columns]
    if obs.empty:
        return _empty(groups)
    clean = obs[scorable_mask(obs)]
    if clean.empty:
        return _empty(groups)
    frames = []
    keyed = clean.assign(**{g: clean[g].fillna("unknown").astype("str") for g in groups})
    grouped = keyed.groupby(groups, sort=True, dropna=False) if groups else [((), keyed)]
    for key, g in grouped:
        key = key if isinstance(key, tuple) else (key,)
        y = g["outcome"].astype(int).to_numpy()
        p = g["predicted_prob"].astype(float).to_numpy()
        part = _bins_for(y, p, n_bins, strategy)
        for name, value in zip(groups, key, strict=True):
            part.insert(groups.index(name), name, value)
        frames.append(part)
    return pd.concat(frames, ignore_index=True)
