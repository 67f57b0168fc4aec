"""Windows and clocks shared by the stages: UTC days of a [start, end) window, the live clip."""

from __future__ import annotations

import pandas as pd

DAY = pd.Timedelta(days=1)


def utc(value) -> pd.Timestamp:
    """``value`` as a UTC timestamp (naive values are taken as UTC)."""
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def last_day(end: pd.Timestamp) -> pd.Timestamp:
    """The UTC day holding the last instant of a window ending (exclusive) at ``end``, maybe mid-day."""
    return (utc(end) - pd.Timedelta(microseconds=1)).floor("D")


def days_of(start: pd.Timestamp, end: pd.Timestamp) -> list[str]:
    """The UTC day keys of the window [start, end) (``YYYY-MM-DD``)."""
    return [d.strftime("%Y-%m-%d") for d in pd.date_range(utc(start).floor("D"), last_day(end), freq="D")]


def day_window(days: list[str]) -> tuple[pd.Timestamp, pd.Timestamp]:
    """[start, end) covering the day keys ``days`` (sorted)."""
    return pd.Timestamp(days[0], tz="UTC"), pd.Timestamp(days[-1], tz="UTC") + DAY


def clip_to_now(end: pd.Timestamp, resolution: str = "h", now: pd.Timestamp | None = None) -> pd.Timestamp:
    """Live runs on today's partition never ask for the future; past days are unaffected.

    Bars use the hour (a bar opening after the last full hour is still forming); narratives use the
    minute, so a story the news sensor saw at 14:20 is in the run it requested.
    """
    now = (pd.Timestamp.now(tz="UTC") if now is None else utc(now)).floor(resolution)
    return min(end, now)


def monday_of(day) -> pd.Timestamp:
    """The Monday (00:00 UTC) of the ISO week holding ``day``."""
    d = utc(day).normalize()
    return d - pd.Timedelta(days=d.weekday())


def concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate the non-empty frames (an empty frame when none)."""
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
