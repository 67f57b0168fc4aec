"""The one Definitions object: the domains' own ``defs/<domain>/definitions.py`` merged, plus what
spans them (the analyst SQL models, the schema check of every table), the one resource and the
executor. A new domain declares its ``dg.Definitions`` (no resources, no executor) and is listed in
``DOMAIN_DEFS``.
"""

import dagster as dg

from tracer_assets.defs.analytics.assets import build_sql_assets
from tracer_assets.defs.automation import definitions as automation
from tracer_assets.defs.backtest import definitions as backtest_domain
from tracer_assets.defs.digest import definitions as digest
from tracer_assets.defs.evaluation import definitions as evaluation
from tracer_assets.defs.market import definitions as market
from tracer_assets.defs.narratives import definitions as narratives
from tracer_assets.defs.polymarket import definitions as polymarket
from tracer_assets.defs.research import definitions as research
from tracer_assets.defs.resources import TracerResource
from tracer_assets.defs.schema_checks import build_schema_check
from tracer_assets.defs.sentiment import definitions as sentiment
from tracer_assets.defs.signals import definitions as signals
from tracer_assets.defs.walkforward import definitions as walkforward

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
    backtest_domain.defs,
    walkforward.defs,
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
