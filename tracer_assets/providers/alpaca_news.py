"""Alpaca news (request model from alpaca-py, sent by the shared HTTP caller) (``TRACER_NEWS_PROVIDER=alpaca``): keys required.

One row per (article, universe symbol it names): ``event_ts`` = ``created_at``; ``available_ts`` =
the later of ``created_at`` and ``updated_at`` plus ``news_available_delay_s`` (the text we hold may be
the updated one, so it was not known before its update). Crypto symbols arrive as ``BTCUSD`` or
``BTC/USD`` (unconfirmed): both map to the universe symbol. Articles naming no universe symbol are
counted (``stats['unmatched']``), not kept.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
from alpaca.data.requests import NewsRequest

from tracer_assets.clock import utc
from tracer_assets.lake import new_id
from tracer_assets.providers.alpaca_common import NEWS_API, AlpacaPager, alpaca_headers, request_params
from tracer_assets.providers.http import LiveProvider
from tracer_assets.providers.raw_zone import RawRecord, new_fetch_id, window_context
from tracer_assets.providers.resilience import ProviderConfigError
from tracer_assets.providers.results import FetchResult, NarrativesFrame, frame_from_rows
from tracer_assets.providers.symbols import compact, to_universe, universe_index
from tracer_assets.providers.validation import AlpacaNewsIn, Quarantine, decoded_pages, validated
from tracer_assets.settings import TracerSettings
from tracer_assets.universe import Instrument

RAW_PROVIDER = "alpaca_news"
TABLE = "narratives"
NEWS_EXTRAS = {"article_id": "str", "author": "str", "provider": "str"}


def parse_news_records(
    records: list[RawRecord],
    instruments: list[Instrument],
    start: pd.Timestamp,
    end: pd.Timestamp,
    delay_s: float,
    quarantine: Quarantine,
) -> tuple[pd.DataFrame, Counter]:
    """Narrative rows from the pages of one Alpaca news fetch; bad articles go to ``quarantine``."""
    start, end = utc(start), utc(end)
    index = universe_index(instruments)
    delay = pd.Timedelta(seconds=delay_s)
    stats: Counter = Counter()
    rows: list[dict[str, Any]] = []
    seen_ids: set[str] = set()
    for rec, body in decoded_pages(records, quarantine, TABLE, start):
        items = body.get("news") if isinstance(body, dict) else None
        if not isinstance(items, list):
            keys = sorted(body)[:20] if isinstance(body, dict) else type(body).__name__
            quarantine.add(
                TABLE, f"schema drift: no 'news' list (got {keys})", body, start, rec.fetched_at, rec.ref
            )
            continue
        for item in items:
            article = validated(AlpacaNewsIn, item, quarantine, TABLE, rec, start, "created_at")
            if article is None:
                continue
            created = pd.Timestamp(article.created_at).tz_convert("UTC")
            if created > rec.fetched_at:
                quarantine.add(
                    TABLE,
                    "created_at after the response was received",
                    item,
                    created,
                    rec.fetched_at,
                    rec.ref,
                )
                continue
            if article.id in seen_ids:
                quarantine.add(TABLE, "duplicate article id", item, created, rec.fetched_at, rec.ref)
                continue
            seen_ids.add(article.id)
            if not (start <= created < end):
                stats["outside_window"] += 1
                continue
            updated = pd.Timestamp(article.updated_at).tz_convert("UTC") if article.updated_at else created
            matched = {
                inst.symbol: inst for s in article.symbols if (inst := to_universe(s, index)) is not None
            }
            if not matched:
                stats["unmatched"] += 1
                continue
            for symbol in sorted(matched):
                rows.append(
                    {
                        "narrative_id": new_id("alpaca_news", article.id, symbol),
                        "symbol": symbol,
                        "headline": article.headline.strip(),
                        "summary": (article.summary or "").strip(),
                        "source": article.source or "alpaca",
                        "url": article.url,
                        "event_ts": created,
                        "available_ts": max(created, updated) + delay,
                        "article_id": article.id,
                        "author": article.author,
                        "provider": "alpaca",
                    }
                )
    stats["rows"] += len(rows)
    return frame_from_rows(TABLE, rows, NEWS_EXTRAS, sort_by=["event_ts", "narrative_id"]), stats


def news_symbols(instruments: list[Instrument]) -> str:
    """The ``symbols`` parameter: stocks as-is, crypto in the compact form news articles use."""
    return ",".join(compact(i.symbol) if i.asset_class == "crypto" else i.symbol.upper() for i in instruments)


class AlpacaNewsProvider(NarrativesFrame, LiveProvider):
    """``NewsProvider`` over Alpaca's news API."""

    name = "alpaca"
    raw_provider = RAW_PROVIDER

    def __init__(self, settings: TracerSettings, lake_root: str | Path, **parts: Any):
        if not alpaca_headers(settings):
            raise ProviderConfigError("Alpaca news needs TRACER_ALPACA_KEY_ID and TRACER_ALPACA_SECRET_KEY")
        super().__init__(settings, lake_root, **parts)
        self.pager = AlpacaPager(self, NEWS_API)

    def fetch_narratives_result(
        self, instruments: list[Instrument], start: pd.Timestamp, end: pd.Timestamp
    ) -> FetchResult:
        """Articles created in [start, end) that name a symbol of ``instruments``, all pages."""
        start, end = utc(start), utc(end)
        fetch = self.start_fetch((start, end))
        params = request_params(NewsRequest(symbols=news_symbols(instruments), start=start, end=end))
        params["limit"] = self.settings.alpaca_news_page_limit
        records = fetch.collect(
            self.pager.pages(
                "/news",
                params,
                day=start.strftime("%Y-%m-%d"),
                fetch_id=new_fetch_id(),
                what="news",
                context=window_context(start, end, symbols=[i.symbol for i in instruments]),
                max_pages=self.settings.alpaca_max_pages,
            )
        )
        frame, stats = parse_news_records(
            records, instruments, start, end, self.settings.news_available_delay_s, fetch.quarantine
        )
        stats["pages"] = len([r for r in records if r.ok])
        self.last_result = fetch.result(frame, stats)
        return self.last_result
