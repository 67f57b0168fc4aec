"""Build the universe digest: ranked signals, an optional Polymarket section, chat text, artifact,
lake rows, and the chat text already split into Telegram-safe messages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tracer_assets.digest.ranking import RANKED_FIELDS, live_signals, matching_markets, rank_live
from tracer_assets.digest.render import (
    MARKET_ENTRY_FIELDS,
    digest_artifact,
    market_entry,
    records,
    render_chat,
)
from tracer_assets.digest.split import split_message
from tracer_assets.lake import new_id
from tracer_assets.settings import DigestSettings

# a ranked signal's columns, carried as they are into its digest row
SIGNAL_ROW_COLUMNS = ["section", "signal_id", "symbol", *RANKED_FIELDS, "evidence"]
DIGEST_COLUMNS = [
    "digest_id",
    "rank",
    *SIGNAL_ROW_COLUMNS,
    "market_id",
    "question",
    "yes_price",
    "text",
    "degraded",
    "event_ts",
    "available_ts",
]


@dataclass(frozen=True)
class Digest:
    digest_id: str
    rows: pd.DataFrame  # lake 'digest' rows: one per ranked signal and per market shown
    text: str  # the whole chat text (HTML, escaped, no digit)
    artifact: dict[str, Any]  # JSON-ready, every number
    messages: list[str] = field(default_factory=list)  # text split under telegram_chunk_chars, as sent


def build_digest(
    signals: pd.DataFrame,
    markets: pd.DataFrame | None,
    settings: DigestSettings,
    as_of: pd.Timestamp,
    degraded_reasons: Sequence[str] = (),
    paper_book: dict | None = None,
) -> Digest:
    """The digest at ``as_of`` from signals known by then (see ``ranking`` for the order)."""
    as_of = pd.Timestamp(as_of)
    if as_of.tzinfo is None:
        raise ValueError("as_of must be tz-aware UTC")
    as_of = as_of.tz_convert("UTC")
    reasons = [str(r) for r in degraded_reasons if str(r).strip()]
    digest_id = new_id("digest", as_of.isoformat())
    live = live_signals(signals, settings, as_of)
    ranked = rank_live(live, settings)
    shown_markets = matching_markets(markets, ranked, settings, as_of)
    text, entries = render_chat(ranked, shown_markets, as_of, reasons, settings)
    artifact = digest_artifact(digest_id, ranked, shown_markets, as_of, reasons, settings, len(live))
    if paper_book is not None:  # the paper book's day (issue 15): words here, numbers in the artifact
        from tracer_assets.execution.words import book_words

        text += "\n\n<b>Paper book</b>\n" + book_words(paper_book)
        artifact["paper_book"] = paper_book
    rows = _rows(digest_id, ranked, shown_markets, entries, as_of, bool(reasons), settings, text)
    return Digest(digest_id, rows, text, artifact, split_message(text, settings.telegram_chunk_chars))


def _rows(
    digest_id: str,
    ranked: pd.DataFrame,
    markets: pd.DataFrame,
    entries: dict[int, str],
    as_of: pd.Timestamp,
    degraded: bool,
    settings: DigestSettings,
    text: str,
) -> pd.DataFrame:
    """Lake rows: a rank-0 ``section='digest'`` row with the whole chat text (so a quiet or degraded
    day is in the lake as delivered), then one row per ranked signal and per market shown."""
    header = pd.DataFrame({"rank": [0], "section": ["digest"], "text": [text]})
    sig = pd.DataFrame(
        {
            "rank": ranked["rank"].astype(np.int64) if len(ranked) else pd.Series(dtype=np.int64),
            **{col: ranked.get(col) for col in SIGNAL_ROW_COLUMNS},
            "text": [entries.get(i, "") for i in ranked.index],
        }
    )
    mk = pd.DataFrame(
        {
            "rank": np.arange(1, len(markets) + 1, dtype=np.int64),
            "section": "polymarket",
            "symbol": markets.get("symbol"),
            "internal_prob": markets.get("internal_prob"),
            "market_id": markets.get("market_id"),
            "question": markets.get("question"),
            "yes_price": markets.get("yes_price"),
            "text": [market_entry(r, settings) for r in records(markets, MARKET_ENTRY_FIELDS)],
        }
    )
    rows = pd.concat([header] + [p for p in (sig, mk) if len(p)], ignore_index=True)
    for col in DIGEST_COLUMNS:
        if col not in rows.columns:
            rows[col] = None
    rows["digest_id"] = digest_id
    rows["degraded"] = degraded
    rows["event_ts"] = as_of
    rows["available_ts"] = as_of
    for col in ("strength", "internal_prob", "edge", "score", "size", "yes_price"):
        rows[col] = pd.to_numeric(rows[col], errors="coerce").astype(float)
    rows["rank"] = rows["rank"].astype(np.int64)
    return rows[DIGEST_COLUMNS]
