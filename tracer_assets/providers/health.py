"""What each fetch got, kept in the lake, and the degraded flags read back for downstream assets.

A fetching asset hands its ``FetchResult`` to ``record_fetch``: quarantined rows go to the
``quarantine`` table and one row per partition to ``run_health``, both in the asset's own part file
(``part=<asset>``), so assets sharing a partition never overwrite each other and a re-run replaces
only what the same asset wrote before. Downstream assets read the flags back with ``carry_degraded``
(materialization metadata) and ``degraded_reasons`` (plain-English lines, e.g. for the digest).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import pandas as pd

from tracer_assets.lake import Lake
from tracer_assets.lake.atomic import durable_batch
from tracer_assets.providers.protocols import Delivery
from tracer_assets.providers.redact import Redactor
from tracer_assets.providers.results import RUN_HEALTH_COLUMNS, FetchResult, run_health_row
from tracer_assets.providers.validation import QUARANTINE_COLUMNS, empty_quarantine

QUARANTINE_TABLE = "quarantine"
RUN_HEALTH_TABLE = "run_health"
DELIVERY_ASSET = "digest_delivery"  # the run_health rows of digest deliveries (not an input of the digest)
REASON_MAX_CHARS = 240  # one digest line stays readable; the full reason is in run_health
# Fetched tables guarded against shrinking: the column that dates a row into its day (None: the
# whole fetch is one day, as a market snapshot is) and the columns that identify one row.
GUARDED_TABLES: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "bars": ("ts", ("symbol", "ts")),
    "narratives": ("event_ts", ("narrative_id",)),
    "polymarket_markets": (None, ("market_id",)),
}


def _day(value: Any) -> str:
    return pd.Timestamp(value).strftime("%Y-%m-%d")


def combine_results(results: list[FetchResult]) -> FetchResult:
    """One result for several fetches of the same provider (e.g. one market snapshot per day)."""
    if not results:
        raise ValueError("combine_results needs at least one result")
    frames = [r.frame for r in results if len(r.frame)]
    quarantines = [r.quarantine for r in results if len(r.quarantine)]
    stats: Counter = Counter()
    for r in results:
        stats.update(r.stats)
    return FetchResult(
        provider=results[0].provider,
        frame=pd.concat(frames, ignore_index=True) if frames else results[0].frame,
        quarantine=pd.concat(quarantines, ignore_index=True) if quarantines else empty_quarantine(),
        degraded=any(r.degraded for r in results),
        reasons=[reason for r in results for reason in r.reasons],
        stats=dict(stats),
    )


def _nearest_day(key: str, days: list[str]) -> str:
    """``key`` when requested, else the last requested day before it (the first day if none)."""
    if key in days:
        return key
    earlier = [d for d in days if d < key]
    return earlier[-1] if earlier else days[0]


def quarantine_by_day(quarantine: pd.DataFrame, days: list[str]) -> dict[str, pd.DataFrame]:
    """Quarantine rows split over ``days`` by the UTC day of ``event_ts``.

    A row dated outside ``days`` (a market snapshot's rows carry the time they were received) is
    filed under the last of ``days`` before its date (the first when none is), with its own
    ``event_ts`` unchanged: it is never dropped.
    """
    days = sorted(_day(d) for d in days)
    if not days:
        raise ValueError("quarantine_by_day needs at least one day")
    if not len(quarantine):
        return {}
    keys = pd.to_datetime(quarantine["event_ts"], utc=True).dt.strftime("%Y-%m-%d")
    keys = keys.map(lambda key: _nearest_day(key, days))
    return {day: quarantine[keys.values == day].reset_index(drop=True) for day in days if (keys == day).any()}


def record_fetch(
    lake: Lake,
    result: FetchResult,
    *,
    asset: str,
    days: Iterable[str],
    run_id: str,
    now: pd.Timestamp | None = None,
    min_kept_ratio: float | None = None,
) -> dict[str, Any]:
    """Write ``result``'s quarantine rows and one ``run_health`` row per day; return the metadata.

    Every day gets its quarantine part, empty when nothing was bad: a re-run that finds everything
    good leaves no stale rows behind, and the table exists (for DuckDB views) from the first run.
    With ``min_kept_ratio``, a fetch for a guarded table (``GUARDED_TABLES``, named like ``asset``)
    that brings far fewer rows than a day already holds is marked degraded first (``mark_suspect``),
    so its ``run_health`` rows and metadata say why the stored rows were kept.
    """
    days = [_day(d) for d in days]
    if min_kept_ratio is not None and asset in GUARDED_TABLES:
        mark_suspect(lake, asset, days, result, min_kept_ratio, GUARDED_TABLES[asset][0])
    now = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now)
    by_day = quarantine_by_day(result.quarantine, days) if days else {}
    # the range's files made durable together (lake/atomic.py); any store (a MemoryStore writes no file)
    with durable_batch():
        for day in days:
            rows = by_day.get(day, empty_quarantine())
            lake.write_partition(QUARANTINE_TABLE, day, rows[QUARANTINE_COLUMNS], part=asset)
            health = pd.DataFrame([result.health_row(run_id, asset, day, now)], columns=RUN_HEALTH_COLUMNS)
            lake.write_partition(RUN_HEALTH_TABLE, day, health, part=asset)
    return result.metadata()


def _rows_per_day(frame: pd.DataFrame, days: list[str], by: str | None) -> dict[str, int]:
    if by is None:  # one snapshot for one day
        return dict.fromkeys(days, len(frame))
    if not len(frame):
        return dict.fromkeys(days, 0)
    keys = pd.to_datetime(frame[by], utc=True).dt.strftime("%Y-%m-%d").value_counts()
    return {day: int(keys.get(day, 0)) for day in days}


def _stored_rows(lake: Lake, table: str, day: str) -> int:
    return len(lake.read(table, day, day))  # empty when the lake holds no such partition


def shrinking_days(
    lake: Lake, table: str, days: Iterable[str], result: FetchResult, min_kept_ratio: float, by: str | None
) -> dict[str, tuple[int, int]]:
    """{day: (rows fetched, rows stored)} for each day the lake holds and ``result`` would shrink below
    ``min_kept_ratio`` of what is stored."""
    days = [_day(d) for d in days]
    got = _rows_per_day(result.frame, days, by)
    # one read for the range (not one read per day): rows per day of what the lake holds
    held = (
        _rows_per_day(lake.read(table, min(days), max(days)), days, by)
        if by is not None and len(days) > 1
        else None
    )
    out = {}
    for day, rows in got.items():
        stored = held[day] if held is not None else _stored_rows(lake, table, day)
        if stored and rows < min_kept_ratio * stored:
            out[day] = (rows, stored)
    return out


def mark_suspect(
    lake: Lake,
    table: str,
    days: Iterable[str],
    result: FetchResult,
    min_kept_ratio: float,
    by: str | None,
) -> list[str]:
    """Mark ``result`` degraded (in place) for each day it would shrink; return those days.

    A day is suspect when the lake holds rows for it and the fetch brought fewer than
    ``min_kept_ratio`` of them: an empty 200, an answer whose rows all failed validation, or a
    partial one. Writers keep the stored rows of suspect days (``write_fetched``, ``keeps_earlier``).
    """
    for day, (rows, stored) in shrinking_days(lake, table, days, result, min_kept_ratio, by).items():
        if day not in result.suspect_days:
            bad = len(result.quarantine)
            why = f" ({bad} quarantined)" if bad else ""
            result.suspect_days.append(day)
            result.degraded = True
            result.reasons.append(
                f"{table} {day}: the fetch brought {rows} rows{why} where the lake holds {stored}; "
                "the stored rows were kept (fetch_min_kept_ratio)"
            )
    return result.suspect_days


def keeps_earlier(lake: Lake, table: str, day: str, result: FetchResult, rows: int | None = None) -> bool:
    """Should ``day``'s partition of ``table`` stay as it is rather than take this fetch's rows?

    Yes when the day is suspect (``mark_suspect``: far fewer rows than stored), or when the fetch was
    degraded, brought no rows for that day (``rows``; all of ``result.frame`` when None) and the lake
    already holds the day: an outage or an empty answer never wipes data an earlier run got.
    ``run_health`` still marks the day degraded.
    """
    rows = len(result.frame) if rows is None else rows
    if _day(day) in result.suspect_days:
        return True
    return bool(result.degraded and rows == 0 and _day(day) in lake.partitions(table))


def write_fetched(
    lake: Lake,
    table: str,
    days: Iterable[str],
    result: FetchResult,
    by: str = "event_ts",
    key: str = "symbol",
    min_kept_ratio: float | None = None,
) -> tuple[dict[str, int], int]:
    """Write a fetch's rows into the day partitions of ``table``; returns (rows per day, rows kept).

    A whole fetch replaces each day. A degraded fetch never loses what an earlier run got: every
    earlier row of the day that this fetch did not bring again (same row key, ``GUARDED_TABLES``;
    ``key`` for other tables) is kept, so an outage of one symbol (or of all of them) leaves the
    others' and its own earlier data in place. With ``min_kept_ratio``, a healthy fetch that would
    shrink a day is marked suspect first (``mark_suspect``), and so keeps the earlier rows too.
    """
    days = [_day(d) for d in days]
    if min_kept_ratio is not None:
        mark_suspect(lake, table, days, result, min_kept_ratio, by)
    row_key = list(GUARDED_TABLES.get(table, (by, (key,)))[1])
    frame = result.frame
    day_of = (
        pd.to_datetime(frame[by], utc=True).dt.strftime("%Y-%m-%d")
        if len(frame)
        else pd.Series([], dtype=str)
    )
    counts, kept = {}, 0
    # one durable batch for the range: each day reads only its own earlier rows, before its write
    with durable_batch():
        for day in days:
            rows = frame[day_of.values == day] if len(frame) else frame
            if (result.degraded or day in result.suspect_days) and day in lake.partitions(table):
                earlier = lake.read(table, day, day)
                if len(earlier) and len(rows):
                    fetched = pd.MultiIndex.from_frame(rows[row_key].astype(str))
                    missing = earlier[~pd.MultiIndex.from_frame(earlier[row_key].astype(str)).isin(fetched)]
                else:
                    missing = earlier
                if len(missing):
                    kept += len(missing)
                    rows = pd.concat([r for r in (rows, missing) if len(r)], ignore_index=True)
            lake.write_partition(table, day, rows)
            counts[day] = len(rows)
    return counts, kept


def record_delivery(
    lake: Lake,
    delivery: Delivery,
    *,
    day: str,
    run_id: str,
    redactor: Redactor,
    now: pd.Timestamp | None = None,
) -> str:
    """Write the ``run_health`` row of one digest delivery (asset ``digest_delivery``); return why it
    failed ('' when delivered), redacted.

    A refused delivery (Telegram's 401 for a revoked token, 403 for a bot removed from the chat) is
    a degraded row with the notifier's reason, never a silent ``delivered=false``; a later delivery
    of the same day replaces the row.
    """
    now = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now)
    reason = (
        ""
        if delivery.delivered
        else redactor.text(
            f"{delivery.channel} did not deliver the digest: {delivery.detail or 'no reason given'}"
        )
    )
    row = run_health_row(
        run_id, DELIVERY_ASSET, _day(day), delivery.channel, not delivery.delivered, reason, now
    )
    lake.write_partition(
        RUN_HEALTH_TABLE, _day(day), pd.DataFrame([row], columns=RUN_HEALTH_COLUMNS), part=DELIVERY_ASSET
    )
    return reason


def read_health(lake: Lake, start: Any, end: Any) -> pd.DataFrame:
    """``run_health`` rows of the days in [start, end] (inclusive day keys), with their ``partition``."""
    frame = lake.read(RUN_HEALTH_TABLE, _day(start), _day(end))
    if not len(frame):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in RUN_HEALTH_COLUMNS})
    frame = frame.copy()
    frame["degraded"] = frame["degraded"].fillna(False).astype(bool)
    frame["reason"] = frame["reason"].fillna("").astype(str)
    return frame


def _shorten(text: str, limit: int = REASON_MAX_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def _day_span(days: list[str]) -> str:
    if len(days) == 1:
        return f"on {days[0]}"
    return f"on {len(days)} days ({days[0]} to {days[-1]})"


def _reason_lines(health: pd.DataFrame) -> list[str]:
    bad = health[health["degraded"]] if len(health) else health
    lines = []
    for (asset, provider), group in bad.groupby(["asset", "provider"], sort=True):
        days = sorted(group["partition"].astype(str).unique())
        latest_first = group.sort_values("event_ts", ascending=False)["reason"]
        reasons = [r for r in dict.fromkeys(latest_first) if r]
        why = _shorten(reasons[0]) if reasons else "no reason recorded"
        others = len(reasons) - 1
        more = f" (and {others} other reason{'s' if others > 1 else ''})" if others > 0 else ""
        lines.append(f"{asset} from {provider} were incomplete {_day_span(days)}: {why}{more}")
    return lines


def degraded_reasons(lake: Lake, start: Any, end: Any) -> list[str]:
    """One plain-English line per asset and provider that was degraded on a day in [start, end].

    Example: ``bars from alpaca were incomplete on 3 days (2024-01-01 to 2024-01-03): alpaca_data:
    crypto bars page 1: gave up after 4 attempts: HTTP 503: ...`` (the latest reason, shortened).
    Empty when every recorded input was whole.
    """
    return _reason_lines(read_health(lake, start, end))


def carry_degraded(lake: Lake, days: Iterable[str]) -> dict[str, Any]:
    """Metadata for a downstream asset: were any inputs degraded on ``days``, and why.

    Keys: ``degraded`` (bool), ``degraded_reason`` (the lines of ``degraded_reasons`` joined by
    ``; ``, '' when none) and ``degraded_inputs`` (the degraded upstream assets, comma-separated).
    """
    days = sorted({_day(d) for d in days})
    if not days:
        return {"degraded": False, "degraded_reason": "", "degraded_inputs": ""}
    health = read_health(lake, days[0], days[-1])
    if len(health):
        health = health[health["partition"].astype(str).isin(days)]
    lines = _reason_lines(health)
    inputs = sorted(health.loc[health["degraded"], "asset"].astype(str).unique()) if len(health) else []
    return {
        "degraded": bool(inputs),
        "degraded_reason": "; ".join(lines),
        "degraded_inputs": ", ".join(inputs),
    }
