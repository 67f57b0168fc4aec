"""Market domain: hourly bars from the selected provider and the price features built on them."""

import dagster as dg

from tracer_assets.defs.common import DAILY_FRESHNESS, partition_days, table_result, window
from tracer_assets.defs.fetching import record_result
from tracer_assets.defs.partitions import DAILY
from tracer_assets.defs.resources import TracerResource
from tracer_assets.defs.skip import skip_unchanged
from tracer_assets.pipeline import market
from tracer_assets.pipeline.fetch import fetch_guarded
from tracer_assets.providers.health import write_fetched

OUTSIDE_CALL_RETRY = dg.RetryPolicy(
    max_retries=3, delay=2, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


@dg.asset(
    **DAILY,
    group_name="market",
    kinds={"python", "parquet"},
    retry_policy=OUTSIDE_CALL_RETRY,
    freshness_policy=DAILY_FRESHNESS,
    description="Hourly OHLCV bars for the universe (ts = bar open, available at bar close), one partition per UTC day.",
)
@skip_unchanged
def bars(context: dg.AssetExecutionContext, tracer: TracerResource) -> dg.MaterializeResult:
    start, end = window(context)
    result = fetch_guarded(
        tracer.lake,
        "bars",
        tracer.bars_provider(),
        list(tracer.universe.instruments),
        start,
        end,
        partition_days(context),
        tracer.settings.safety,
    )
    health = record_result(context, tracer, result)
    counts, kept = write_fetched(tracer.lake, "bars", partition_days(context), result, by="ts")
    df = result.frame
    return table_result(
        "bars",
        df,
        counts,
        symbols=int(df["symbol"].nunique()) if len(df) else 0,
        kept_from_earlier_runs=kept,
        **health,
    )


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
