"""Run the real Definitions over a partition range, as the demo does, on an ephemeral instance."""

from __future__ import annotations

import dagster as dg

from tracer_assets.definitions import ALL_ASSETS, build_definitions
from tracer_assets.demo import QUIET_RUN_CONFIG, day_range, range_tags, run_plan

__all__ = ["range_tags", "run_range"]


def run_range(
    first_day: str, last_day: str, instance: dg.DagsterInstance | None = None
) -> list[dg.ExecuteInProcessResult]:
    """The demo's plan: the daily range in one run, the weeks touching it in one run, the SQL models."""
    instance = instance or dg.DagsterInstance.ephemeral()
    resources = {"tracer": build_definitions().resources["tracer"]}
    results = []
    for _, assets, tags in run_plan(day_range(first_day, last_day)):
        result = dg.materialize(
            ALL_ASSETS,
            selection=assets,
            instance=instance,
            resources=resources,
            tags=tags,
            run_config=QUIET_RUN_CONFIG,
        )
        assert result.success
        results.append(result)
    return results
