"""What the UI shows about every asset, applied centrally: owners by group and a described column schema.

Asset modules declare description, group and kinds; this module adds the cross-cutting catalog
metadata (``owners`` and ``dagster/column_schema`` from the lake contract and its column docs), so every
asset page tells the same kind of story without each decorator repeating it.
"""

from collections.abc import Iterable, Sequence

import dagster as dg

from tracer_assets.lake.schemas import COLUMN_DOCS, table_columns

# who answers for an asset group; a group not listed falls back to DEFAULT_OWNER
GROUP_OWNERS: dict[str, str] = {
    "market": "team:data",
    "narratives": "team:data",
    "sentiment": "team:research",
    "signals": "team:research",
    "digest": "team:product",
    "polymarket": "team:research",
    "evaluation": "team:research",
    "analytics": "team:analytics",
    "backtest": "team:research",
    "ops": "team:data",
}
DEFAULT_OWNER = "team:research"


def column_schema(table: str) -> dg.TableSchema:
    """The table's contract (or documented) columns with their Arrow types and descriptions."""
    docs = COLUMN_DOCS.get(table, {})
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name, str(dtype), description=docs.get(name))
            for name, dtype in table_columns(table)
        ]
    )


def describe_spec(spec: dg.AssetSpec) -> dg.AssetSpec:
    """Add owners (by group) and the described column schema to one asset spec."""
    owners = list(spec.owners) or [GROUP_OWNERS.get(spec.group_name or "", DEFAULT_OWNER)]
    metadata = dict(spec.metadata)
    schema = column_schema(spec.key.path[-1])
    if schema.columns and "dagster/column_schema" not in metadata:
        metadata["dagster/column_schema"] = schema
    return spec.replace_attributes(owners=owners, metadata=metadata)


def describe_assets(assets: Iterable[dg.AssetsDefinition]) -> Sequence[dg.AssetsDefinition]:
    return dg.map_asset_specs(describe_spec, list(assets))
