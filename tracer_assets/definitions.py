"""The one Definitions object: assets per domain, checks, jobs, schedules, sensors, resources.

Each ``defs/<domain>/assets.py`` module contributes its assets, and may export ``CHECKS``,
``SENSORS``, ``SCHEDULES`` and ``JOBS`` lists that are collected here. Newer domains declare their
own ``dg.Definitions`` (``defs/<domain>/definitions.py``, no resources) and are listed in
``DOMAIN_DEFS``; the root merges them and supplies the one resource and the executor.
"""

import dagster as dg

from tracer_assets.defs.analytics.assets import build_sql_assets
from tracer_assets.defs.catalog import describe_assets
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
# owners and described column schemas for every asset, applied centrally (defs/catalog.py)
ALL_ASSETS = list(describe_assets([*CORE_ASSETS, *SQL_ASSETS]))


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
        # one process per run: the providers' circuit breakers then carry across assets in a run
        executor=dg.in_process_executor,
    )


defs = build_definitions()
