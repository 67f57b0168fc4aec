"""The kill switch: who tripped or cleared it, when and why, read point-in-time.

Rows live in the unpartitioned ``trading_controls`` table. The switch is on at time ``t`` when the
last row at or before ``t`` is a ``kill``; it stays on until a ``resume`` row (``tracer
resume-trading``). Rows written by the risk engine (``who == RISK_ENGINE``) are recomputed when the
same days are run again; rows written by people are kept.
"""

from __future__ import annotations

import pandas as pd

from tracer_assets.lake import Lake
from tracer_assets.lake.store import new_id

TABLE = "trading_controls"
KILL, RESUME = "kill", "resume"
RISK_ENGINE = "risk_engine"
COLUMNS = ["control_id", "ts", "action", "who", "why", "event_ts", "available_ts"]


def control_row(action: str, who: str, why: str, ts: pd.Timestamp) -> dict:
    if action not in (KILL, RESUME):
        raise ValueError(f"control action must be {KILL!r} or {RESUME!r}, got {action!r}")
    ts = pd.Timestamp(ts).tz_convert("UTC")
    return {
        "control_id": new_id(TABLE, action, who, ts.isoformat()),
        "ts": ts,
        "action": action,
        "who": who,
        "why": why,
        "event_ts": ts,
        "available_ts": ts,
    }


def read_controls(lake: Lake) -> pd.DataFrame:
    frame = lake.read(TABLE)
    if not len(frame):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS})
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    return frame.sort_values(["ts", "action"], kind="stable").reset_index(drop=True)


def without_engine_rows(controls: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """``controls`` less the risk engine's rows in [start, end): what a run of those days recomputes
    (an earlier run's trip, say on a day whose inputs were degraded then, must not trip the rerun)."""
    if not len(controls):
        return controls
    ts = pd.to_datetime(controls["ts"], utc=True)
    return controls[~((controls["who"] == RISK_ENGINE) & (ts >= start) & (ts < end))].reset_index(drop=True)


def kill_state(controls: pd.DataFrame, at: pd.Timestamp) -> tuple[bool, str]:
    """(on, why) of the kill switch at ``at``."""
    if not len(controls):
        return False, ""
    known = controls[pd.to_datetime(controls["ts"], utc=True) <= at]
    if not len(known):
        return False, ""
    last = known.iloc[-1]
    return last["action"] == KILL, str(last["why"])


def append_control(lake: Lake, row: dict) -> pd.DataFrame:
    frame = pd.concat([read_controls(lake), pd.DataFrame([row])], ignore_index=True)
    lake.write_table(TABLE, frame[COLUMNS])
    return frame


def replace_engine_rows(lake: Lake, rows: list[dict], start: pd.Timestamp, end: pd.Timestamp) -> None:
    """Replace the risk engine's own rows in [start, end) with ``rows``; people's rows stay."""
    stored = read_controls(lake)
    frame = without_engine_rows(stored, start, end)
    if not rows and len(frame) == len(stored):  # nothing to add, nothing of the engine's to drop
        return
    frame = pd.concat([frame, pd.DataFrame(rows, columns=COLUMNS)], ignore_index=True)
    lake.write_table(TABLE, frame[COLUMNS])
