"""Polymarket domain: a daily snapshot of prediction markets bearing on the universe."""

import dagster as dg
import pandas as pd

from tracer_assets.defs.common import (
    DAILY_FRESHNESS,
    DAY,
    clip_to_now,
    partition_days,
    preview,
    table_result,
)
from tracer_assets.defs.market.assets import OUTSIDE_CALL_RETRY, price_features
from tracer_assets.defs.ops.health import combine_results, fetch_recorded, health_metadata, keeps_earlier
from tracer_assets.defs.partitions import DAILY
from tracer_assets.defs.resources import TracerResource
from tracer_assets.polymarket.internal_prob import snapshot_internal_probs
from tracer_assets.polymarket.quality_gate import gate_snapshot

BOARD_PREVIEW = ["symbol", "question", "yes_price", "internal_prob", "gap", "gate_status", "gate_reason"]


def market_board(
    tracer: TracerResource, snap: pd.DataFrame, day: str, as_of: pd.Timestamp
) -> tuple[pd.DataFrame, dict]:
    """The provider's snapshot with our ``internal_prob`` and the gap beside the market's price, and
    the quality gate's verdict, from the price features known at ``as_of``."""
    s = tracer.settings
    if snap.empty:
        return snap, {"kept": 0, "rejected": 0, "closed": 0}
    lookback = DAY * int(-(-s.pm_max_feature_age_hours // 24))
    feats = tracer.lake.read("price_features", pd.Timestamp(day) - lookback, day)
    classes = {i.symbol: i.asset_class for i in tracer.universe.instruments}
    priced = snapshot_internal_probs(
        snap, feats, as_of, classes, s.pm_max_feature_age_hours, tracer.universe.calendar
    )
    return gate_snapshot(priced, s, as_of)


@dg.asset(
    **DAILY,
    group_name="polymarket",
    kinds={"python", "parquet"},
    retry_policy=OUTSIDE_CALL_RETRY,
    freshness_policy=DAILY_FRESHNESS,
    deps=[price_features],
    description="Daily snapshot (taken at the day's last hour) of markets linked to universe symbols, with "
    "resolutions; our internal_prob and its gap to the market price, and the quality gate's verdict.",
)
def polymarket_markets(context: dg.AssetExecutionContext, tracer: TracerResource) -> dg.MaterializeResult:
    provider = tracer.markets_provider()
    instruments = list(tracer.universe.instruments)
    frames, counts, fetches = [], {}, []
    gate = {"kept": 0, "rejected": 0, "closed": 0}
    for day in partition_days(context):
        as_of = clip_to_now(pd.Timestamp(day, tz="UTC") + DAY - pd.Timedelta(hours=1))
        fetched, _ = fetch_recorded(
            context, tracer, provider, "fetch_markets", instruments, as_of, days=[day]
        )
        fetches.append(fetched)
        snap = fetched.frame
        if not keeps_earlier(tracer.lake, "polymarket_markets", day, fetched):
            snap, day_gate = market_board(tracer, snap, day, as_of)
            gate = {k: gate[k] + day_gate[k] for k in gate}
            tracer.lake.write_partition("polymarket_markets", day, snap)
        counts[day] = len(snap)
        frames.append(snap)
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    resolved = int(df["closed"].astype("boolean").fillna(False).sum()) if len(df) else 0
    health = health_metadata(tracer, combine_results(fetches)) if fetches else {"provider": provider.name}
    priced = int(df["internal_prob"].notna().sum()) if "internal_prob" in df else 0
    board = df[df["internal_prob"].notna()] if priced else df
    if priced:  # biggest disagreements first: what the UI user wants to see
        board = board.assign(abs_gap=board["gap"].abs()).sort_values("abs_gap", ascending=False)
    return table_result(
        "polymarket_markets",
        df,
        counts,
        resolved=resolved,
        gate_kept=gate["kept"],
        gate_rejected=gate["rejected"],
        with_internal_prob=priced,
        board=preview(board[[c for c in BOARD_PREVIEW if c in board]], rows=10),
        **health,
    )
