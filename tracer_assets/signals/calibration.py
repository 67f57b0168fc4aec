"""internal_prob: the chance a signal's direction is right at its horizon, as a function of strength.

Prior (documented, used until enough outcomes exist): ``prior = signal_prior_prob + signal_prob_slope *
strength``. Once at least ``calibration_min_outcomes`` outcomes are known, a map fitted on them
(isotonic or logistic regression of outcome on strength, scikit-learn) is blended with the prior:

    internal_prob = (n * fitted + k * prior) / (n + k)      k = calibration_prior_weight

and clipped to [c, 1 - c] (``calibration_prob_clip``).

A map must earn its place: the latest ``calibration_holdout_fraction`` of the known outcomes are held
out, the blended map is fitted on the earlier ones, and it replaces the prior only when it scores a
lower Brier than the prior on the held-out outcomes (all of them known before the decision). Otherwise
the prior stays, and ``CalibrationInfo.method`` says ``prior_held_out`` with both held-out Briers.

Point-in-time: the map for a decision on UTC day D is fitted once per day, only on outcomes with
``resolved_ts <= D 00:00``, so every decision that day (all at or after midnight) sees only outcomes
resolved before it. Refitting once a day keeps a year's replay fast; maps are cached by how many
outcomes they saw, so days without new resolutions reuse the last fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from tracer_assets.settings import SignalSettings

PRIOR_KEPT = "prior_held_out"  # enough outcomes, but the map lost to the prior on held-out ones


@dataclass(frozen=True)
class CalibrationInfo:
    method: str  # "prior", "isotonic", "logistic" or PRIOR_KEPT
    n_outcomes: int
    cutoff_ts: pd.Timestamp
    held_out_brier_map: float | None = None
    held_out_brier_prior: float | None = None


def prior_prob(strength: np.ndarray, settings: SignalSettings) -> np.ndarray:
    return settings.signal_prior_prob + settings.signal_prob_slope * np.asarray(strength, dtype=float)


def prepare_outcomes(
    outcomes: pd.DataFrame | None, prior_signals: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Resolved signal outcomes as (resolved_ts, strength, outcome), sorted by resolved_ts.

    Strength comes from ``strength`` or ``raw_score``, or from the prior signal named by ``signal_id``
    / ``question_id``. Rows of another kind (evaluation observations of markets) are left out; an
    outcome other than 0/1 is an error.
    """
    empty = pd.DataFrame(
        {"resolved_ts": pd.Series(dtype="datetime64[ns, UTC]"), "strength": [], "outcome": []}
    )
    if outcomes is None or outcomes.empty:
        return empty
    o = outcomes
    if "kind" in o.columns:
        o = o[o["kind"] == "signal"]
    for col in ("resolved_ts", "outcome"):
        if col not in o.columns:
            raise ValueError(f"outcomes frame is missing column {col!r}")
    if "strength" in o.columns:
        strength = pd.to_numeric(o["strength"], errors="coerce")
    elif "raw_score" in o.columns:
        strength = pd.to_numeric(o["raw_score"], errors="coerce")
    else:
        key = next((k for k in ("signal_id", "question_id") if k in o.columns), None)
        if key is None or prior_signals is None or "strength" not in prior_signals.columns:
            raise ValueError("outcomes need 'strength', 'raw_score', or a signal_id found in prior_signals")
        lookup = prior_signals.drop_duplicates("signal_id").set_index("signal_id")["strength"]
        strength = o[key].map(lookup)
    outcome = pd.to_numeric(o["outcome"], errors="coerce")
    bad = outcome.notna() & ~outcome.isin([0, 1])
    if bad.any():
        raise ValueError(f"outcomes must be 0 or 1; found {sorted(outcome[bad].unique().tolist())[:5]}")
    out = pd.DataFrame(
        {
            "resolved_ts": pd.to_datetime(o["resolved_ts"], utc=True),
            "strength": strength.astype(float),
            "outcome": outcome.astype(float),
        }
    ).dropna()
    # full sort key: outcomes gathered in a different order (lake + fresh) must fit identically
    return out.sort_values(["resolved_ts", "strength", "outcome"], kind="stable").reset_index(drop=True)


def _fit(x: np.ndarray, y: np.ndarray, method: str):
    """A callable strength -> probability fitted on (x, y)."""
    if len(np.unique(y)) < 2:
        rate = float(y.mean())
        return lambda s: np.full(len(s), rate)
    if method == "logistic":
        model = LogisticRegression(C=1.0).fit(x.reshape(-1, 1), y)
        return lambda s: model.predict_proba(np.asarray(s, dtype=float).reshape(-1, 1))[:, 1]
    # stronger divergence never maps to a lower probability: monotone increasing by design
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip").fit(x, y)
    return lambda s: iso.predict(np.asarray(s, dtype=float))


def held_out_briers(x: np.ndarray, y: np.ndarray, settings: SignalSettings) -> tuple[float, float]:
    """(Brier of the blended map, Brier of the prior) on the latest held-out share of (x, y), the map
    fitted on the earlier rest. ``x``/``y`` are sorted by resolution time."""
    n = len(y)
    n_test = max(1, int(round(n * settings.calibration_holdout_fraction)))
    n_fit = n - n_test
    if n_fit < 1:
        return float("nan"), float("nan")
    x_fit, y_fit, x_test, y_test = x[:n_fit], y[:n_fit], x[n_fit:], y[n_fit:]
    prior = prior_prob(x_test, settings)
    k = settings.calibration_prior_weight
    fitted = _fit(x_fit, y_fit, settings.calibration_method)(x_test)
    blended = (n_fit * fitted + k * prior) / (n_fit + k)
    clip = settings.calibration_prob_clip
    map_brier = float(np.mean((np.clip(blended, clip, 1 - clip) - y_test) ** 2))
    prior_brier = float(np.mean((np.clip(prior, clip, 1 - clip) - y_test) ** 2))
    return map_brier, prior_brier


def internal_probabilities(
    decisions: pd.DataFrame, outcomes: pd.DataFrame, settings: SignalSettings
) -> tuple[pd.Series, pd.Series]:
    """(internal_prob, CalibrationInfo) per row of ``decisions`` (needs decision_ts, strength).

    ``outcomes`` comes from ``prepare_outcomes``.
    """
    s = settings
    if decisions.empty:
        return pd.Series(dtype=float, index=decisions.index), pd.Series(dtype=object, index=decisions.index)
    cutoff = decisions["decision_ts"].dt.floor("D")
    resolved = outcomes["resolved_ts"].to_numpy(dtype="datetime64[ns]")
    # outcomes known at each row's cutoff: those resolved at or before its day's midnight
    n_known = np.searchsorted(
        resolved, cutoff.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[ns]"), side="right"
    )
    strength = decisions["strength"].to_numpy(dtype=float)
    prob = prior_prob(strength, s)
    method = np.full(len(decisions), "prior", dtype=object)
    x_all = outcomes["strength"].to_numpy(dtype=float)
    y_all = outcomes["outcome"].to_numpy(dtype=float)
    k = s.calibration_prior_weight
    held: dict[int, tuple[float, float]] = {}
    for n in np.unique(n_known[n_known >= s.calibration_min_outcomes]):
        rows = n_known == n
        map_brier, prior_brier = held_out_briers(x_all[:n], y_all[:n], s)
        held[int(n)] = (map_brier, prior_brier)
        if not map_brier < prior_brier:
            method[rows] = PRIOR_KEPT
            continue
        fitted = _fit(x_all[:n], y_all[:n], s.calibration_method)(strength[rows])
        prob[rows] = (n * fitted + k * prob[rows]) / (n + k)
        method[rows] = s.calibration_method
    probs = pd.Series(
        np.clip(prob, s.calibration_prob_clip, 1 - s.calibration_prob_clip),
        index=decisions.index,
    )
    infos = pd.Series(
        [
            CalibrationInfo(m, int(n), c, *held.get(int(n), (None, None)))
            for m, n, c in zip(method, n_known, cutoff, strict=True)
        ],
        index=decisions.index,
        dtype=object,
    )
    return probs, infos
