"""The digest stage: one day's ranked digest from the stored signals, market snapshot and health."""

from __future__ import annotations

import math

import pandas as pd

from tracer_assets.digest.build import Digest, build_digest
from tracer_assets.execution.words import book_day
from tracer_assets.lake import new_id
from tracer_assets.monitoring.run_failures import RUN_FAILURE_PROVIDER
from tracer_assets.pipeline.range_reads import range_reads, span
from tracer_assets.pipeline.store import Store
from tracer_assets.pipeline.window import DAY, clip_to_now
from tracer_assets.providers.health import DELIVERY_ASSET, read_health
from tracer_assets.settings import TracerSettings


def degraded_inputs(store: Store, day: str) -> list[str]:
    """Short names of the day's degraded inputs ("bars from alpaca") for the digest's one plain line;
    the full reasons stay in run_health and the asset metadata."""
    health = read_health(store, day, day)
    # a failed delivery or a failed run is an operator alert, not an input of this digest
    inputs = (health["asset"] != DELIVERY_ASSET) & (health["provider"] != RUN_FAILURE_PROVIDER)
    bad = health[health["degraded"] & inputs] if len(health) else health
    return (
        sorted({f"{a} from {p}" for a, p in zip(bad["asset"], bad["provider"], strict=True)})
        if len(bad)
        else []
    )


def digest_time(day: str, now: pd.Timestamp | None = None) -> pd.Timestamp:
    """The digest's ``as_of``: the day's last second (or now's hour, for today's live partition)."""
    return clip_to_now(pd.Timestamp(day, tz="UTC") + DAY - pd.Timedelta(seconds=1), now=now)


def _look_back_days(settings: TracerSettings) -> int:
    return math.ceil(settings.digest.digest_window_hours / 24)


def digest_reads(store: Store, settings: TracerSettings, days: list[str]) -> Store:
    """The lake as the digests of ``days`` read it: each input table read once for the range (and the
    ranking's look-back), each day's frames assembled from those files as a day read alone gives."""
    return range_reads(store, *span(days, _look_back_days(settings)))


def daily_digest(store: Store, settings: TracerSettings, day: str, now: pd.Timestamp | None = None) -> Digest:
    """The digest of ``day`` as of its end (clipped to now), with the paper book's day when it traded."""
    start = pd.Timestamp(day, tz="UTC")
    # the ranking looks back digest_window_hours, which reaches into earlier days' signals
    sigs = store.read("signals", start - DAY * _look_back_days(settings), day)
    markets = store.read("polymarket_markets", day, day)
    return build_digest(
        sigs,
        markets,
        settings.digest,
        digest_time(day, now),
        degraded_inputs(store, day),
        book_day(store, day),
    )


def delivery_key(day: str, rows: pd.DataFrame) -> str:
    """Send-once key: the day and what the digest shows (signals, markets, degraded flag), not the hour
    it was built, so an hourly tick that finds nothing new sends nothing new."""
    shown = rows[rows["section"] != "digest"]
    parts = sorted(
        shown["signal_id"].fillna("").astype(str) + "/" + shown["market_id"].fillna("").astype(str)
    )
    return new_id("digest-delivery", day, *parts, bool(rows["degraded"].fillna(False).any()))


def newly_delivered(delivery) -> bool:
    """Did this send deliver the digest now (not a repeat the notifier skipped as already sent)?"""
    return bool(delivery.delivered) and not str(delivery.detail).startswith("already")
