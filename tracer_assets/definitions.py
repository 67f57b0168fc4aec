"""The one Definitions object: the domains' own ``defs/<domain>/definitions.py`` merged, plus what
spans them (the analyst SQL models, the schema check of every table), the one resource and the
executor. A new domain declares its ``dg.Definitions`` (no resources, no executor) and is listed in
``DOMAIN_DEFS``.
"""

import dagster as dg

from tracer_assets.defs.analytics.assets import build_sql_assets
from tracer_assets.defs.automation.definitions import defs as automation_defs
from tracer_assets.defs.digest.definitions import defs as digest_defs
from tracer_assets.defs.evaluation.definitions import defs as evaluation_defs
from tracer_assets.defs.market.definitions import defs as market_defs
from tracer_assets.defs.narratives.definitions import defs as narratives_defs
from tracer_assets.defs.polymarket.definitions import defs as polymarket_defs
from tracer_assets.defs.resources import TracerResource
from tracer_assets.defs.schema_checks import build_schema_check
from tracer_assets.defs.sentiment.definitions import defs as sentiment_defs
from tracer_assets.defs.signals.definitions import defs as signals_defs

# per-domain Definitions objects (defs/<domain>/definitions.py), merged into the root
DOMAIN_DEFS: list[dg.Definitions] = [
    market_defs,
    narratives_defs,
    sentiment_defs,
    signals_defs,
    digest_defs,
    polymarket_defs,
    evaluation_defs,
    automation_defs,
]

CORE_ASSETS: list[dg.AssetsDefinition] = [a for d in DOMAIN_DEFS for a in (d.assets or [])]
SQL_ASSETS = build_sql_assets({a.key.path[-1] for a in CORE_ASSETS})
ALL_ASSETS = [*CORE_ASSETS, *SQL_ASSETS]


def build_definitions(lake_root: str | None = None) -> dg.Definitions:
    """Definitions with the resource pointed at ``lake_root`` (the settings' lake when None)."""
    root = dg.Definitions(
        assets=SQL_ASSETS,
        asset_checks=[build_schema_check(a) for a in CORE_ASSETS],
        resources={"tracer": TracerResource(lake_root=lake_root)},
        # one process per run: the providers' circuit breakers then carry across assets in a run
        executor=dg.in_process_executor,
    )
    return dg.Definitions.merge(*DOMAIN_DEFS, root)


defs = build_definitions()
