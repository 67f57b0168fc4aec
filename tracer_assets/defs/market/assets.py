"""Market domain: hourly bars from the selected provider and the price features built on them."""

import dagster as dg
import pandas as pd

from tracer_assets.defs.common import DAILY_FRESHNESS, DAY, clip_to_now, partition_days, table_result, window
from tracer_assets.defs.ops.health import fetch_recorded, write_fetched
from tracer_assets.defs.partitions import DAILY
from tracer_assets.defs.resources import TracerResource
from tracer_assets.market.price_features import price_features as compute_price_features

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
def bars(context: dg.AssetExecutionContext, tracer: TracerResource) -> dg.MaterializeResult:
    start, end = window(context)
    provider = tracer.bars_provider()
    instruments = list(tracer.universe.instruments)
    result, health = fetch_recorded(
        context, tracer, provider, "fetch_bars", instruments, start, clip_to_now(end)
    )
    df = result.frame
    counts, kept = write_fetched(tracer.lake, "bars", partition_days(context), result, by="ts")
    return table_result(
        "bars",
        df,
        counts,
        symbols=int(df["symbol"].nunique()) if len(df) else 0,
        kept_from_earlier_runs=kept,
        **health,
    )


def features_by_day(
    bars_df: pd.DataFrame, days: list[str], lookback: pd.Timedelta, vol_window: int
) -> pd.DataFrame:
    """Each day's features from exactly that day's bars plus ``lookback`` before it, so a day computed
    alone equals the same day inside a range (rolling windows carry floating-point state from where
    they start)."""
    if bars_df.empty:
        return compute_price_features(bars_df, vol_window)
    ts = bars_df["ts"]
    out = []
    for day in days:
        d0 = pd.Timestamp(day, tz="UTC")
        feats = compute_price_features(bars_df[(ts >= d0 - lookback) & (ts < d0 + DAY)], vol_window)
        out.append(feats[feats["ts"] >= d0])
    return pd.concat(out, ignore_index=True)


@dg.asset(
    **DAILY,
    group_name="market",
    kinds={"pandas", "parquet"},
    deps=[bars],
    freshness_policy=DAILY_FRESHNESS,
    description="Per-bar returns, realised volatility, volume z-score and daily trend; lookbacks read earlier bars partitions.",
)
def price_features(context: dg.AssetExecutionContext, tracer: TracerResource) -> dg.MaterializeResult:
    s = tracer.settings
    start, end = window(context)
    lookback = DAY * s.feature_lookback_days
    bars_df = tracer.lake.read("bars", start - lookback, end - DAY)
    feats = features_by_day(bars_df, partition_days(context), lookback, s.vol_window_hours)
    counts = tracer.lake.write_partitions("price_features", feats, partition_days(context), by="ts")
    return table_result("price_features", feats, counts, lookback_days=s.feature_lookback_days)
