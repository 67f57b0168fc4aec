"""Nightly self-check: has the hit rate of the last window dropped below its baseline?

The recent window is ``(as_of - window, as_of]`` and the baseline the ``baseline_days`` just before
it, both by resolution time, using only observations known by ``as_of``. A group is judged only when
both windows hold at least ``eval_selfcheck_min_n`` resolved predictions; a drop of more than
``eval_selfcheck_max_drop`` (absolute hit rate) fails the check with a plain-English explanation.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from tracer_assets.clock import utc
from tracer_assets.evaluation.hits import direction_hits
from tracer_assets.evaluation.metrics import default_settings, prepare_observations
from tracer_assets.settings import EvaluationSettings

TREND_COLUMNS = [
    "as_of",
    "kind",
    "predictor",
    "window_days",
    "baseline_days",
    "window_start",
    "baseline_start",
    "window_n",
    "window_hit_rate",
    "baseline_n",
    "baseline_hit_rate",
    "drop",
    "event_ts",
    "available_ts",
]


def _instants(values: pd.Series) -> np.ndarray:
    """UTC timestamps as naive datetime64 (NaT stays NaT: every comparison with it is False)."""
    return pd.to_datetime(values, utc=True).dt.tz_convert(None).to_numpy()


class TrendInputs:
    """Prepared observations reduced once to arrays (group codes, hits, times), so that many nights'
    trends each cost a few array passes instead of a groupby and a frame slice per night."""

    def __init__(self, frame: pd.DataFrame) -> None:
        groups = frame.groupby(["kind", "predictor"], sort=True)
        self.keys: list[tuple] = list(groups.size().index)  # sorted, as the groupby iterates them
        self.codes = groups.ngroup().to_numpy()
        # a hit is 0 or 1, so each window's sum (and hence its mean) is exact in any order
        self.hits = direction_hits(
            frame["kind"].astype(str).to_numpy(),
            frame["predicted_prob"].to_numpy(dtype=float),
            frame["outcome"].to_numpy(dtype=float),
        )
        self.scorable = frame["scorable"].to_numpy(dtype=bool) & (self.codes >= 0)
        self.available = _instants(frame["available_ts"])
        self.resolved = _instants(frame["resolved_ts"])

    def _windows(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(count, hit rate) per group over the rows in the mask ``rows``; NaN rate where none."""
        n = np.bincount(self.codes[rows], minlength=len(self.keys))
        hits = np.bincount(self.codes[rows], weights=self.hits[rows], minlength=len(self.keys))
        with np.errstate(invalid="ignore", divide="ignore"):
            return n, np.where(n > 0, hits / np.maximum(n, 1), np.nan)

    def trend(
        self, as_of: pd.Timestamp, window_days: int, baseline_days: int, rows: np.ndarray | None = None
    ) -> pd.DataFrame:
        """``hit_rate_trend`` of the observations in the mask ``rows`` (default: all of them)."""
        as_of = utc(as_of)
        window_start = as_of - pd.Timedelta(days=window_days)
        baseline_start = window_start - pd.Timedelta(days=baseline_days)
        now, ws, bs = (t.tz_convert(None).to_datetime64() for t in (as_of, window_start, baseline_start))
        known = self.scorable & (self.available <= now) & (self.resolved <= now)
        if rows is not None:
            known &= rows
        present = np.bincount(self.codes[known], minlength=len(self.keys)) > 0
        window_n, window_rate = self._windows(known & (self.resolved > ws))
        baseline_n, baseline_rate = self._windows(known & (self.resolved > bs) & (self.resolved <= ws))
        out = pd.DataFrame(
            [
                {
                    "as_of": as_of,
                    "kind": kind,
                    "predictor": predictor,
                    "window_days": window_days,
                    "baseline_days": baseline_days,
                    "window_start": window_start,
                    "baseline_start": baseline_start,
                    "window_n": int(window_n[g]),
                    "window_hit_rate": float(window_rate[g]),
                    "baseline_n": int(baseline_n[g]),
                    "baseline_hit_rate": float(baseline_rate[g]),
                    "drop": float(baseline_rate[g]) - float(window_rate[g]),
                    "event_ts": as_of,
                    "available_ts": as_of,
                }
                for g, (kind, predictor) in enumerate(self.keys)
                if present[g]
            ],
            columns=TREND_COLUMNS,
        )
        for col in ("as_of", "window_start", "baseline_start", "event_ts", "available_ts"):
            out[col] = pd.to_datetime(out[col], utc=True).astype("datetime64[us, UTC]")
        for col in ("window_days", "baseline_days", "window_n", "baseline_n"):
            out[col] = out[col].astype("int64")
        return out


def hit_rate_trend(
    observations: pd.DataFrame,
    as_of: pd.Timestamp | str,
    window_days: int,
    baseline_days: int,
    prepared: bool = False,
) -> pd.DataFrame:
    """One row per kind and predictor: hit rate and count in the recent window and in the baseline,
    and ``drop = baseline - recent``. ``event_ts = available_ts = as_of`` (rows append night by night).
    ``prepared``: ``observations`` already went through ``prepare_observations`` (default settings).
    A loop over nights builds ``TrendInputs`` once and calls its ``trend`` per night instead.
    """
    frame = observations if prepared else prepare_observations(observations, default_settings())
    return TrendInputs(frame).trend(as_of, window_days, baseline_days)


def _pct(value: float) -> str:
    return f"{100 * value:.0f}%"


def _json_number(value: object) -> object:
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else round(float(value), 6)
    if isinstance(value, np.integer):
        return int(value)
    return value


def self_check(trend: pd.DataFrame, settings: EvaluationSettings) -> tuple[bool, str, dict]:
    """(passed, explanation, metadata) for a ``hit_rate_trend`` table; never raises on thin data.

    Fails when a group with enough data in both windows dropped more than ``eval_selfcheck_max_drop``.
    ``metadata`` is JSON-ready: the limits and, per group, counts, rates, drop and status.
    """
    limit, min_n = settings.eval_selfcheck_max_drop, settings.eval_selfcheck_min_n
    groups, failures, judged = [], [], 0
    for row in trend.itertuples(index=False):
        enough = row.window_n >= min_n and row.baseline_n >= min_n
        failed = bool(enough and row.drop > limit)
        status = "failed" if failed else ("ok" if enough else "not enough data")
        judged += int(enough)
        name = f"{row.kind} predictions ({row.predictor})"
        groups.append(
            {
                "group": f"{row.kind}/{row.predictor}",
                "status": status,
                **{
                    k: _json_number(getattr(row, k))
                    for k in ("window_n", "window_hit_rate", "baseline_n", "baseline_hit_rate", "drop")
                },
            }
        )
        if failed:
            failures.append(
                f"{name}: the hit rate fell to {_pct(row.window_hit_rate)} over the last {row.window_days} days "
                f"({row.window_n} resolved) from {_pct(row.baseline_hit_rate)} over the {row.baseline_days} "
                f"days before ({row.baseline_n} resolved), a drop of {100 * row.drop:.0f} points; "
                f"the limit is {100 * limit:.0f} points."
            )
    if failures:
        explanation = "Self-check failed. " + " ".join(failures)
    elif trend.empty:
        explanation = "No resolved predictions yet, so there is no hit-rate trend to check."
    elif judged == 0:
        explanation = (
            f"Not enough resolved predictions to judge the trend: each window needs at least {min_n}."
        )
    else:
        explanation = (
            f"Hit rates held up: no group with enough data dropped more than {100 * limit:.0f} points "
            "below its baseline."
        )
    metadata = {
        "max_drop": limit,
        "min_n": min_n,
        "groups_judged": judged,
        "groups_failed": len(failures),
        "groups": groups,
    }
    if len(trend):
        metadata["as_of"] = pd.Timestamp(trend["as_of"].iloc[0]).isoformat()
    return not failures, explanation, metadata
