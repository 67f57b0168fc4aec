"""Run the real Definitions over a partition range, as the demo does (an ephemeral instance by default)."""

from __future__ import annotations

import dagster as dg

from tracer_assets.definitions import ALL_ASSETS, all_asset_checks, build_definitions, run_assets
from tracer_assets.demo import QUIET_RUN_CONFIG, day_range, range_tags, run_plan

__all__ = ["materialize_days", "range_tags", "run_range"]


def run_range(
    first_day: str, last_day: str, instance: dg.DagsterInstance | None = None
) -> list[dg.ExecuteInProcessResult]:
    """The demo's plan: the daily range in one run, the weeks touching it in one run, the SQL models,
    on the executor ``TRACER_EXECUTOR`` names (the multiprocess one needs a persistent ``instance``)."""
    instance = instance or dg.DagsterInstance.ephemeral()
    checks = all_asset_checks()  # the blocking checks run in the same run
    results = []
    for _, assets, tags in run_plan(day_range(first_day, last_day)):
        result = run_assets(
            assets,
            instance=instance,
            tags=tags,
            run_config=QUIET_RUN_CONFIG,
            raise_on_error=True,
            checks=checks,
        )
        assert result.success
        results.append(result)
    return results


def materialize_days(
    names,
    first: str | None = None,
    last: str | None = None,
    *,
    partition_key: str | None = None,
    instance: dg.DagsterInstance | None = None,
) -> dg.ExecuteInProcessResult:
    """The named assets materialized in one run, as the demo runs them: the days ``first``..``last`` as
    one range (or the one ``partition_key``, or unpartitioned), on the Definitions' resource."""
    tags = range_tags(first, last) if first is not None else {}
    result = dg.materialize(
        ALL_ASSETS,
        selection=[a for a in ALL_ASSETS if a.key.to_user_string() in set(names)],
        instance=instance or dg.DagsterInstance.ephemeral(),
        resources={"tracer": build_definitions().resources["tracer"]},
        tags=tags,
        partition_key=partition_key,
        run_config=QUIET_RUN_CONFIG,
    )
    assert result.success
    return result
