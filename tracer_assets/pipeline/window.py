"""Windows and clocks shared by the stages: UTC days of a [start, end) window, the live clip."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tracer_assets.clock import utc

DAY = pd.Timedelta(days=1)


def last_day(end: pd.Timestamp) -> pd.Timestamp:
    """The UTC day holding the last instant of a window ending (exclusive) at ``end``, maybe mid-day."""
    return (utc(end) - pd.Timedelta(microseconds=1)).floor("D")


def days_of(start: pd.Timestamp, end: pd.Timestamp) -> list[str]:
    """The UTC day keys of the window [start, end) (``YYYY-MM-DD``)."""
    return [d.strftime("%Y-%m-%d") for d in pd.date_range(utc(start).floor("D"), last_day(end), freq="D")]


def clip_to_now(end: pd.Timestamp, resolution: str = "h", now: pd.Timestamp | None = None) -> pd.Timestamp:
    """Live runs on today's partition never ask for the future; past days are unaffected.

    Bars use the hour (a bar opening after the last full hour is still forming); narratives use the
    minute, so a story the news sensor saw at 14:20 is in the run it requested.
    """
    now = (pd.Timestamp.now(tz="UTC") if now is None else utc(now)).floor(resolution)
    return min(end, now)


def concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate the non-empty frames (an empty frame when none)."""
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


class StampIndex:
    """Positions of the rows whose stamp lies in a window, in the rows' original order: what a boolean
    filter on the stamp column keeps, found by binary search, so each day of a range costs its own
    window rather than a pass over the whole range. NaT stamps are in no window."""

    def __init__(self, stamps: pd.Series):
        ns = pd.to_datetime(stamps, utc=True).to_numpy("datetime64[ns]")
        known = np.flatnonzero(~np.isnat(ns))
        self._order = known[np.argsort(ns[known], kind="stable")]
        self._sorted = ns[self._order]

    def positions(self, lo: pd.Timestamp, hi: pd.Timestamp, lo_inclusive: bool = True) -> np.ndarray:
        """Row positions with lo <= stamp < hi (lo < stamp < hi when not ``lo_inclusive``)."""
        a = self._sorted.searchsorted(_ns(lo), side="left" if lo_inclusive else "right")
        b = self._sorted.searchsorted(_ns(hi), side="left")
        return np.sort(self._order[a:b])


def _ns(ts: pd.Timestamp) -> np.datetime64:
    return utc(ts).tz_localize(None).to_datetime64().astype("datetime64[ns]")
