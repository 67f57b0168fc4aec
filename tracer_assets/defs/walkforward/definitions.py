"""The walk-forward domain's Definitions (merged into the root through ``DOMAIN_DEFS``)."""

import dagster as dg

from tracer_assets.defs.walkforward.assets import governed_params, walk_forward_folds, walk_forward_summary
from tracer_assets.defs.walkforward.report import governance_report

walkforward_job = dg.define_asset_job(
    "walkforward_job",
    selection=[walk_forward_folds, walk_forward_summary, governed_params, governance_report],
    description="Backfill over fold months: the walk-forward, adopted parameters and the governance reports.",
)

defs = dg.Definitions(
    assets=[walk_forward_folds, walk_forward_summary, governed_params, governance_report],
    jobs=[walkforward_job],
)
