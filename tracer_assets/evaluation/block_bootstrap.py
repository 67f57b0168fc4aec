"""Bootstrap intervals that respect dependence: whole blocks of consecutive days are resampled.

Observations decided on the same day share the market and the news (and a signal's horizon overlaps
the next day's), so resampling rows one by one treats them as independent and gives intervals that
are too narrow. Here the unit of resampling is a block of ``block_days`` consecutive UTC days holding
every observation (all symbols) decided in them; a statistic is recomputed from the resampled blocks'
sums, so blocks of different sizes weigh by their rows. Seeded and deterministic like
``evaluation.bootstrap``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from tracer_assets.evaluation.bootstrap import Seed, _percentile_interval, gathered_sums

_CHUNK_CELLS = 2_000_000


def block_ids(days: pd.Series, block_days: int) -> np.ndarray:
    """Block number of each row: consecutive ``block_days``-day stretches counted from the first day."""
    if len(days) == 0:
        return np.array([], dtype=np.int64)
    d = days if isinstance(days.dtype, pd.DatetimeTZDtype) else pd.to_datetime(days, utc=True)
    # whole UTC days since the epoch as integers (floored, as .dt.floor("D") does); NaT counts as day 0
    day = d.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[D]")
    missing = np.isnat(day)
    if missing.all():
        return np.zeros(len(day), dtype=np.int64)
    number = day.astype(np.int64)
    offset = np.where(missing, 0, number - number[~missing].min())
    return (offset // int(block_days)).astype(np.int64)


def _block_sums(values: np.ndarray, blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    _, inverse = np.unique(blocks, return_inverse=True)
    counts = np.bincount(inverse).astype(float)
    sums = np.column_stack(
        [np.bincount(inverse, weights=values[:, j]) for j in range(values.shape[1])]
    )  # (blocks, columns)
    return sums, counts


def _resampled_totals(sums: np.ndarray, counts: np.ndarray, n_resamples: int, seed: Seed):
    rng = np.random.default_rng(seed)
    n_blocks = len(counts)
    sums_t = np.ascontiguousarray(sums.T)
    per_chunk = max(1, _CHUNK_CELLS // max(n_blocks, 1))
    done = 0
    while done < n_resamples:
        size = min(per_chunk, n_resamples - done)
        idx = rng.integers(0, n_blocks, size=(size, n_blocks))
        yield gathered_sums(sums_t, idx), counts[idx].sum(axis=1)  # (size, columns), (size,)
        done += size


def block_bootstrap_mean_cis(
    columns: Mapping[str, np.ndarray], blocks: np.ndarray, n_resamples: int, seed: Seed, level: float = 0.95
) -> dict[str, tuple[float, float]]:
    """Block-bootstrap intervals for the means of per-row values (rows grouped by ``blocks``)."""
    names = list(columns)
    if not names or len(blocks) == 0:
        return {c: (float("nan"), float("nan")) for c in names}
    values = np.column_stack([np.asarray(columns[c], dtype=float) for c in names])
    sums, counts = _block_sums(values, np.asarray(blocks))
    means = np.concatenate(
        [tot / cnt[:, None] for tot, cnt in _resampled_totals(sums, counts, n_resamples, seed)]
    )
    return {c: _percentile_interval(means[:, j], level) for j, c in enumerate(names)}


def block_bootstrap_ratio_ci(
    numerator: np.ndarray,
    denominator: np.ndarray,
    blocks: np.ndarray,
    n_resamples: int,
    seed: Seed,
    level: float = 0.95,
) -> tuple[float, float]:
    """Block-bootstrap interval of ``1 - sum(numerator) / sum(denominator)`` (a Brier skill score)."""
    if len(blocks) == 0:
        return float("nan"), float("nan")
    values = np.column_stack([np.asarray(numerator, dtype=float), np.asarray(denominator, dtype=float)])
    sums, counts = _block_sums(values, np.asarray(blocks))
    parts = []
    for tot, _ in _resampled_totals(sums, counts, n_resamples, seed):
        with np.errstate(divide="ignore", invalid="ignore"):
            parts.append(np.where(tot[:, 1] > 0, 1.0 - tot[:, 0] / tot[:, 1], np.nan))
    return _percentile_interval(np.concatenate(parts), level)
