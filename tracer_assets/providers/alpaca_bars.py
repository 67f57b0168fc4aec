"""Alpaca bars (request models from alpaca-py, sent by the shared HTTP caller): crypto (no keys needed) and stocks (IEX feed by default).

Every page lands in the raw zone first; ``parse_bar_records`` reads those records (live, or loaded
back by the replay provider), validates each bar and each fetch's sequence, and builds rows of the
``bars`` contract: ``ts`` = bar open (Alpaca ``t``), ``event_ts`` = open + timeframe,
``available_ts`` = ``event_ts``. Bars outside [start, end) and bars not closed when fetched are left
out and counted (``stats``), never quarantined: they belong to another partition or a later run.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
from alpaca.data.enums import CryptoFeed, DataFeed
from alpaca.data.requests import CryptoBarsRequest, StockBarsRequest

from tracer_assets.clock import utc
from tracer_assets.providers.alpaca_common import (
    CRYPTO_API,
    STOCK_API,
    AlpacaPager,
    alpaca_headers,
    request_params,
)
from tracer_assets.providers.http import LiveProvider
from tracer_assets.providers.raw_zone import RawRecord, new_fetch_id, window_context
from tracer_assets.providers.resilience import ProviderConfigError
from tracer_assets.providers.results import BarsFrame, FetchResult, concat_frames, frame_from_rows
from tracer_assets.providers.symbols import (
    crypto_pair,
    parse_timeframe,
    timeframe_offset,
    to_universe,
    universe_index,
)
from tracer_assets.providers.validation import (
    AlpacaBarIn,
    Quarantine,
    check_bar_sequence,
    check_bar_values,
    decoded_pages,
    validated,
)
from tracer_assets.settings import SafetySettings, TracerSettings
from tracer_assets.universe import Instrument

RAW_PROVIDER = "alpaca_bars"
TABLE = "bars"
BAR_EXTRAS = {"trade_count": "float64", "vwap": "float64", "timeframe": "str"}


def parse_bar_records(
    records: list[RawRecord],
    instruments: list[Instrument],
    start: pd.Timestamp,
    end: pd.Timestamp,
    timeframe: str,
    quarantine: Quarantine,
    source: str = "alpaca",
    limits: SafetySettings | None = None,
) -> tuple[pd.DataFrame, Counter]:
    """Bars of one fetch (its pages in order) as a ``bars`` frame; bad items go to ``quarantine``.

    Checks run on the bars inside [start, end) only: item shape and OHLC consistency, then
    sequence (duplicates, order), then values (grid, sanity bound, VWAP, jumps; ``limits``, the
    settings' defaults when None).
    """
    limits = limits or SafetySettings()
    start, end = utc(start), utc(end)
    index = universe_index(instruments)
    offset = timeframe_offset(parse_timeframe(timeframe))
    stats: Counter = Counter()
    received: list[dict[str, Any]] = []
    for rec, body in decoded_pages(records, quarantine, TABLE, start):
        if not isinstance(body, dict) or "bars" not in body:
            keys = sorted(body)[:20] if isinstance(body, dict) else type(body).__name__
            quarantine.add(
                TABLE, f"schema drift: no 'bars' object (got {keys})", body, start, rec.fetched_at, rec.ref
            )
            continue
        bars = body["bars"] or {}
        if not isinstance(bars, dict):
            quarantine.add(
                TABLE, "schema drift: 'bars' is not an object", bars, start, rec.fetched_at, rec.ref
            )
            continue
        for raw_symbol, items in bars.items():
            inst = to_universe(raw_symbol, index)
            if inst is None or not isinstance(items, list):
                reason = (
                    f"symbol not requested: {raw_symbol}"
                    if inst is None
                    else "schema drift: bars of a symbol are not a list"
                )
                quarantine.add(
                    TABLE, reason, {"symbol": raw_symbol, "bars": items}, start, rec.fetched_at, rec.ref
                )
                continue
            for item in items:
                payload = (
                    {"symbol": raw_symbol, **item}
                    if isinstance(item, dict)
                    else {"symbol": raw_symbol, "item": item}
                )
                bar = validated(AlpacaBarIn, item, quarantine, TABLE, rec, start, "t", payload)
                if bar is None:
                    continue
                received.append(
                    {
                        "symbol": inst.symbol,
                        "asset_class": inst.asset_class,
                        "ts": pd.Timestamp(bar.t).tz_convert("UTC"),
                        "open": bar.open,
                        "high": bar.high,
                        "low": bar.low,
                        "close": bar.close,
                        "volume": bar.volume,
                        "trade_count": float(bar.n) if bar.n is not None else float("nan"),
                        "vwap": float(bar.vw) if bar.vw is not None else float("nan"),
                        "_item": {"symbol": raw_symbol, **item},
                        "_rec": rec,
                    }
                )
    # window first: a bar of another partition (a far-future one included) must not decide which
    # of this window's bars count as duplicate or out of order
    in_window = [row for row in received if start <= row["ts"] < end]
    stats["outside_window"] += len(received) - len(in_window)
    kept, bad = check_bar_sequence(in_window)
    grid = offset if isinstance(offset, pd.Timedelta) and offset < pd.Timedelta(days=1) else None
    kept, bad_values = check_bar_values(kept, grid, limits.bar_max_price, limits.bar_max_jump_factor)
    for row, reason in bad + bad_values:
        rec = row["_rec"]
        quarantine.add(TABLE, reason, row["_item"], row["ts"], rec.fetched_at, rec.ref)
    rows = []
    for row in kept:
        rec = row.pop("_rec")
        row.pop("_item")
        close_ts = row["ts"] + offset
        if close_ts > rec.fetched_at:
            stats["incomplete"] += 1  # still forming when fetched: a later run gets the closed bar
            continue
        row.update(event_ts=close_ts, available_ts=close_ts, source=source, timeframe=timeframe)
        rows.append(row)
    stats["rows"] += len(rows)
    return frame_from_rows(TABLE, rows, BAR_EXTRAS, sort_by=["symbol", "ts"]), stats


class AlpacaBarsProvider(BarsFrame, LiveProvider):
    """``BarsProvider`` over Alpaca market data (``TRACER_BARS_PROVIDER=alpaca``)."""

    name = "alpaca"
    raw_provider = RAW_PROVIDER

    def __init__(self, settings: TracerSettings, lake_root: str | Path, **parts: Any):
        super().__init__(settings, lake_root, **parts)
        self.timeframe = settings.bar_timeframe
        self._tf = parse_timeframe(settings.bar_timeframe)
        self._pagers: dict[str, AlpacaPager] = {}

    def _pager(self, asset_class: str) -> AlpacaPager:
        if asset_class not in self._pagers:
            if asset_class == "stock" and not alpaca_headers(self.settings):
                raise ProviderConfigError(
                    "Alpaca stock bars need TRACER_ALPACA_KEY_ID and TRACER_ALPACA_SECRET_KEY"
                )
            api = STOCK_API if asset_class == "stock" else CRYPTO_API
            self._pagers[asset_class] = AlpacaPager(self, api)
        return self._pagers[asset_class]

    def _request(self, asset_class: str, group: list[Instrument], start: pd.Timestamp, end: pd.Timestamp):
        if asset_class == "crypto":
            req = CryptoBarsRequest(
                symbol_or_symbols=[crypto_pair(i.symbol) for i in group],
                timeframe=self._tf,
                start=start,
                end=end,
            )
            return f"/crypto/{CryptoFeed(self.settings.alpaca_crypto_feed).value}/bars", request_params(req)
        req = StockBarsRequest(
            symbol_or_symbols=[i.symbol.upper() for i in group],
            timeframe=self._tf,
            start=start,
            end=end,
            feed=DataFeed(self.settings.alpaca_stock_feed),
        )
        return "/stocks/bars", request_params(req)

    def fetch_bars_result(
        self, instruments: list[Instrument], start: pd.Timestamp, end: pd.Timestamp
    ) -> FetchResult:
        """Bars of ``instruments`` with open in [start, end), one paginated request per asset class."""
        start, end = utc(start), utc(end)
        fetch = self.start_fetch((start, end))
        frames, stats = [], Counter()
        for asset_class in ("crypto", "stock"):
            group = [i for i in instruments if i.asset_class == asset_class]
            if not group:
                continue
            path, params = self._request(asset_class, group, start, end)
            params["limit"] = self.settings.alpaca_page_limit
            context = window_context(
                start,
                end,
                asset_class=asset_class,
                symbols=[i.symbol for i in group],
                timeframe=self.timeframe,
            )
            records = fetch.collect(
                self._pager(asset_class).pages(
                    path,
                    params,
                    day=start.strftime("%Y-%m-%d"),
                    fetch_id=new_fetch_id(),
                    what=f"{asset_class} bars",
                    context=context,
                    max_pages=self.settings.alpaca_max_pages,
                )
            )
            stats["pages"] += len([r for r in records if r.ok])
            frame, parsed = parse_bar_records(
                records, group, start, end, self.timeframe, fetch.quarantine, limits=self.settings.safety
            )
            stats.update(parsed)
            frames.append(frame)
        self.last_result = fetch.result(concat_frames(frames, TABLE, BAR_EXTRAS), stats)
        return self.last_result
