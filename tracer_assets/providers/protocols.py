"""Small protocols, one per kind of outside input or output. The sim implements each offline;
real clients (Alpaca, Perplexity, Polymarket, Telegram) implement the same ones.

All frames returned carry the lake contract columns of their table (see ``lake.schemas``),
timestamps tz-aware UTC, including ``event_ts`` and ``available_ts``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import pandas as pd

from tracer_assets.universe import Instrument


@runtime_checkable
class BarsProvider(Protocol):
    name: str

    def fetch_bars(
        self, instruments: list[Instrument], start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        """Hourly bars whose open time ``ts`` is in [start, end): contract of table ``bars``.

        ``ts`` is the bar's open, ``event_ts`` its close, ``available_ts`` when it could be known.
        """
        ...


@runtime_checkable
class NewsProvider(Protocol):
    name: str

    def fetch_narratives(
        self, instruments: list[Instrument], start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        """Narratives published (``event_ts``) in [start, end): contract of table ``narratives``."""
        ...


@runtime_checkable
class MarketsProvider(Protocol):
    name: str

    def fetch_markets(self, instruments: list[Instrument], as_of: pd.Timestamp) -> pd.DataFrame:
        """A snapshot at ``as_of`` of markets bearing on the universe: contract of ``polymarket_markets``.

        Includes markets that closed on the snapshot's day, with their resolution.
        """
        ...


@dataclass(frozen=True)
class Delivery:
    """What a notifier did with one message."""

    channel: str
    key: str
    chunks: int
    delivered: bool
    detail: str = ""
    refs: list[str] = field(default_factory=list)


@runtime_checkable
class Notifier(Protocol):
    name: str

    def send(self, text: str, key: str) -> Delivery:
        """Deliver ``text`` once per ``key`` (a retried run with the same key sends nothing new)."""
        ...


@dataclass(frozen=True)
class Polarity:
    label: str  # positive | negative | neutral
    polarity: float  # [-1, 1]
    confidence: float  # [0, 1]


@runtime_checkable
class PolarityScorer(Protocol):
    model_id: str

    def score(self, texts: list[str]) -> list[Polarity]: ...
