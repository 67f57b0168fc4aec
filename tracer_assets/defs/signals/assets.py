"""Signals domain: divergence between narrative pressure and the price move, confirmed, cooled
down, sized and calibrated, all point-in-time."""

import dagster as dg

from tracer_assets.defs.common import DAILY_FRESHNESS, partition_days, table_result, window
from tracer_assets.defs.market.assets import bars, price_features
from tracer_assets.defs.partitions import DAILY
from tracer_assets.defs.resources import TracerResource
from tracer_assets.defs.skip import skip_unchanged
from tracer_assets.pipeline import signals as signal_stage
from tracer_assets.pipeline.governed import governed_segments
from tracer_assets.providers.health import carry_degraded


@dg.asset(
    **DAILY,
    group_name="signals",
    kinds={"pandas", "parquet"},
    deps=[price_features, dg.AssetKey("narrative_pressure"), bars],
    freshness_policy=DAILY_FRESHNESS,
    description="Directional signals (divergence, confirmed, cooled down, sized, calibrated) by decision day, "
    "reading the pressure from narrative_pressure; candidates that failed a check go to signals_held_back "
    "with their reasons. Thresholds: the governed_params version in force at each decision time (defaults "
    "before any).",
)
@skip_unchanged
def signals(context: dg.AssetExecutionContext, tracer: TracerResource) -> dg.MaterializeResult:
    result = signal_stage.signals(tracer.lake, tracer.settings, *window(context))
    versions = [seg.label for seg in governed_segments(tracer.lake, tracer.settings, *window(context))]
    days = partition_days(context)
    counts = tracer.lake.write_partitions("signals", result.signals, days, by="decision_ts")
    tracer.lake.write_partitions("signals_held_back", result.held_back, days, by="decision_ts")
    out = result.signals
    longs = int((out["direction"] == "long").sum()) if len(out) else 0
    return table_result(
        "signals",
        out,
        counts,
        decisions=result.n_decisions,
        longs=longs,
        shorts=len(out) - longs,
        held_back=dg.MetadataValue.json(result.held_back_counts),
        params_versions=versions,
        **carry_degraded(tracer.lake, days),
    )
