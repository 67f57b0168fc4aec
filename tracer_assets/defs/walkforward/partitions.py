"""Fold partitions: one per calendar month, the fold whose out-of-sample window is that month."""

import dagster as dg

from tracer_assets.defs.partitions import CADENCE_TAG, daily_partitions, single_run

# end_offset=1: this month's fold exists, so its parameters can be chosen (in sample) as it starts
monthly_partitions = dg.MonthlyPartitionsDefinition(
    start_date=daily_partitions.start.strftime("%Y-%m-%d"), end_offset=1
)
MONTHLY = {
    "partitions_def": monthly_partitions,
    "backfill_policy": single_run,
    "tags": {CADENCE_TAG: "monthly"},
    "group_name": "research",
    "owners": ["team:research"],
}


def months_of(context: dg.AssetExecutionContext) -> list[str]:
    """The ``YYYY-MM`` months this run covers (one, or a range in a single-run backfill)."""
    return [key[:7] for key in context.partition_keys]
