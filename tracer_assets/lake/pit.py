"""The point-in-time rule in one place: a value for decision time t reads only rows known by t."""

from __future__ import annotations

import pandas as pd


class PointInTimeViolation(AssertionError):
    """A row used for a decision became available after the decision time."""


def known_at(df: pd.DataFrame, t: pd.Timestamp, col: str = "available_ts") -> pd.DataFrame:
    """Rows of ``df`` whose ``col`` is at or before ``t``."""
    return df[pd.to_datetime(df[col], utc=True) <= pd.Timestamp(t)]


def assert_known_by(inputs_ts: pd.Series, decision_ts: pd.Series) -> None:
    """Raise if any input timestamp is later than its decision time."""
    late = pd.to_datetime(inputs_ts, utc=True) > pd.to_datetime(decision_ts, utc=True)
    if bool(late.any()):
        raise PointInTimeViolation(f"{int(late.sum())} decisions used rows available after the decision time")


def truncate_lake(src, dst, t: pd.Timestamp) -> None:
    """Copy lake ``src`` into ``dst`` keeping only rows available at or before ``t``: the lake as a
    decision at ``t`` would have seen it (the leak check replays against it)."""
    for table in src.tables():
        for day in src.partitions(table):
            if day > pd.Timestamp(t).strftime("%Y-%m-%d"):
                continue
            rows = src.read(table, day, day)
            if "available_ts" in rows:
                rows = known_at(rows, t)
            dst.write_partition(table, day, rows)
