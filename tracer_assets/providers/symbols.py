"""Symbol and timeframe normalisation shared by the clients (``BTC/USD``, ``BTCUSD``, ``btc-usd``)."""

from __future__ import annotations

import re

import pandas as pd
from alpaca.data.timeframe import TimeFrame, TimeFrameUnit

from tracer_assets.universe import Instrument

_QUOTES = ("USDT", "USDC", "USD", "BTC", "ETH", "EUR")
_SEPARATORS = re.compile(r"[/\-_ ]")


def compact(symbol: str) -> str:
    """``BTC/USD`` -> ``BTCUSD``: the form to compare symbols written either way."""
    return _SEPARATORS.sub("", symbol.strip().upper())


def crypto_pair(symbol: str) -> str:
    """A crypto symbol in Alpaca's request form ``BASE/QUOTE`` (``BTCUSD`` -> ``BTC/USD``)."""
    raw = symbol.strip().upper()
    if "/" in raw:
        return raw
    parts = _SEPARATORS.split(raw)
    if len(parts) == 2 and all(parts):
        return "/".join(parts)
    for quote in _QUOTES:
        if raw.endswith(quote) and len(raw) > len(quote):
            return f"{raw[: -len(quote)]}/{quote}"
    return raw


def universe_index(instruments: list[Instrument]) -> dict[str, Instrument]:
    """Lookup from every accepted spelling (compact form) to its instrument."""
    index: dict[str, Instrument] = {}
    for inst in instruments:
        index[compact(inst.symbol)] = inst
    return index


def to_universe(symbol: object, index: dict[str, Instrument]) -> Instrument | None:
    """The instrument a received symbol means (either crypto spelling), or None."""
    if not isinstance(symbol, str) or not symbol.strip():
        return None
    return index.get(compact(symbol))


_UNITS = {
    "min": TimeFrameUnit.Minute,
    "t": TimeFrameUnit.Minute,
    "hour": TimeFrameUnit.Hour,
    "h": TimeFrameUnit.Hour,
    "day": TimeFrameUnit.Day,
    "d": TimeFrameUnit.Day,
    "week": TimeFrameUnit.Week,
    "w": TimeFrameUnit.Week,
    "month": TimeFrameUnit.Month,
    "m": TimeFrameUnit.Month,
}


def parse_timeframe(text: str) -> TimeFrame:
    """``'1Hour'``, ``'5Min'``, ``'1Day'``, ``'1Week'``, ``'1Month'`` -> alpaca-py ``TimeFrame``."""
    match = re.fullmatch(r"\s*(\d+)\s*([A-Za-z]+)\s*", text or "")
    if not match:
        raise ValueError(f"bad bar timeframe {text!r} (expected e.g. 5Min, 1Hour, 1Day)")
    amount, unit = int(match.group(1)), match.group(2).lower()
    unit = unit.rstrip("s") if unit not in ("m", "t", "h", "d", "w") else unit
    if unit not in _UNITS:
        raise ValueError(f"bad bar timeframe unit in {text!r} (Min, Hour, Day, Week or Month)")
    return TimeFrame(amount, _UNITS[unit])


def timeframe_offset(tf: TimeFrame) -> pd.DateOffset | pd.Timedelta:
    """The length of one bar, to turn its open ``ts`` into its close ``event_ts``."""
    unit = tf.unit
    if unit == TimeFrameUnit.Minute:
        return pd.Timedelta(minutes=tf.amount)
    if unit == TimeFrameUnit.Hour:
        return pd.Timedelta(hours=tf.amount)
    if unit == TimeFrameUnit.Day:
        return pd.Timedelta(days=tf.amount)
    if unit == TimeFrameUnit.Week:
        return pd.Timedelta(weeks=tf.amount)
    return pd.DateOffset(months=tf.amount)
