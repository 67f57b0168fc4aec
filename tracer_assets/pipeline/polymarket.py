"""The polymarket stage: the day's market snapshot (taken at the day's last hour) with our
``internal_prob``, its gap to the market price and the quality gate's verdict."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import pandas as pd

from tracer_assets.pipeline.fetch import read_guarded
from tracer_assets.pipeline.range_reads import range_reads, span
from tracer_assets.pipeline.store import Store
from tracer_assets.pipeline.window import DAY, clip_to_now
from tracer_assets.polymarket.internal_prob import snapshot_internal_probs
from tracer_assets.polymarket.quality_gate import gate_snapshot
from tracer_assets.providers.health import keeps_earlier
from tracer_assets.providers.results import FetchResult, fetch_result
from tracer_assets.settings import TracerSettings
from tracer_assets.universe import Universe

TABLE = "polymarket_markets"
EMPTY_GATE = {"kept": 0, "rejected": 0, "closed": 0}


def snapshot_time(day: str, now: pd.Timestamp | None = None) -> pd.Timestamp:
    """When the day's snapshot is taken: its last hour (or now, for today's live partition)."""
    return clip_to_now(pd.Timestamp(day, tz="UTC") + DAY - pd.Timedelta(hours=1), now=now)


def market_board(
    store: Store,
    settings: TracerSettings,
    universe: Universe,
    snap: pd.DataFrame,
    day: str,
    as_of: pd.Timestamp,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The provider's snapshot with our ``internal_prob`` and the gap beside the market's price, and
    the quality gate's verdict, from the price features known at ``as_of``; plus the gate counts."""
    s = settings
    if snap.empty:
        return snap, dict(EMPTY_GATE)
    feats = store.read("price_features", pd.Timestamp(day) - DAY * feature_look_back_days(s), day)
    classes = {i.symbol: i.asset_class for i in universe.instruments}
    priced = snapshot_internal_probs(
        snap, feats, as_of, classes, s.polymarket.pm_max_feature_age_hours, universe.calendar
    )
    return gate_snapshot(priced, s.polymarket, as_of)


def feature_look_back_days(settings: TracerSettings) -> int:
    """Whole days of price features a snapshot's pricing reads before its day."""
    return int(-(-settings.polymarket.pm_max_feature_age_hours // 24))


def add_gate(total: dict[str, int], day_gate: dict[str, int]) -> dict[str, int]:
    return {k: total[k] + day_gate[k] for k in total}


def board_view(df: pd.DataFrame) -> pd.DataFrame:
    """The priced markets, biggest disagreement with the market first (all rows when none is priced)."""
    priced = "internal_prob" in df and bool(df["internal_prob"].notna().any())
    if not priced:
        return df
    board = df[df["internal_prob"].notna()]
    return board.assign(abs_gap=board["gap"].abs()).sort_values("abs_gap", ascending=False)


@dataclass(frozen=True)
class MarketDay:
    """One day of the polymarket stage: the fetch, and the board to write (None keeps the stored one:
    a degraded fetch that got nothing never wipes a day an earlier run got)."""

    day: str
    fetched: FetchResult
    board: pd.DataFrame | None
    gate: dict[str, int]


def polymarket_markets(
    store: Store,
    settings: TracerSettings,
    universe: Universe,
    provider,
    days: list[str],
    now: pd.Timestamp | None = None,
) -> list[MarketDay]:
    """Each day's snapshot from ``provider`` at the day's last hour, priced and gated.

    A snapshot that would shrink the stored one (empty, only quarantined rows, far fewer markets) is
    read again (``read_guarded``); one still short keeps the stored board and is marked degraded."""
    out = []
    # the range's price features read once; each day's slice is the frame a read of that day gives
    features = range_reads(store, *span(days, feature_look_back_days(settings))) if days else store
    for day in days:
        as_of = snapshot_time(day, now)
        read = partial(fetch_result, provider, "fetch_markets", list(universe.instruments), as_of)
        fetched = read_guarded(store, TABLE, read, [day], settings.safety)
        if keeps_earlier(store, TABLE, day, fetched):
            out.append(MarketDay(day, fetched, None, dict(EMPTY_GATE)))
            continue
        board, gate = market_board(features, settings, universe, fetched.frame, day, as_of)
        out.append(MarketDay(day, fetched, board, gate))
    return out
