"""Perplexity structured news (``TRACER_NEWS_PROVIDER=perplexity``).

One chat completion per group of ``perplexity_symbols_per_request`` symbols asks for news items
(symbol, headline, summary, url, source, published_at) as JSON. Rows: ``event_ts`` = published_at;
``available_ts`` = when the answer was received (an LLM search result is only known when asked).
``cited`` says whether the item's URL is among the answer's ``citations``/``search_results``, which
are kept whole in ``sources_json``.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from tracer_assets.clock import utc
from tracer_assets.lake import new_id
from tracer_assets.providers.http import LiveProvider
from tracer_assets.providers.perplexity import AnswerError, PerplexityClient, answer_json, answer_sources
from tracer_assets.providers.raw_zone import RawDecodeError, RawRecord, new_fetch_id, window_context
from tracer_assets.providers.resilience import ProviderUnavailable
from tracer_assets.providers.results import FetchResult, NarrativesFrame, frame_from_rows
from tracer_assets.providers.symbols import to_universe, universe_index
from tracer_assets.providers.validation import NewsItemIn, Quarantine, validated
from tracer_assets.settings import TracerSettings
from tracer_assets.universe import Instrument

RAW_PROVIDER = "perplexity_news"
TABLE = "narratives"
NEWS_EXTRAS = {"provider": "str", "cited": "bool", "sources_json": "str"}

NEWS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "symbol": {"type": "string"},
                    "headline": {"type": "string"},
                    "summary": {"type": "string"},
                    "url": {"type": "string"},
                    "source": {"type": "string"},
                    "published_at": {"type": "string", "format": "date-time"},
                },
                "required": ["symbol", "headline", "url", "published_at"],
            },
        }
    },
    "required": ["items"],
}

SYSTEM_PROMPT = (
    "You are a financial news desk. Report only real, published news articles, each with the URL of "
    "the article and its publication time in RFC 3339 with a UTC offset. Answer only with JSON that "
    "matches the schema."
)


def news_prompt(instruments: list[Instrument], start: pd.Timestamp, end: pd.Timestamp, max_items: int) -> str:
    symbols = ", ".join(i.symbol for i in instruments)
    return (
        f"List up to {max_items} distinct news items published between {start.isoformat()} and "
        f"{end.isoformat()} that bear on the price of these instruments: {symbols}. For each item give "
        "symbol (exactly one of the listed symbols), headline, a one-sentence summary, url, source "
        "(publisher) and published_at."
    )


def parse_perplexity_news_records(
    records: list[RawRecord],
    instruments: list[Instrument],
    start: pd.Timestamp,
    end: pd.Timestamp,
    quarantine: Quarantine,
) -> tuple[pd.DataFrame, Counter]:
    """Narrative rows from stored Perplexity answers; bad items go to ``quarantine``."""
    start, end = utc(start), utc(end)
    index = universe_index(instruments)
    stats: Counter = Counter()
    rows: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for rec in records:
        try:
            body = rec.json()
            answer = answer_json(body)
        except (RawDecodeError, AnswerError) as exc:
            quarantine.add(TABLE, str(exc), rec.text(), start, rec.fetched_at, rec.ref)
            continue
        items = answer.get("items") if isinstance(answer, dict) else None
        if not isinstance(items, list):
            quarantine.add(
                TABLE, "schema drift: answer has no 'items' list", answer, start, rec.fetched_at, rec.ref
            )
            continue
        sources = answer_sources(body)
        source_urls = {s["url"] for s in sources}
        sources_json = json.dumps(sources, sort_keys=True)
        for item in items:
            news = validated(NewsItemIn, item, quarantine, TABLE, rec, start, "published_at")
            if news is None:
                continue
            published = pd.Timestamp(news.published_at).tz_convert("UTC")
            inst = to_universe(news.symbol, index)
            if inst is None:
                quarantine.add(
                    TABLE, f"symbol not in universe: {news.symbol}", item, published, rec.fetched_at, rec.ref
                )
                continue
            if published > rec.fetched_at:
                quarantine.add(
                    TABLE,
                    "published_at after the answer was received",
                    item,
                    published,
                    rec.fetched_at,
                    rec.ref,
                )
                continue
            key = (inst.symbol, (news.url or news.headline).strip().lower())
            if key in seen:
                quarantine.add(TABLE, "duplicate item", item, published, rec.fetched_at, rec.ref)
                continue
            seen.add(key)
            if not (start <= published < end):
                stats["outside_window"] += 1
                continue
            host = urlsplit(news.url).hostname if news.url else None
            rows.append(
                {
                    "narrative_id": new_id("perplexity", *key),
                    "symbol": inst.symbol,
                    "headline": news.headline.strip(),
                    "summary": (news.summary or "").strip(),
                    "source": news.source or host or "perplexity",
                    "url": news.url,
                    "event_ts": published,
                    "available_ts": rec.fetched_at,
                    "provider": "perplexity",
                    "cited": bool(news.url and news.url in source_urls),
                    "sources_json": sources_json,
                }
            )
    stats["rows"] += len(rows)
    return frame_from_rows(TABLE, rows, NEWS_EXTRAS, sort_by=["event_ts", "narrative_id"]), stats


class PerplexityNewsProvider(NarrativesFrame, LiveProvider):
    """``NewsProvider`` over Perplexity's search-backed chat completions."""

    name = "perplexity"
    raw_provider = RAW_PROVIDER

    def __init__(self, settings: TracerSettings, lake_root: str | Path, **parts: Any):
        super().__init__(settings, lake_root, **parts)
        self.client = PerplexityClient(self)

    def fetch_narratives_result(
        self, instruments: list[Instrument], start: pd.Timestamp, end: pd.Timestamp
    ) -> FetchResult:
        start, end = utc(start), utc(end)
        fetch = self.start_fetch((start, end))
        size = self.settings.perplexity_symbols_per_request
        records: list[RawRecord] = []
        for seq, first in enumerate(range(0, len(instruments), size)):
            group = instruments[first : first + size]
            try:
                records.append(
                    self.client.ask(
                        RAW_PROVIDER,
                        SYSTEM_PROMPT,
                        news_prompt(group, start, end, self.settings.perplexity_max_items),
                        NEWS_SCHEMA,
                        day=start.strftime("%Y-%m-%d"),
                        fetch_id=new_fetch_id(),
                        seq=seq,
                        what=f"news for {', '.join(i.symbol for i in group)}",
                        context=window_context(start, end, symbols=[i.symbol for i in group]),
                    )
                )
            except ProviderUnavailable as exc:
                if (kept := fetch.failed(exc)) is not None:
                    records.append(kept)
        frame, stats = parse_perplexity_news_records(records, instruments, start, end, fetch.quarantine)
        self.last_result = fetch.result(frame, stats)
        return self.last_result
