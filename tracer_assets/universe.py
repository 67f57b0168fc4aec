"""The tradable universe: instruments read from a YAML file, and their trading sessions."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import Literal

import exchange_calendars as xcals
import pandas as pd
import yaml

AssetClass = Literal["crypto", "stock"]


@dataclass(frozen=True)
class Instrument:
    symbol: str
    asset_class: AssetClass
    sim_price: float = 100.0
    sim_vol_annual: float = 0.5


@dataclass(frozen=True)
class Universe:
    instruments: tuple[Instrument, ...]
    calendar: str = "XNYS"

    @property
    def symbols(self) -> list[str]:
        return [i.symbol for i in self.instruments]

    def by_symbol(self, symbol: str) -> Instrument:
        for inst in self.instruments:
            if inst.symbol == symbol:
                return inst
        raise KeyError(f"{symbol!r} is not in the universe")

    def of_class(self, asset_class: AssetClass) -> list[Instrument]:
        return [i for i in self.instruments if i.asset_class == asset_class]


class UniverseError(ValueError):
    """The universe file cannot be used as it is; the message names the file and the entry."""


_CRYPTO_SYMBOL = re.compile(r"^[A-Z0-9]{2,10}/[A-Z]{3,5}$")
_STOCK_SYMBOL = re.compile(r"^[A-Z][A-Z0-9]{0,5}([.-][A-Z])?$")
_INSTRUMENT_KEYS = {f.name for f in fields(Instrument)}


def symbol_key(symbol: str) -> str:
    """One key for every spelling of one symbol: ``BTC/USD``, ``BTCUSD``, ``btc-usd`` -> ``BTCUSD``."""
    return re.sub(r"[^A-Z0-9]", "", symbol.upper())


def _instrument(path: Path, n: int, item: object) -> Instrument:
    where = f"universe file {path}: instrument #{n}"
    if not isinstance(item, dict):
        raise UniverseError(f"{where} is not a mapping: {item!r}")
    unknown = sorted(set(item) - _INSTRUMENT_KEYS)
    if unknown:
        raise UniverseError(f"{where} has unknown fields {unknown} (allowed: {sorted(_INSTRUMENT_KEYS)})")
    symbol, asset_class = item.get("symbol"), item.get("asset_class")
    if asset_class not in ("crypto", "stock"):
        raise UniverseError(f"{where}: asset_class must be crypto or stock, not {asset_class!r}")
    pattern = _CRYPTO_SYMBOL if asset_class == "crypto" else _STOCK_SYMBOL
    if not isinstance(symbol, str) or not pattern.match(symbol):
        form = "BASE/QUOTE in capitals, e.g. BTC/USD" if asset_class == "crypto" else "a ticker, e.g. AAPL"
        raise UniverseError(f"{where}: unknown {asset_class} symbol {symbol!r} (write it as {form})")
    for name in ("sim_price", "sim_vol_annual"):
        value = item.get(name, getattr(Instrument, name))
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value <= 0
        ):
            raise UniverseError(f"{where} ({symbol}): {name} must be a finite number above 0, not {value!r}")
    return Instrument(**item)


def load_universe(path: str | Path) -> Universe:
    """Read a universe YAML; fail at once with one line that names the file and the bad entry.

    Refused: a missing or unparsable file, no instruments, unknown fields, symbols not in the
    canonical form of their class, two spellings of one symbol (``BTC/USD`` and ``BTCUSD``), a
    calendar ``exchange_calendars`` does not know, and sim prices or volatilities that are not
    finite and positive.
    """
    path = Path(path)
    if not path.is_file():
        raise UniverseError(f"universe file not found: {path} (set TRACER_UNIVERSE)")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise UniverseError(
            f"universe file {path} is not valid YAML{at}: {getattr(exc, 'problem', exc)}"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UniverseError(f"universe file {path} cannot be read: {exc}") from None
    if not isinstance(raw, dict):
        raise UniverseError(f"universe file {path} must be a mapping with an 'instruments' list")
    items = raw.get("instruments") or []
    if not isinstance(items, list) or not items:
        raise UniverseError(f"universe file {path} lists no instruments")
    instruments = [_instrument(path, n, item) for n, item in enumerate(items, start=1)]
    seen: dict[str, str] = {}
    for inst in instruments:
        other = seen.setdefault(symbol_key(inst.symbol), inst.symbol)
        if other != inst.symbol or sum(i.symbol == inst.symbol for i in instruments) > 1:
            raise UniverseError(
                f"universe file {path}: {other!r} and {inst.symbol!r} are one symbol, listed twice"
            )
    calendar = raw.get("calendar", "XNYS")
    if not isinstance(calendar, str) or calendar not in xcals.get_calendar_names():
        raise UniverseError(
            f"universe file {path}: unknown calendar {calendar!r} (an exchange_calendars name, e.g. XNYS)"
        )
    return Universe(instruments=tuple(instruments), calendar=calendar)


@lru_cache(maxsize=4)
def exchange_calendar(name: str = "XNYS") -> xcals.ExchangeCalendar:
    return xcals.get_calendar(name, start="2015-01-01", end="2035-12-31")


def sessions_on(day: pd.Timestamp | str, calendar: str = "XNYS") -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """(open, close) in UTC of the exchange session on a UTC calendar day, or None if closed.

    Early closes come from the calendar, so the day after Thanksgiving closes at 18:00 UTC.
    """
    cal = exchange_calendar(calendar)
    label = pd.Timestamp(day).tz_localize(None).normalize()
    if not cal.is_session(label):
        return None
    return cal.session_open(label), cal.session_close(label)


def is_market_open(symbol_class: AssetClass, ts: pd.Timestamp, calendar: str = "XNYS") -> bool:
    """Crypto trades 24/7; stocks only inside an exchange session."""
    if symbol_class == "crypto":
        return True
    return bool(
        exchange_calendar(calendar).is_open_on_minute(pd.Timestamp(ts).tz_convert("UTC").floor("min"))
    )
