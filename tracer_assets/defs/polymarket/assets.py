"""Polymarket domain: a daily snapshot of prediction markets bearing on the universe."""

import dagster as dg

from tracer_assets.defs.common import partition_days, preview, table_result
from tracer_assets.defs.fetching import combine_results, fetching_asset, health_metadata, record_result
from tracer_assets.defs.market.assets import price_features
from tracer_assets.defs.resources import TracerResource
from tracer_assets.pipeline import polymarket
from tracer_assets.pipeline.window import concat

BOARD_PREVIEW = ["symbol", "question", "yes_price", "internal_prob", "gap", "gate_status", "gate_reason"]


@fetching_asset(
    group_name="polymarket",
    deps=[price_features],
    description="Daily snapshot (taken at the day's last hour) of markets linked to universe symbols, with "
    "resolutions; our internal_prob and its gap to the market price, and the quality gate's verdict.",
)
def polymarket_markets(context: dg.AssetExecutionContext, tracer: TracerResource) -> dg.MaterializeResult:
    provider = tracer.markets_provider()
    days = polymarket.polymarket_markets(
        tracer.lake, tracer.settings, tracer.universe, provider, partition_days(context)
    )
    gate, counts, frames = dict(polymarket.EMPTY_GATE), {}, []
    with tracer.lake.batch():  # each day's board was built above; nothing here reads them back
        for md in days:
            record_result(context, tracer, md.fetched, [md.day])
            snap = md.fetched.frame if md.board is None else md.board
            if md.board is not None:
                tracer.lake.write_partition("polymarket_markets", md.day, md.board)
                gate = polymarket.add_gate(gate, md.gate)
            counts[md.day] = len(snap)
            frames.append(snap)
    df = concat(frames)
    resolved = int(df["closed"].astype("boolean").fillna(False).sum()) if len(df) else 0
    fetches = [md.fetched for md in days]
    health = health_metadata(tracer, combine_results(fetches)) if fetches else {"provider": provider.name}
    board = polymarket.board_view(df)
    return table_result(
        "polymarket_markets",
        df,
        counts,
        resolved=resolved,
        gate_kept=gate["kept"],
        gate_rejected=gate["rejected"],
        with_internal_prob=int(df["internal_prob"].notna().sum()) if "internal_prob" in df else 0,
        board=preview(board[[c for c in BOARD_PREVIEW if c in board]], rows=10),
        **health,
    )
