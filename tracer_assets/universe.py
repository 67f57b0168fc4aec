"""The tradable universe: instruments read from a YAML file, and their trading sessions."""

from __future__ import annotations

from dataclasses import dataclass
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


def load_universe(path: str | Path) -> Universe:
    """Read a universe YAML; fail with a message that names the file and the bad entry."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"universe file not found: {path} (set TRACER_UNIVERSE)")
    raw = yaml.safe_load(path.read_text()) or {}
    items = raw.get("instruments") or []
    if not items:
        raise ValueError(f"universe file {path} lists no instruments")
    instruments = []
    for item in items:
        if item.get("asset_class") not in ("crypto", "stock") or not item.get("symbol"):
            raise ValueError(f"universe file {path}: bad instrument {item!r}")
        instruments.append(Instrument(**item))
    symbols = [i.symbol for i in instruments]
    if len(set(symbols)) != len(symbols):
        raise ValueError(f"universe file {path}: duplicate symbols")
    return Universe(instruments=tuple(instruments), calendar=raw.get("calendar", "XNYS"))


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
