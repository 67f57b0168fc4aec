"""Narratives domain: news stories about universe symbols from the selected news provider."""

import dagster as dg

from tracer_assets.defs.common import DAILY_FRESHNESS, partition_days, table_result, window
from tracer_assets.defs.fetching import record_result
from tracer_assets.defs.market.assets import OUTSIDE_CALL_RETRY
from tracer_assets.defs.partitions import DAILY
from tracer_assets.defs.resources import TracerResource
from tracer_assets.defs.skip import skip_unchanged
from tracer_assets.pipeline.fetch import fetch_end, fetch_guarded
from tracer_assets.providers.health import write_fetched


@dg.asset(
    **DAILY,
    group_name="narratives",
    kinds={"python", "parquet"},
    retry_policy=OUTSIDE_CALL_RETRY,
    freshness_policy=DAILY_FRESHNESS,
    description="News narratives per symbol (event_ts = published, available_ts = when ingested), by UTC day.",
)
@skip_unchanged
def narratives(context: dg.AssetExecutionContext, tracer: TracerResource) -> dg.MaterializeResult:
    start, end = window(context)
    provider = tracer.news_provider()
    instruments = list(tracer.universe.instruments)
    result = fetch_guarded(
        tracer.lake,
        "narratives",
        provider,
        instruments,
        start,
        end,
        partition_days(context),
        tracer.settings.safety,
    )
    health = record_result(context, tracer, result)
    counts, kept = write_fetched(tracer.lake, "narratives", partition_days(context), result, by="event_ts")
    truth = getattr(provider, "truth_narratives", None)
    if truth is not None:
        # the sim's hidden truth goes to its own root, which the pipeline never reads
        from tracer_assets.lake import Lake

        truth_df = truth(instruments, start, fetch_end("narratives", end))
        Lake(tracer.settings.sim_truth_root).write_partitions(
            "narrative_truth", truth_df.assign(available_ts=truth_df["event_ts"]), partition_days(context)
        )
    return table_result("narratives", result.frame, counts, kept_from_earlier_runs=kept, **health)
