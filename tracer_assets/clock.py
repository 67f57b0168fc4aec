"""Time in one place: UTC timestamps, the wall clock, ISO weeks (Monday keys), the first partition."""

from __future__ import annotations

import pandas as pd

# The default first daily (and weekly) partition; TRACER_PARTITIONS_START (LakeSettings) moves it, read
# once when the definitions load (defs/partitions.py), since partitions are part of the code location.
PARTITIONS_START = "2024-01-01"


def utc(value) -> pd.Timestamp:
    """``value`` as a UTC timestamp (naive values are taken as UTC)."""
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def utc_now() -> pd.Timestamp:
    """The wall clock, in UTC."""
    return pd.Timestamp.now(tz="UTC")


def monday_of(day) -> pd.Timestamp:
    """The Monday (00:00 UTC) of the ISO week holding ``day``."""
    d = utc(day).normalize()
    return d - pd.Timedelta(days=d.weekday())
