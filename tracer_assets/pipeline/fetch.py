"""The fetching stages: a provider call turned into a ``FetchResult`` (good rows, quarantine, health),
and how that result lands in a store (quarantine and run_health part files, then the day partitions,
never wiping what an earlier run got when the fetch was degraded)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from tracer_assets.pipeline.store import Store
from tracer_assets.pipeline.window import clip_to_now
from tracer_assets.providers.health import record_fetch, shrinking_days, write_fetched
from tracer_assets.providers.results import FetchResult, fetch_result

FETCH_METHOD = {"bars": "fetch_bars", "narratives": "fetch_narratives"}
FETCH_RESOLUTION = {"bars": "h", "narratives": "min"}  # see clip_to_now
FETCH_DAY_COLUMN = {"bars": "ts", "narratives": "event_ts"}


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
    min_kept_ratio: float,
    now=None,
) -> FetchResult:
    """``fetch_window``; when the answer would shrink a day the store already holds (an empty or cut-off
    200, which a provider often heals on the next read), read once more and keep the fuller answer. The
    first answer's quarantined rows stay with the result; a second short answer is marked degraded later
    (``record_fetch``) and the stored rows are kept."""
    result = fetch_window(table, provider, instruments, start, end, now)
    by = FETCH_DAY_COLUMN[table]
    if not shrinking_days(store, table, days, result, min_kept_ratio, by):
        return result
    again = fetch_window(table, provider, instruments, start, end, now)
    if len(again.frame) <= len(result.frame):
        return result
    again.quarantine = pd.concat([result.quarantine, again.quarantine], ignore_index=True)
    again.stats = {
        **again.stats,
        "short_answers_read_again": again.stats.get("short_answers_read_again", 0) + 1,
    }
    return again


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
    return write_fetched(store, table, days, result, by=FETCH_DAY_COLUMN[table])
