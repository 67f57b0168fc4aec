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


def _hit_rate(rows: pd.DataFrame) -> tuple[int, float]:
    if rows.empty:
        return 0, float("nan")
    hits = direction_hits(
        rows["kind"].astype(str).to_numpy() if "kind" in rows.columns else "",
        rows["predicted_prob"].to_numpy(dtype=float),
        rows["outcome"].to_numpy(dtype=float),
    )
    return len(rows), float(hits.mean())


def hit_rate_trend(
    observations: pd.DataFrame,
    as_of: pd.Timestamp | str,
    window_days: int,
    baseline_days: int,
    prepared: bool = False,
) -> pd.DataFrame:
    """One row per kind and predictor: hit rate and count in the recent window and in the baseline,
    and ``drop = baseline - recent``. ``event_ts = available_ts = as_of`` (rows append night by night).
    ``prepared``: ``observations`` already went through ``prepare_observations`` (default settings),
    as a loop over nights does once for its whole history.
    """
    as_of = utc(as_of)
    window_start = as_of - pd.Timedelta(days=window_days)
    baseline_start = window_start - pd.Timedelta(days=baseline_days)
    frame = observations if prepared else prepare_observations(observations, default_settings())
    frame = frame[frame["scorable"] & (frame["available_ts"] <= as_of) & (frame["resolved_ts"] <= as_of)]
    rows = []
    for (kind, predictor), g in frame.groupby(["kind", "predictor"], sort=True):
        recent = g[g["resolved_ts"] > window_start]
        base = g[(g["resolved_ts"] > baseline_start) & (g["resolved_ts"] <= window_start)]
        window_n, window_rate = _hit_rate(recent)
        baseline_n, baseline_rate = _hit_rate(base)
        rows.append(
            {
                "as_of": as_of,
                "kind": kind,
                "predictor": predictor,
                "window_days": window_days,
                "baseline_days": baseline_days,
                "window_start": window_start,
                "baseline_start": baseline_start,
                "window_n": window_n,
                "window_hit_rate": window_rate,
                "baseline_n": baseline_n,
                "baseline_hit_rate": baseline_rate,
                "drop": baseline_rate - window_rate,
                "event_ts": as_of,
                "available_ts": as_of,
            }
        )
    out = pd.DataFrame(rows, columns=TREND_COLUMNS)
    for col in ("as_of", "window_start", "baseline_start", "event_ts", "available_ts"):
        out[col] = pd.to_datetime(out[col], utc=True).astype("datetime64[us, UTC]")
    for col in ("window_days", "baseline_days", "window_n", "baseline_n"):
        out[col] = out[col].astype("int64")
    return out


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
