"""Replay providers (``TRACER_*_PROVIDER=replay``): serve the assets from the raw zone alone.

They read stored 2xx responses and run the same parsers as the live clients, so a parser fix
re-parses history and a backfill needs no network. Where several fetches cover the same rows (an
hourly run re-fetches today), the latest fetch wins. A window no stored response covers gives an
empty, degraded result that says so.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pandas as pd

from tracer_assets.clock import utc
from tracer_assets.providers import alpaca_bars, alpaca_news, perplexity_news, polymarket_gamma
from tracer_assets.providers.raw_zone import RawRecord, RawZone
from tracer_assets.providers.redact import Redactor
from tracer_assets.providers.results import (
    BarsFrame,
    FetchResult,
    MarketsFrame,
    NarrativesFrame,
    concat_frames,
)
from tracer_assets.providers.validation import Quarantine
from tracer_assets.settings import TracerSettings
from tracer_assets.universe import Instrument


def _overlaps(record: RawRecord, start: pd.Timestamp, end: pd.Timestamp) -> bool:
    ctx = record.context
    if "window_start" not in ctx or "window_end" not in ctx:
        return False
    return pd.Timestamp(ctx["window_start"]) < end and pd.Timestamp(ctx["window_end"]) > start


def _by_fetch(records: list[RawRecord]) -> list[list[RawRecord]]:
    """Records grouped by fetch, groups ordered by when they were received (oldest first)."""
    groups: dict[str, list[RawRecord]] = defaultdict(list)
    for rec in records:
        groups[rec.fetch_id].append(rec)
    return sorted(groups.values(), key=lambda g: max(r.fetched_at for r in g))


class _Replay:
    name = "replay"

    def __init__(self, settings: TracerSettings, lake_root: str | Path, *, redactor: Redactor | None = None):
        self.settings = settings
        self.redactor = redactor or Redactor.from_settings(settings)
        self.zone = RawZone(lake_root, enabled=False, redactor=self.redactor)
        self.last_result: FetchResult | None = None

    def _quarantine(
        self, provider: str, window: tuple[pd.Timestamp, pd.Timestamp] | None = None
    ) -> Quarantine:
        return Quarantine(
            f"replay:{provider}", self.settings.providers.quarantine_payload_max_chars, self.redactor, window
        )

    def _finish(
        self, frame: pd.DataFrame, quarantines: list[Quarantine], found: int, what: str, stats: dict
    ) -> FetchResult:
        reasons = [] if found else [f"replay: no stored response covers {what}"]
        frames = [q.frame() for q in quarantines if len(q)]
        quarantine = pd.concat(frames, ignore_index=True) if frames else Quarantine("replay").frame()
        stats = {**stats, "raw_records": found, "quarantined": len(quarantine)}
        result = FetchResult(self.name, frame, quarantine, bool(reasons), reasons, stats)
        self.last_result = result
        return result


class ReplayBarsProvider(BarsFrame, _Replay):
    """Bars from stored ``alpaca_bars`` responses of the configured timeframe."""

    def fetch_bars_result(
        self, instruments: list[Instrument], start: pd.Timestamp, end: pd.Timestamp
    ) -> FetchResult:
        start, end = utc(start), utc(end)
        timeframe = self.settings.market.bar_timeframe
        records = [
            r
            for r in self.zone.records(alpaca_bars.RAW_PROVIDER, last_day=end.strftime("%Y-%m-%d"))
            if _overlaps(r, start, end) and r.context.get("timeframe", timeframe) == timeframe
        ]
        quarantine = self._quarantine(alpaca_bars.RAW_PROVIDER, (start, end))
        frames = []
        for group in _by_fetch(records):
            frame, _ = alpaca_bars.parse_bar_records(
                group, instruments, start, end, timeframe, quarantine, limits=self.settings.safety
            )
            frames.append(frame)
        frame = concat_frames(frames, alpaca_bars.TABLE, alpaca_bars.BAR_EXTRAS)
        if len(frame):
            frame = (
                frame.drop_duplicates(["symbol", "ts"], keep="last")
                .sort_values(["symbol", "ts"], kind="stable")
                .reset_index(drop=True)
            )
        what = f"bars [{start.isoformat()}, {end.isoformat()})"
        return self._finish(frame, [quarantine], len(records), what, {"rows": len(frame)})


class ReplayNewsProvider(NarrativesFrame, _Replay):
    """Narratives from stored ``alpaca_news`` and ``perplexity_news`` responses."""

    def fetch_narratives_result(
        self, instruments: list[Instrument], start: pd.Timestamp, end: pd.Timestamp
    ) -> FetchResult:
        start, end = utc(start), utc(end)
        last_day = end.strftime("%Y-%m-%d")
        frames, quarantines, found = [], [], 0
        for provider in (alpaca_news.RAW_PROVIDER, perplexity_news.RAW_PROVIDER):
            records = [r for r in self.zone.records(provider, last_day=last_day) if _overlaps(r, start, end)]
            found += len(records)
            quarantine = self._quarantine(provider, (start, end))
            quarantines.append(quarantine)
            for group in _by_fetch(records):
                if provider == alpaca_news.RAW_PROVIDER:
                    frame, _ = alpaca_news.parse_news_records(
                        group,
                        instruments,
                        start,
                        end,
                        self.settings.providers.news_available_delay_s,
                        quarantine,
                    )
                else:
                    frame, _ = perplexity_news.parse_perplexity_news_records(
                        group, instruments, start, end, quarantine
                    )
                frames.append(frame)
        frame = concat_frames(frames, "narratives")
        if len(frame):
            frame = (
                frame.drop_duplicates("narrative_id", keep="last")
                .sort_values(["event_ts", "narrative_id"], kind="stable")
                .reset_index(drop=True)
            )
        what = f"narratives [{start.isoformat()}, {end.isoformat()})"
        return self._finish(frame, quarantines, found, what, {"rows": len(frame)})


class ReplayMarketsProvider(MarketsFrame, _Replay):
    """Markets from the ``polymarket_gamma`` responses stored for the snapshot's day."""

    def fetch_markets_result(self, instruments: list[Instrument], as_of: pd.Timestamp) -> FetchResult:
        as_of = utc(as_of)
        day = as_of.strftime("%Y-%m-%d")
        records = list(self.zone.records(polymarket_gamma.RAW_PROVIDER, first_day=day, last_day=day))
        quarantine = self._quarantine(polymarket_gamma.RAW_PROVIDER)
        frame, stats = polymarket_gamma.parse_gamma_records(
            records, instruments, as_of, quarantine, self.settings.providers.market_resolved_price_min
        )
        return self._finish(frame, [quarantine], len(records), f"markets on {day}", dict(stats))
