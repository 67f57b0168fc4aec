"""Polymarket Gamma ``/markets`` (``TRACER_MARKETS_PROVIDER=polymarket``): no keys.

A snapshot runs two offset-paged queries: open markets (``active=true&closed=false``, optional
``volume_num_min`` and ``tag_id``) and markets that ended on the snapshot's day (``closed=true`` with
``end_date_min/max``), so the day's resolutions are seen. Markets are linked to a universe symbol by
``SymbolMatcher``; those bearing on none are counted (``stats['unmatched']``), not kept.
Rows: ``event_ts`` = min(as_of, received time), ``available_ts`` = received time (a past day's
snapshot fetched today is known only today).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

from tracer_assets.clock import utc
from tracer_assets.polymarket.gamma_parse import MARKET_EXTRAS, SymbolMatcher, parse_market
from tracer_assets.providers.http import LiveProvider
from tracer_assets.providers.raw_zone import RawRecord, new_fetch_id
from tracer_assets.providers.resilience import ProviderUnavailable
from tracer_assets.providers.results import FetchResult, MarketsFrame, frame_from_rows
from tracer_assets.providers.symbols import to_universe, universe_index
from tracer_assets.providers.validation import Quarantine, decoded_pages
from tracer_assets.settings import TracerSettings
from tracer_assets.universe import Instrument

RAW_PROVIDER = "polymarket_gamma"
GAMMA_SERVICE = "polymarket_gamma"
TABLE = "polymarket_markets"


def markets_in(body: Any, kind: str) -> list[Any] | None:
    """Markets of a ``/markets`` page (a bare array) or of an ``/events`` page (events with markets)."""
    if kind == "events":
        if not isinstance(body, list):
            return None
        markets: list[Any] = []
        for event in body:
            if isinstance(event, dict) and isinstance(event.get("markets"), list):
                markets.extend(event["markets"])
        return markets
    if isinstance(body, dict) and isinstance(body.get("markets"), list):  # /markets/keyset shape
        return body["markets"]
    return body if isinstance(body, list) else None


def parse_gamma_records(
    records: list[RawRecord],
    instruments: list[Instrument],
    as_of: pd.Timestamp,
    quarantine: Quarantine,
    resolved_price_min: float,
) -> tuple[pd.DataFrame, Counter]:
    """Market rows from stored Gamma responses, linked to ``instruments``; the latest copy of a market wins."""
    as_of = utc(as_of)
    matcher = SymbolMatcher(instruments)
    index = universe_index(instruments)
    stats: Counter = Counter()
    by_id: dict[str, dict[str, Any]] = {}
    for rec, body in decoded_pages(records, quarantine, TABLE, as_of, order=lambda r: (r.fetched_at, r.seq)):
        kind = rec.context.get("kind", "markets")
        markets = markets_in(body, kind)
        if markets is None:
            quarantine.add(
                TABLE, f"schema drift: expected a JSON array of {kind}", body, as_of, rec.fetched_at, rec.ref
            )
            continue
        hint_inst = to_universe(rec.context.get("symbol_hint"), index)
        for item in markets:
            parsed = parse_market(
                item,
                matcher=matcher,
                snapshot_ts=as_of,
                fetched_at=rec.fetched_at,
                resolved_price_min=resolved_price_min,
                symbol_hint=hint_inst.symbol if hint_inst else None,
                source=rec.context.get("source", "gamma"),
            )
            if parsed.row is None:
                quarantine.add(TABLE, parsed.reason or "invalid market", item, as_of, rec.fetched_at, rec.ref)
                continue
            if parsed.row["symbol"] is None:
                stats["unmatched"] += 1
                continue
            if parsed.row["market_id"] in by_id:
                stats["duplicates"] += 1  # offset pages shift while markets are added: not an error
            by_id[parsed.row["market_id"]] = parsed.row
    rows = sorted(by_id.values(), key=lambda r: (r["symbol"], r["market_id"]))
    stats["rows"] += len(rows)
    return frame_from_rows(TABLE, rows, MARKET_EXTRAS), stats


class GammaClient:
    """Offset-paged and single-market Gamma reads, each response stored as ``polymarket_gamma`` raw."""

    def __init__(self, provider: LiveProvider, transport: httpx.BaseTransport | None = None):
        self.settings = provider.settings
        self.caller = provider.http_caller(
            GAMMA_SERVICE,
            self.settings.providers.polymarket_gamma_url,
            headers={"Accept": "application/json"},
            transport=transport,
        )

    def paged(
        self, params: dict[str, Any], *, day: str, what: str, context: dict[str, Any]
    ) -> tuple[list[RawRecord], str | None]:
        """All pages of ``/markets`` with ``params``: (records, reason it stopped early or None)."""
        size = self.settings.providers.gamma_page_size
        fetch_id = new_fetch_id()
        records: list[RawRecord] = []
        for page in range(self.settings.providers.gamma_max_pages):
            try:
                record = self.caller.request(
                    RAW_PROVIDER,
                    "GET",
                    "/markets",
                    day=day,
                    fetch_id=fetch_id,
                    seq=page,
                    what=f"{what} page {page + 1}",
                    params={**params, "limit": size, "offset": page * size},
                    context={**context, "kind": "markets"},
                )
            except ProviderUnavailable as exc:
                if exc.record is not None and exc.record.ok:
                    records.append(exc.record)
                return records, str(exc)
            records.append(record)
            body = record.json()
            items = markets_in(body, "markets")
            if items is None or len(items) < size:
                return records, None
        return (
            records,
            f"{GAMMA_SERVICE}: {what}: stopped at gamma_max_pages={self.settings.providers.gamma_max_pages}",
        )

    def lookup(
        self, path: str, params: dict[str, Any], *, day: str, what: str, context: dict[str, Any]
    ) -> RawRecord:
        """One ``/markets`` or ``/events`` query (confirmation by id or slug); raises ProviderUnavailable."""
        return self.caller.request(
            RAW_PROVIDER,
            "GET",
            path,
            day=day,
            fetch_id=new_fetch_id(),
            what=what,
            params=params,
            context={**context, "kind": "events" if path.startswith("/events") else "markets"},
        )


class PolymarketGammaProvider(MarketsFrame, LiveProvider):
    """``MarketsProvider`` over Gamma ``/markets``."""

    name = "polymarket"
    raw_provider = RAW_PROVIDER

    def __init__(self, settings: TracerSettings, lake_root: str | Path, **parts: Any):
        super().__init__(settings, lake_root, **parts)
        self.gamma = GammaClient(self)

    def queries(self, as_of: pd.Timestamp) -> list[tuple[str, dict[str, Any]]]:
        day = as_of.normalize()
        open_params: dict[str, Any] = {"active": "true", "closed": "false"}
        if self.settings.providers.gamma_volume_min > 0:
            open_params["volume_num_min"] = self.settings.providers.gamma_volume_min
        if self.settings.providers.gamma_tag_id is not None:
            open_params["tag_id"] = self.settings.providers.gamma_tag_id
        closed_params = {
            "closed": "true",
            "end_date_min": day.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end_date_max": (day + pd.Timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        return [("open markets", open_params), ("markets ended that day", closed_params)]

    def fetch_markets_result(self, instruments: list[Instrument], as_of: pd.Timestamp) -> FetchResult:
        as_of = utc(as_of)
        fetch = self.start_fetch()
        day = as_of.strftime("%Y-%m-%d")
        records: list[RawRecord] = []
        for what, params in self.queries(as_of):
            got, stopped = self.gamma.paged(params, day=day, what=what, context={"as_of": as_of.isoformat()})
            records.extend(got)
            if stopped:
                fetch.reasons.append(stopped)
        frame, stats = parse_gamma_records(
            records, instruments, as_of, fetch.quarantine, self.settings.providers.market_resolved_price_min
        )
        stats["pages"] = len([r for r in records if r.ok])
        self.last_result = fetch.result(frame, stats)
        return self.last_result
