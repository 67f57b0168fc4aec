"""The one Definitions object: the domains' own ``defs/<domain>/definitions.py`` merged, plus what
spans them (the analyst SQL models, the schema check of every table), the one resource and the
executor. A new domain declares its ``dg.Definitions`` (no resources, no executor) and is listed in
``DOMAIN_DEFS``.
"""

import dagster as dg
from dagster._core.execution.execution_result import ExecutionResult

from tracer_assets.defs.analytics.assets import build_sql_assets
from tracer_assets.defs.automation import definitions as automation
from tracer_assets.defs.backtest import definitions as backtest_domain
from tracer_assets.defs.catalog import describe_assets
from tracer_assets.defs.digest import definitions as digest
from tracer_assets.defs.digest.assets import digest as digest_asset
from tracer_assets.defs.evaluation import definitions as evaluation
from tracer_assets.defs.execution import definitions as execution_domain
from tracer_assets.defs.market import definitions as market
from tracer_assets.defs.monitoring import definitions as monitoring_domain
from tracer_assets.defs.monitoring.checks import build_digest_self_check, build_table_check
from tracer_assets.defs.narratives import definitions as narratives
from tracer_assets.defs.polymarket import definitions as polymarket
from tracer_assets.defs.research import definitions as research
from tracer_assets.defs.resources import TracerResource
from tracer_assets.defs.sentiment import definitions as sentiment
from tracer_assets.defs.signals import definitions as signals
from tracer_assets.defs.walkforward import definitions as walkforward
from tracer_assets.settings import ScaleSettings

# per-domain Definitions objects (defs/<domain>/definitions.py), merged into the root; imported as
# modules so that this module holds one Definitions object (``defs``) for Dagster's loader to find
DOMAIN_DEFS: list[dg.Definitions] = [
    market.defs,
    narratives.defs,
    sentiment.defs,
    signals.defs,
    digest.defs,
    polymarket.defs,
    evaluation.defs,
    automation.defs,
    research.defs,
    monitoring_domain.defs,
    execution_domain.defs,
    backtest_domain.defs,
    walkforward.defs,
]

CORE_ASSETS: list[dg.AssetsDefinition] = [a for d in DOMAIN_DEFS for a in (d.assets or [])]
SQL_ASSETS = build_sql_assets({a.key.path[-1] for a in CORE_ASSETS})
# owners and described column schemas for every asset, applied centrally (defs/catalog.py)
ALL_ASSETS = list(describe_assets([*CORE_ASSETS, *SQL_ASSETS]))


def _from_domains(field: str) -> list:
    return [item for d in DOMAIN_DEFS for item in (getattr(d, field) or [])]


def all_asset_checks() -> list:
    """The schema check of every core table, the digest's self-check and the domains' own checks."""
    return (
        [build_table_check(a) for a in CORE_ASSETS]
        + [build_digest_self_check(digest_asset)]
        + _from_domains("asset_checks")
    )


def build_definitions(lake_root: str | None = None) -> dg.Definitions:
    """Definitions with the resource pointed at ``lake_root`` (the settings' lake when None).

    The domains' assets enter as ``ALL_ASSETS`` (their specs carry owners and described column
    schemas); their checks, jobs, schedules and sensors come from each domain's Definitions."""
    return dg.Definitions(
        assets=ALL_ASSETS,
        asset_checks=all_asset_checks(),
        jobs=_from_domains("jobs"),
        schedules=_from_domains("schedules"),
        sensors=_from_domains("sensors"),
        resources={"tracer": TracerResource(lake_root=lake_root)},
        # breakers live in a store every process shares, so steps may run in their own processes
        executor=tracer_executor,
    )


@dg.executor(name="tracer_executor")
def tracer_executor(_init_context):
    """``TRACER_EXECUTOR``, read when a run starts (never at import): one process per run, or one per
    step (independent assets in parallel)."""
    from dagster._core.definitions.executor_definition import (
        _core_in_process_executor_creation,
        _core_multiprocess_executor_creation,
    )

    scale = ScaleSettings()
    retries = {"enabled": {}}  # the RetryPolicy on outside calls needs retries on
    if scale.executor == "multiprocess":
        # forkserver with the definitions preloaded: each step forks a warm process instead of
        # importing Dagster, pandas and torch again
        start = {"forkserver": {"preload_modules": [__name__]}}
        return _core_multiprocess_executor_creation(
            {"max_concurrent": scale.executor_max_concurrent, "retries": retries, "start_method": start}
        )
    return _core_in_process_executor_creation({"retries": retries})


SELECTION_JOB = "tracer_selection"


def selection_job(asset_names: tuple[str, ...]) -> dg.JobDefinition:
    """A job of the named assets (and their checks) on the configured executor; rebuilt by name in
    every step process."""
    job = dg.define_asset_job(SELECTION_JOB, selection=dg.AssetSelection.assets(*asset_names))
    defs = dg.Definitions(
        assets=ALL_ASSETS,
        asset_checks=all_asset_checks(),
        jobs=[job],
        resources={"tracer": TracerResource()},
        executor=tracer_executor,
    )
    return defs.resolve_job_def(SELECTION_JOB)


def run_assets(
    assets: list[dg.AssetsDefinition],
    instance: dg.DagsterInstance,
    tags: dict[str, str],
    run_config: dict | None = None,
    raise_on_error: bool = False,
    checks: list | None = None,
) -> ExecutionResult:
    """Materialize ``assets`` in one run (``tags`` may carry a partition range) with the checks of those
    assets (``checks``, default all of theirs) on the executor that ``TRACER_EXECUTOR`` names; the
    multiprocess one needs a persistent instance (``DAGSTER_HOME``) and runs every check of the
    selected assets."""
    if ScaleSettings().executor == "in_process":
        keys = {a.key for a in assets}
        if checks is None:
            checks = [c for c in all_asset_checks() if any(k.asset_key in keys for k in c.check_keys)]
        return dg.materialize(
            [*ALL_ASSETS, *checks],
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
