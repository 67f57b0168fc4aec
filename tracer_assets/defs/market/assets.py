"""Market domain: hourly bars from the selected provider and the price features built on them."""

import dagster as dg

from tracer_assets.defs.common import DAILY_FRESHNESS, partition_days, table_result, window
from tracer_assets.defs.fetching import fetch_and_write, fetching_asset
from tracer_assets.defs.partitions import DAILY
from tracer_assets.defs.resources import TracerResource
from tracer_assets.defs.skip import skip_unchanged
from tracer_assets.pipeline import market


@fetching_asset(
    group_name="market",
    description="Hourly OHLCV bars for the universe (ts = bar open, available at bar close), one partition per UTC day.",
)
def bars(context: dg.AssetExecutionContext, tracer: TracerResource) -> dg.MaterializeResult:
    result, counts, metadata = fetch_and_write(context, tracer, "bars", tracer.bars_provider())
    df = result.frame
    return table_result("bars", df, counts, symbols=int(df["symbol"].nunique()) if len(df) else 0, **metadata)


@dg.asset(
    **DAILY,
    group_name="market",
    kinds={"pandas", "parquet"},
    deps=[bars],
    freshness_policy=DAILY_FRESHNESS,
    description="Per-bar returns, realised volatility, volume z-score and daily trend; lookbacks read earlier bars partitions.",
)
@skip_unchanged
def price_features(context: dg.AssetExecutionContext, tracer: TracerResource) -> dg.MaterializeResult:
    feats = market.price_features(tracer.lake, tracer.settings, *window(context))
    counts = tracer.lake.write_partitions("price_features", feats, partition_days(context), by="ts")
    return table_result("price_features", feats, counts, lookback_days=tracer.settings.feature_lookback_days)
