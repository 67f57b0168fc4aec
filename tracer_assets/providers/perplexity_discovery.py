"""PPLX-only market discovery (``TRACER_MARKETS_PROVIDER=perplexity``).

Perplexity is asked for Polymarket markets relevant to the universe (symbol, question, slug, id,
url); each candidate is then confirmed through Gamma, by id (``/markets?id=``), else by slug
(``/markets?slug=``), else by the event slug of its URL (``/events?slug=``). Only confirmed markets
become rows, parsed from Gamma's answer exactly as the Gamma provider does; a candidate Gamma does not
know goes to quarantine ("not confirmed by Gamma"), so an invented market never reaches the lake.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pandas as pd

from tracer_assets.clock import utc
from tracer_assets.providers.http import LiveProvider
from tracer_assets.providers.perplexity import AnswerError, PerplexityClient, answer_json
from tracer_assets.providers.polymarket_gamma import GammaClient, markets_in, parse_gamma_records
from tracer_assets.providers.raw_zone import RawDecodeError, RawRecord, new_fetch_id
from tracer_assets.providers.resilience import ProviderUnavailable
from tracer_assets.providers.results import FetchResult, MarketsFrame
from tracer_assets.providers.symbols import to_universe, universe_index
from tracer_assets.providers.validation import Quarantine
from tracer_assets.settings import TracerSettings
from tracer_assets.universe import Instrument

RAW_PROVIDER = "perplexity_discovery"
TABLE = "polymarket_markets"

DISCOVERY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "markets": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "symbol": {"type": "string"},
                    "question": {"type": "string"},
                    "slug": {"type": "string"},
                    "market_id": {"type": "string"},
                    "url": {"type": "string"},
                },
                "required": ["symbol", "question"],
            },
        }
    },
    "required": ["markets"],
}

SYSTEM_PROMPT = (
    "You find Polymarket prediction markets. Report only markets that exist on polymarket.com, with "
    "their URL and slug as shown there. Answer only with JSON that matches the schema."
)


def discovery_prompt(instruments: list[Instrument], as_of: pd.Timestamp) -> str:
    symbols = ", ".join(i.symbol for i in instruments)
    return (
        f"As of {as_of.isoformat()}, list Polymarket markets whose outcome depends on the price or news of "
        f"these instruments: {symbols}. Include open markets and markets that ended on {as_of.date()}. "
        "For each give symbol (exactly one of the listed symbols), question, slug, market_id if known, and url."
    )


@dataclass(frozen=True)
class Candidate:
    symbol: str
    question: str
    market_id: str | None
    slug: str | None
    event_slug: str | None
    item: dict[str, Any]


def slugs_from_url(url: str | None) -> tuple[str | None, str | None]:
    """(market slug, event slug) from ``https://polymarket.com/event/<event>[/<market>]`` or ``/market/<slug>``."""
    if not url:
        return None, None
    parts = [p for p in urlsplit(url).path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "event":
        return (parts[2] if len(parts) >= 3 else None), parts[1]
    if len(parts) >= 2 and parts[0] == "market":
        return parts[1], None
    return None, None


def parse_candidates(
    record: RawRecord, instruments: list[Instrument], as_of: pd.Timestamp, quarantine: Quarantine
) -> list[Candidate]:
    """Candidates from a stored discovery answer; unusable items go to ``quarantine``."""
    index = universe_index(instruments)
    try:
        answer = answer_json(record.json())
    except (RawDecodeError, AnswerError) as exc:
        quarantine.add(TABLE, str(exc), record.text(), as_of, record.fetched_at, record.ref)
        return []
    items = answer.get("markets") if isinstance(answer, dict) else None
    if not isinstance(items, list):
        quarantine.add(
            TABLE, "schema drift: answer has no 'markets' list", answer, as_of, record.fetched_at, record.ref
        )
        return []
    found = []
    for item in items:
        if not isinstance(item, dict) or not str(item.get("question") or "").strip():
            quarantine.add(TABLE, "candidate without a question", item, as_of, record.fetched_at, record.ref)
            continue
        inst = to_universe(item.get("symbol"), index)
        if inst is None:
            quarantine.add(
                TABLE,
                f"symbol not in universe: {item.get('symbol')}",
                item,
                as_of,
                record.fetched_at,
                record.ref,
            )
            continue
        url_slug, event_slug = slugs_from_url(item.get("url"))
        market_id = str(item["market_id"]).strip() if item.get("market_id") not in (None, "") else None
        slug = str(item.get("slug") or "").strip() or url_slug
        if not (market_id or slug or event_slug):
            quarantine.add(
                TABLE, "candidate without id, slug or url", item, as_of, record.fetched_at, record.ref
            )
            continue
        found.append(Candidate(inst.symbol, item["question"].strip(), market_id, slug, event_slug, item))
    return found


class PerplexityDiscoveryProvider(MarketsFrame, LiveProvider):
    """``MarketsProvider``: Perplexity proposes, Gamma confirms."""

    name = "perplexity"
    raw_provider = RAW_PROVIDER

    def __init__(
        self,
        settings: TracerSettings,
        lake_root: str | Path,
        *,
        perplexity_transport: httpx.BaseTransport | None = None,
        gamma_transport: httpx.BaseTransport | None = None,
        **parts: Any,
    ):
        super().__init__(settings, lake_root, **parts)
        self.perplexity = PerplexityClient(self, perplexity_transport)
        self.gamma = GammaClient(self, gamma_transport)

    def _confirm(self, cand: Candidate, day: str, as_of: pd.Timestamp) -> RawRecord | None:
        """The first Gamma answer that holds the candidate's market; None if none does."""
        context = {"as_of": as_of.isoformat(), "symbol_hint": cand.symbol, "source": "perplexity+gamma"}
        lookups = []
        if cand.market_id:
            lookups.append(("/markets", {"id": cand.market_id}))
        if cand.slug:
            lookups.append(("/markets", {"slug": cand.slug}))
        if cand.event_slug:
            lookups.append(("/events", {"slug": cand.event_slug}))
        for path, params in lookups:
            record = self.gamma.lookup(
                path, params, day=day, what=f"confirm {path} {params}", context=context
            )
            markets = markets_in(record.json(), record.context.get("kind", "markets"))
            if markets:
                return record
        return None

    def fetch_markets_result(self, instruments: list[Instrument], as_of: pd.Timestamp) -> FetchResult:
        as_of = utc(as_of)
        day = as_of.strftime("%Y-%m-%d")
        fetch = self.start_fetch()
        quarantine = fetch.quarantine
        stats: Counter = Counter()
        try:
            answer = self.perplexity.ask(
                RAW_PROVIDER,
                SYSTEM_PROMPT,
                discovery_prompt(instruments, as_of),
                DISCOVERY_SCHEMA,
                day=day,
                fetch_id=new_fetch_id(),
                seq=0,
                what="market discovery",
                context={"as_of": as_of.isoformat(), "symbols": [i.symbol for i in instruments]},
            )
        except ProviderUnavailable as exc:
            answer = fetch.failed(exc)
        candidates = parse_candidates(answer, instruments, as_of, quarantine) if answer is not None else []
        stats["candidates"] = len(candidates)
        confirmed: list[RawRecord] = []
        for cand in candidates:
            try:
                record = self._confirm(cand, day, as_of)
            except ProviderUnavailable as exc:
                fetch.reasons.append(str(exc))  # a failed confirmation confirms nothing: no record kept
                continue
            if record is None:
                quarantine.add(
                    TABLE, "not confirmed by Gamma", cand.item, as_of, answer.fetched_at, answer.ref
                )
                stats["unconfirmed"] += 1
            else:
                confirmed.append(record)
        frame, parsed = parse_gamma_records(
            confirmed, instruments, as_of, quarantine, self.settings.providers.market_resolved_price_min
        )
        stats.update(parsed)
        self.last_result = fetch.result(frame, stats)
        return self.last_result
