"""Analytics domain: each ``tracer_assets/analytics/sql/*.sql`` file becomes an asset whose deps are its table refs."""

import hashlib
from pathlib import Path

import dagster as dg

from tracer_assets.analytics.sql_models import MODELS_DIR, SqlModel, load_models
from tracer_assets.defs.common import table_result
from tracer_assets.defs.resources import TracerResource
from tracer_assets.defs.skip import skip_unchanged


def build_sql_asset(model: SqlModel, known: set[str]) -> dg.AssetsDefinition:
    unknown = [t for t in model.upstream if t not in known]
    if unknown:
        raise ValueError(f"{model.path.name} reads unknown tables {unknown}; known: {sorted(known)}")

    @dg.asset(
        name=model.name,
        deps=[dg.AssetKey(t) for t in model.upstream],
        group_name="analytics",
        kinds={"duckdb", "sql", "parquet"},
        description=f"Analyst model {model.path.name}: reads {', '.join(model.upstream)}.",
        metadata={"sql": dg.MetadataValue.md(f"```sql\n{model.sql}\n```"), "path": str(model.path)},
        code_version=hashlib.sha256(model.sql.encode()).hexdigest()[:12],
    )
    @skip_unchanged
    def _sql_asset(context: dg.AssetExecutionContext, tracer: TracerResource) -> dg.MaterializeResult:
        df = tracer.lake.query(model.sql, deterministic=True)
        tracer.lake.write_table(model.name, df)
        return table_result(model.name, df)

    return _sql_asset


def build_sql_assets(known_tables: set[str], folder: Path = MODELS_DIR) -> list[dg.AssetsDefinition]:
    """SQL assets in dependency order, so one model may read another."""
    models = load_models(folder)
    names = {m.name for m in models}
    return [build_sql_asset(m, known_tables | names) for m in models]
