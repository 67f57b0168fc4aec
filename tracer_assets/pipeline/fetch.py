"""The fetching stages: a provider call turned into a ``FetchResult`` (good rows, quarantine, health),
and how that result lands in a store (quarantine and run_health part files, then the day partitions,
never wiping what an earlier run got when the fetch was degraded)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from tracer_assets.pipeline.store import Store
from tracer_assets.pipeline.window import clip_to_now
from tracer_assets.providers.health import (
    GUARDED_TABLES,
    mark_suspect,
    record_fetch,
    shrinking_days,
    write_fetched,
)
from tracer_assets.providers.results import FetchResult, fetch_result
from tracer_assets.settings import SafetySettings

FETCH_METHOD = {"bars": "fetch_bars", "narratives": "fetch_narratives"}
FETCH_RESOLUTION = {"bars": "h", "narratives": "min"}  # see clip_to_now


def fetch_window(
    table: str, provider: Any, instruments: list, start: pd.Timestamp, end: pd.Timestamp, now=None
) -> FetchResult:
    """``bars`` or ``narratives`` for [start, end), clipped to now, as the provider's ``FetchResult``."""
    return fetch_result(provider, FETCH_METHOD[table], instruments, start, fetch_end(table, end, now))


def fetch_guarded(
    store: Store,
    table: str,
    provider: Any,
    instruments: list,
    start: pd.Timestamp,
    end: pd.Timestamp,
    days: list[str],
    safety: SafetySettings,
    now=None,
) -> FetchResult:
    """``fetch_window``, read again while its answer would shrink a stored day (``read_guarded``)."""
    return read_guarded(
        store, table, lambda: fetch_window(table, provider, instruments, start, end, now), days, safety
    )


def read_guarded(
    store: Store, table: str, read: Callable[[], FetchResult], days: list[str], safety: SafetySettings
) -> FetchResult:
    """``read()``; while its answer would shrink a day the store already holds (an empty or cut-off 200,
    only quarantined rows: a provider often heals that on the next read), read again, at most
    ``safety.fetch_short_rereads`` more times, and keep the fullest answer. Every read's quarantined
    rows stay with the result; an answer still short after the last read is marked degraded for those
    days (``mark_suspect``), so every writer keeps their stored rows."""
    by = GUARDED_TABLES[table][0]
    result = read()
    quarantines, rereads = [result.quarantine], 0
    while rereads < safety.fetch_short_rereads and shrinking_days(
        store, table, days, result, safety.fetch_min_kept_ratio, by
    ):
        again = read()
        rereads += 1
        quarantines.append(again.quarantine)
        if len(again.frame) > len(result.frame):
            result = again
    if rereads:
        kept = [q for q in quarantines if len(q)]
        result.quarantine = pd.concat(kept, ignore_index=True) if kept else result.quarantine
        result.stats = {
            **result.stats,
            "short_answers_read_again": result.stats.get("short_answers_read_again", 0) + rereads,
        }
    mark_suspect(store, table, days, result, safety.fetch_min_kept_ratio, by)
    return result


def fetch_end(table: str, end: pd.Timestamp, now=None) -> pd.Timestamp:
    """The window end a live fetch of ``table`` may ask for."""
    return clip_to_now(end, FETCH_RESOLUTION[table], now)


def store_fetched(
    store: Store,
    table: str,
    days: list[str],
    result: FetchResult,
    run_id: str,
    now: pd.Timestamp | None = None,
) -> tuple[dict[str, int], int]:
    """Record ``result`` (quarantine, run_health) for ``days`` and write its rows; returns
    (rows per day, rows kept from earlier runs)."""
    record_fetch(store, result, asset=table, days=days, run_id=run_id, now=now)
    return write_fetched(store, table, days, result, by=GUARDED_TABLES[table][0])
