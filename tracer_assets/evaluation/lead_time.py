"""Freeze a market's prediction at a fixed lead time before it resolves.

The frozen price is the last known price at or before ``end_ts - lead`` and at or before the start
of the resolution day, so no price from the day the answer became obvious can enter a score,
whatever the lead. The resolution day is the UTC day during which the market resolves (``end_ts``,
or ``resolved_ts`` when it resolved earlier): an end at exactly 00:00 belongs to the day before, so
"close on March 9", ending 2024-03-10 00:00, has March 9 as its resolution day. A price stamped
exactly at that day's 00:00 is allowed (it carries nothing from the day itself).
"""

from __future__ import annotations

import pandas as pd

from tracer_assets.settings import EvaluationSettings

FROZEN_COLUMNS = ["question_id", "lead_hours", "end_ts", "freeze_ts", "frozen_ts", "frozen_price"]

_ONE_TICK = pd.Timedelta(1, unit="us")


def lead_hours_list(settings: EvaluationSettings) -> list[int]:
    """``settings.eval_lead_hours`` ("24,168") as sorted distinct positive hours."""
    try:
        hours = sorted({int(part) for part in settings.eval_lead_hours.split(",") if part.strip()})
    except ValueError as exc:
        raise ValueError(
            f"eval_lead_hours must be comma-separated whole hours, got {settings.eval_lead_hours!r}"
        ) from exc
    if not hours or hours[0] <= 0:
        raise ValueError(f"eval_lead_hours must list positive hours, got {settings.eval_lead_hours!r}")
    return hours


def _utc_ns(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True).astype("datetime64[ns, UTC]")


def freeze_at_lead(
    price_history: pd.DataFrame, questions: pd.DataFrame, lead_hours: float, time_col: str = "ts"
) -> pd.DataFrame:
    """One row per question: the price frozen ``lead_hours`` before its end (module docstring).

    ``price_history``: question_id, ``time_col`` (default ts), price. ``questions``: question_id,
    end_ts and optionally resolved_ts. Missing prices are skipped (the last *known* price counts).
    A question with no eligible price keeps its row with ``frozen_ts`` NaT and ``frozen_price`` NaN.
    Columns: ``FROZEN_COLUMNS`` (``freeze_ts`` is the effective cut-off).
    """
    if lead_hours <= 0:
        raise ValueError(f"lead_hours must be positive, got {lead_hours}")
    for frame, cols, name in (
        (price_history, ("question_id", time_col, "price"), "price_history"),
        (questions, ("question_id", "end_ts"), "questions"),
    ):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise ValueError(f"{name} lacks columns {missing}")
    if questions["question_id"].duplicated().any():
        raise ValueError("questions holds duplicate question_id values")

    q = pd.DataFrame(
        {
            "question_id": questions["question_id"].astype(str).to_numpy(),
            "end_ts": _utc_ns(questions["end_ts"]),
        }
    )
    resolution = q["end_ts"]
    if "resolved_ts" in questions.columns:
        resolved = _utc_ns(questions["resolved_ts"]).set_axis(q.index)
        resolution = resolved.where(resolved.notna() & (resolved < resolution), resolution)
    day_start = (resolution - _ONE_TICK).dt.floor("D")
    target = q["end_ts"] - pd.Timedelta(hours=float(lead_hours))
    # The last instant allowed: the lead's target, or the resolution day's start if that is earlier.
    q["freeze_ts"] = target.where(target <= day_start, day_start)
    q["lead_hours"] = lead_hours

    prices = pd.DataFrame(
        {
            # Series, not .to_numpy(): an empty tz-aware array comes out as object and breaks merge_asof
            "question_id": price_history["question_id"].astype(str).reset_index(drop=True),
            "frozen_ts": _utc_ns(price_history[time_col]).reset_index(drop=True),
            "frozen_price": pd.to_numeric(price_history["price"], errors="coerce").reset_index(drop=True),
        }
    ).dropna(subset=["frozen_ts", "frozen_price"])

    known = q[q["freeze_ts"].notna()].sort_values("freeze_ts")
    merged = pd.merge_asof(
        known,
        prices.sort_values("frozen_ts"),
        left_on="freeze_ts",
        right_on="frozen_ts",
        by="question_id",
        direction="backward",
    )
    out = q.merge(merged[["question_id", "frozen_ts", "frozen_price"]], on="question_id", how="left")
    out["frozen_ts"] = out["frozen_ts"].astype("datetime64[us, UTC]")
    for col in ("end_ts", "freeze_ts"):
        out[col] = out[col].astype("datetime64[us, UTC]")
    return out[FROZEN_COLUMNS]


def freeze_at_leads(price_history: pd.DataFrame, questions: pd.DataFrame, leads: list[int]) -> pd.DataFrame:
    """``freeze_at_lead`` for every lead time (e.g. ``lead_hours_list(settings)``), stacked."""
    frames = [freeze_at_lead(price_history, questions, lead) for lead in leads]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=FROZEN_COLUMNS)
