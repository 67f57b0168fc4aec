"""The one Definitions object: assets per domain, checks, jobs, schedules, sensors, resources.

Each ``defs/<domain>/assets.py`` module contributes its assets, and may export ``CHECKS``,
``SENSORS``, ``SCHEDULES`` and ``JOBS`` lists that are collected here. Newer domains declare their
own ``dg.Definitions`` (``defs/<domain>/definitions.py``, no resources) and are listed in
``DOMAIN_DEFS``; the root merges them and supplies the one resource and the executor.
"""

import dagster as dg
from dagster._core.execution.execution_result import ExecutionResult

from tracer_assets.defs.analytics.assets import build_sql_assets
from tracer_assets.defs.digest import assets as digest_assets
from tracer_assets.defs.evaluation import assets as evaluation_assets
from tracer_assets.defs.market import assets as market_assets
from tracer_assets.defs.narratives import assets as narrative_assets
from tracer_assets.defs.ops import automation
from tracer_assets.defs.ops.checks import build_schema_check
from tracer_assets.defs.polymarket import assets as polymarket_assets
from tracer_assets.defs.resources import TracerResource
from tracer_assets.defs.sentiment import assets as sentiment_assets
from tracer_assets.defs.signals import assets as signal_assets
from tracer_assets.settings import ScaleSettings

DOMAIN_MODULES = [
    market_assets,
    narrative_assets,
    sentiment_assets,
    signal_assets,
    digest_assets,
    polymarket_assets,
    evaluation_assets,
]

# per-domain Definitions objects (defs/<domain>/definitions.py), merged into the root
DOMAIN_DEFS: list[dg.Definitions] = []

CORE_ASSETS: list[dg.AssetsDefinition] = [
    *dg.load_assets_from_modules(DOMAIN_MODULES),
    *(a for d in DOMAIN_DEFS for a in (d.assets or [])),
]
SQL_ASSETS = build_sql_assets({a.key.path[-1] for a in CORE_ASSETS})
ALL_ASSETS = [*CORE_ASSETS, *SQL_ASSETS]


_DEFS_FIELD = {"CHECKS": "asset_checks", "JOBS": "jobs", "SCHEDULES": "schedules", "SENSORS": "sensors"}


def _collect(name: str) -> list:
    modules = [item for module in [*DOMAIN_MODULES, automation] for item in getattr(module, name, [])]
    return modules + [item for d in DOMAIN_DEFS for item in (getattr(d, _DEFS_FIELD[name]) or [])]


def build_definitions(lake_root: str | None = None) -> dg.Definitions:
    """Definitions with the resource pointed at ``lake_root`` (the settings' lake when None)."""
    return dg.Definitions(
        assets=ALL_ASSETS,
        asset_checks=[build_schema_check(a) for a in CORE_ASSETS] + _collect("CHECKS"),
        jobs=_collect("JOBS"),
        schedules=_collect("SCHEDULES"),
        sensors=_collect("SENSORS"),
        resources={"tracer": TracerResource(lake_root=lake_root)},
        # breakers live in a store every process shares, so steps may run in their own processes
        executor=build_executor(ScaleSettings()),
    )


def build_executor(scale: ScaleSettings) -> dg.ExecutorDefinition:
    """``TRACER_EXECUTOR``: one process per run, or one per step (independent assets in parallel)."""
    if scale.executor == "multiprocess":
        # forkserver with the definitions preloaded: each step forks a warm process instead of
        # importing Dagster, pandas and torch again
        start = {"forkserver": {"preload_modules": [__name__]}}
        return dg.multiprocess_executor.configured(
            {"max_concurrent": scale.executor_max_concurrent, "start_method": start}
        )
    return dg.in_process_executor


SELECTION_JOB = "tracer_selection"


def selection_job(asset_names: tuple[str, ...]) -> dg.JobDefinition:
    """A job of the named assets on the configured executor; rebuilt by name in every step process."""
    job = dg.define_asset_job(SELECTION_JOB, selection=dg.AssetSelection.assets(*asset_names))
    defs = dg.Definitions(
        assets=ALL_ASSETS,
        jobs=[job],
        resources={"tracer": TracerResource()},
        executor=build_executor(ScaleSettings()),
    )
    return defs.resolve_job_def(SELECTION_JOB)


def run_assets(
    assets: list[dg.AssetsDefinition],
    instance: dg.DagsterInstance,
    tags: dict[str, str],
    run_config: dict | None = None,
    raise_on_error: bool = False,
) -> ExecutionResult:
    """Materialize ``assets`` in one run (``tags`` may carry a partition range) on the executor that
    ``TRACER_EXECUTOR`` names; the multiprocess one needs a persistent instance (``DAGSTER_HOME``)."""
    if ScaleSettings().executor == "in_process":
        return dg.materialize(
            ALL_ASSETS,
            selection=assets,
            instance=instance,
            resources={"tracer": TracerResource()},
            tags=tags,
            run_config=run_config,
            raise_on_error=raise_on_error,
        )
    names = tuple(sorted(a.key.to_user_string() for a in assets))
    job = dg.build_reconstructable_job(__name__, selection_job.__name__, reconstructable_args=(names,))
    return dg.execute_job(job, instance, run_config=run_config, tags=tags, raise_on_error=raise_on_error)


defs = build_definitions()
