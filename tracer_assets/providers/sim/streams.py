"""Seeded random streams and the sim world's calendar of days.

Every random draw comes from a stream keyed by (seed, symbol, day, purpose), so a day is
reproducible on its own, whatever range it was generated in. Python's ``hash`` is salted per
process, hence the blake2b hash.
"""

from __future__ import annotations

import hashlib
from datetime import date
from enum import IntEnum

import numpy as np
import pandas as pd

from tracer_assets.clock import utc

SIM_FIRST_DAY = date(2018, 1, 1)
SIM_LAST_DAY = date(2035, 12, 31)
UNIX_ORDINAL = date(1970, 1, 1).toordinal()
DAY_SECONDS = 86_400
HOUR_SECONDS = 3_600


class Stream(IntEnum):
    """Purpose tag of a random stream; a new purpose gets a new number, old ones never change."""

    ANCHORS = 1
    INTRADAY = 2
    NARRATIVES = 3
    HEADLINES = 4
    MARKETS = 5
    MARKET_QUOTES = 6


def stable_hash(text: str) -> int:
    """A 64-bit hash of ``text`` that is the same in every process and on every machine."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


def stream_rng(seed: int, key: str, ordinal: int, purpose: Stream) -> np.random.Generator:
    """The random generator of one (seed, key, ordinal, purpose) stream."""
    entropy = [int(seed) % (1 << 63), stable_hash(key), int(ordinal), int(purpose)]
    return np.random.default_rng(np.random.SeedSequence(entropy))


def to_seconds(ts: pd.Timestamp | str) -> int:
    """Whole seconds since the Unix epoch (sub-second parts are dropped)."""
    return int(utc(ts).value // 1_000_000_000)


def day_start_seconds(ordinal: int) -> int:
    return (ordinal - UNIX_ORDINAL) * DAY_SECONDS


def check_day(ordinal: int) -> None:
    """Fail clearly for a day outside the sim world's fixed calendar."""
    if not SIM_FIRST_DAY.toordinal() <= ordinal <= SIM_LAST_DAY.toordinal():
        raise ValueError(
            f"the sim world covers {SIM_FIRST_DAY} .. {SIM_LAST_DAY} (UTC); "
            f"{date.fromordinal(ordinal)} is outside it"
        )


def days_touching(start: pd.Timestamp, end: pd.Timestamp) -> list[int]:
    """Ordinals of the UTC days that overlap [start, end)."""
    start, end = utc(start), utc(end)
    if end <= start:
        return []
    first = start.floor("D").date().toordinal()
    last = (end - pd.Timedelta(microseconds=1)).floor("D").date().toordinal()
    return list(range(first, last + 1))


def seconds_to_utc(seconds: np.ndarray) -> pd.DatetimeIndex:
    """Seconds since the Unix epoch as a tz-aware UTC index at microsecond resolution."""
    micros = np.asarray(seconds, dtype="int64") * 1_000_000
    return pd.DatetimeIndex(micros.astype("datetime64[us]")).tz_localize("UTC")
