"""The research domain's Definitions (merged into the root by ``tracer_assets.definitions``)."""

import dagster as dg

from tracer_assets.defs.research.assets import (
    leak_check_samples,
    no_look_ahead_leak,
    placebo_results,
    research_job,
)

defs = dg.Definitions(
    assets=[placebo_results, leak_check_samples], asset_checks=[no_look_ahead_leak], jobs=[research_job]
)
