"""Narratives domain: news stories about universe symbols from the selected news provider."""

import dagster as dg

from tracer_assets.defs.common import partition_days, table_result, window
from tracer_assets.defs.fetching import fetch_and_write, fetching_asset
from tracer_assets.defs.resources import TracerResource
from tracer_assets.pipeline.fetch import fetch_end


@fetching_asset(
    group_name="narratives",
    description="News narratives per symbol (event_ts = published, available_ts = when ingested), by UTC day.",
)
def narratives(context: dg.AssetExecutionContext, tracer: TracerResource) -> dg.MaterializeResult:
    provider = tracer.news_provider()
    result, counts, metadata = fetch_and_write(context, tracer, "narratives", provider)
    truth = getattr(provider, "truth_narratives", None)
    if truth is not None:
        # the sim's hidden truth goes to its own root, which the pipeline never reads
        from tracer_assets.lake import Lake

        start, end = window(context)
        truth_df = truth(list(tracer.universe.instruments), start, fetch_end("narratives", end))
        Lake(tracer.settings.sim_truth_root).write_partitions(
            "narrative_truth", truth_df.assign(available_ts=truth_df["event_ts"]), partition_days(context)
        )
    return table_result("narratives", result.frame, counts, **metadata)
