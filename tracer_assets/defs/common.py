"""Shared plumbing for the thin asset wrappers: partition ranges, metadata, schema checks."""

from datetime import timedelta

import dagster as dg
import pandas as pd

from tracer_assets.lake.schemas import CONTRACT
from tracer_assets.pipeline.window import DAY, clip_to_now

__all__ = ["DAY", "clip_to_now", "partition_days", "table_result", "window"]


def partition_days(context: dg.AssetExecutionContext) -> list[str]:
    """The daily keys this run covers (one, or a whole range in a single-run backfill)."""
    return list(context.partition_keys)


def window(context: dg.AssetExecutionContext) -> tuple[pd.Timestamp, pd.Timestamp]:
    """[start, end) of the run's partition range, UTC."""
    tw = context.partition_time_window
    return pd.Timestamp(tw.start).tz_convert("UTC"), pd.Timestamp(tw.end).tz_convert("UTC")


def column_schema(table: str) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[dg.TableColumn(name, str(dtype)) for name, dtype in CONTRACT.get(table, [])]
    )


def preview(df: pd.DataFrame, rows: int = 5) -> dg.MetadataValue:
    if df.empty:
        return dg.MetadataValue.md("_no rows_")
    shown = df.head(rows).copy()
    for col in shown.columns:
        if shown[col].dtype == object or pd.api.types.is_string_dtype(shown[col]):  # pandas 3: str dtype
            shown[col] = shown[col].astype(str).str.slice(0, 60)
    return dg.MetadataValue.md(shown.to_markdown(index=False))


def table_result(
    table: str, df: pd.DataFrame, per_partition: dict[str, int] | None = None, **extra
) -> dg.MaterializeResult:
    """MaterializeResult with row counts, a preview, the column schema and any extra metadata."""
    metadata: dict = {
        "dagster/row_count": len(df),
        "dagster/column_schema": column_schema(table),
        "preview": preview(df),
    }
    if per_partition:
        metadata["partitions_written"] = len(per_partition)
        metadata["rows_per_partition"] = dg.MetadataValue.json(per_partition)
    metadata.update(extra)
    return dg.MaterializeResult(metadata=metadata)


DAILY_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=26))
WEEKLY_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(days=8))
