"""Sentiment domain: polarity, confidence and novelty per narrative (cached by content and model),
and the decayed narrative pressure at every decision time the signals evaluate."""

import dagster as dg

from tracer_assets.defs.common import DAILY_FRESHNESS, partition_days, table_result, window
from tracer_assets.defs.market.assets import price_features
from tracer_assets.defs.narratives.assets import narratives
from tracer_assets.defs.partitions import DAILY
from tracer_assets.defs.resources import TracerResource
from tracer_assets.defs.skip import skip_unchanged
from tracer_assets.pipeline import sentiment


@dg.asset(
    **DAILY,
    group_name="sentiment",
    kinds={"python", "parquet"},
    deps=[narratives],
    freshness_policy=DAILY_FRESHNESS,
    description="Polarity in [-1, 1], confidence, label and novelty per narrative; available when the narrative is.",
)
@skip_unchanged
def narrative_scores(context: dg.AssetExecutionContext, tracer: TracerResource) -> dg.MaterializeResult:
    s = tracer.settings
    scores = sentiment.narrative_scores(tracer.lake, s, *window(context), cache_root=s.lake.lake_root)
    counts = tracer.lake.write_partitions("narrative_scores", scores, partition_days(context), by="event_ts")
    models = sorted(scores["model"].dropna().unique().tolist()) if len(scores) else []
    stats = scores.attrs.get("sentiment", {})
    return table_result(
        "narrative_scores", scores, counts, models=", ".join(models), cache=dg.MetadataValue.json(stats)
    )


@dg.asset(
    **DAILY,
    group_name="sentiment",
    kinds={"pandas", "parquet"},
    deps=[narrative_scores, price_features],
    freshness_policy=DAILY_FRESHNESS,
    description="Decayed narrative pressure per symbol at every hour and every bar close (stock :30 closes "
    "included): sum of polarity x confidence x novelty x 2^(-age / half-life) over narratives available "
    "by then. The signals read their pressure from here.",
)
@skip_unchanged
def narrative_pressure(context: dg.AssetExecutionContext, tracer: TracerResource) -> dg.MaterializeResult:
    s = tracer.settings
    pressure = sentiment.narrative_pressure(tracer.lake, s, tracer.universe.symbols, *window(context))
    counts = tracer.lake.write_partitions(
        "narrative_pressure", pressure, partition_days(context), by="decision_ts"
    )
    return table_result(
        "narrative_pressure",
        pressure,
        counts,
        half_life_hours=s.sentiment.pressure_half_life_hours,
        **pressure.attrs.get("llm", {}),
    )
