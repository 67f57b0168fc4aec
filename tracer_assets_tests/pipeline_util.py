"""Run the real Definitions over a partition range, as the demo does, on an ephemeral instance."""

from __future__ import annotations

import dagster as dg
import pandas as pd

from tracer_assets.definitions import ALL_ASSETS, run_assets
from tracer_assets.defs.partitions import daily_partitions, weekly_partitions
from tracer_assets.demo import QUIET_RUN_CONFIG


def range_tags(start: str, end: str) -> dict[str, str]:
    return {"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end}


def run_range(
    first_day: str, last_day: str, instance: dg.DagsterInstance | None = None
) -> list[dg.ExecuteInProcessResult]:
    """Daily range in one run, then the weeks touching it in one run, then the SQL models, on the executor
    ``TRACER_EXECUTOR`` names (the multiprocess one needs a persistent ``instance``)."""
    instance = instance or dg.DagsterInstance.ephemeral()
    monday = lambda d: (pd.Timestamp(d) - pd.Timedelta(days=pd.Timestamp(d).weekday())).strftime("%Y-%m-%d")  # noqa: E731
    plan = [
        ([a for a in ALL_ASSETS if a.partitions_def == daily_partitions], range_tags(first_day, last_day)),
        (
            [a for a in ALL_ASSETS if a.partitions_def == weekly_partitions],
            range_tags(monday(first_day), monday(last_day)),
        ),
        ([a for a in ALL_ASSETS if a.partitions_def is None], {}),
    ]
    results = []
    for assets, tags in plan:
        result = run_assets(assets, instance=instance, tags=tags, run_config=QUIET_RUN_CONFIG)
        assert result.success
        results.append(result)
    return results
