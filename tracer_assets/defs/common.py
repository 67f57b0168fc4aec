"""Shared plumbing for the thin asset wrappers: partition ranges, metadata, schema checks, UTC schedules."""

import inspect
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import dagster as dg
import pandas as pd

from tracer_assets.clock import utc
from tracer_assets.defs.catalog import column_schema
from tracer_assets.defs.resources import TracerResource
from tracer_assets.pipeline.window import DAY, clip_to_now

__all__ = ["DAY", "clip_to_now", "partition_days", "table_result", "utc_schedule", "window"]


def partition_days(context: dg.AssetExecutionContext) -> list[str]:
    """The daily keys this run covers (one, or a whole range in a single-run backfill)."""
    return list(context.partition_keys)


def window(context: dg.AssetExecutionContext) -> tuple[pd.Timestamp, pd.Timestamp]:
    """[start, end) of the run's partition range, UTC."""
    tw = context.partition_time_window
    return pd.Timestamp(tw.start).tz_convert("UTC"), pd.Timestamp(tw.end).tz_convert("UTC")


def utc_schedule(
    job: Any, cron: str, description: str
) -> Callable[[Callable[..., Any]], dg.ScheduleDefinition]:
    """``@dg.schedule`` on a UTC cron (every Tracer cron is UTC), named after the function, which gets
    the tick's scheduled time as a UTC timestamp (and the ``tracer`` resource when it has a ``tracer``
    parameter) and returns its run requests."""

    def decorate(fn: Callable[..., Any]) -> dg.ScheduleDefinition:
        def evaluate(context: dg.ScheduleEvaluationContext) -> Any:
            return fn(utc(context.scheduled_execution_time))

        def evaluate_with_tracer(context: dg.ScheduleEvaluationContext, tracer: TracerResource) -> Any:
            return fn(utc(context.scheduled_execution_time), tracer)

        wants_tracer = "tracer" in inspect.signature(fn).parameters
        return dg.schedule(
            name=fn.__name__,
            job=job,
            cron_schedule=cron,
            execution_timezone="UTC",
            description=description,
        )(evaluate_with_tracer if wants_tracer else evaluate)

    return decorate


PREVIEW_ROWS = 3
PREVIEW_CHARS = 40


def preview(df: pd.DataFrame, rows: int = PREVIEW_ROWS, chars: int = PREVIEW_CHARS) -> dg.MetadataValue:
    """A short markdown preview: a few rows, text cut to ``chars`` (object and pandas 3 string columns)."""
    if df.empty:
        return dg.MetadataValue.md("_no rows_")
    shown = df.head(rows).copy()
    for col in shown.columns:
        if shown[col].dtype == object or pd.api.types.is_string_dtype(shown[col].dtype):
            text = shown[col].astype(str)
            shown[col] = text.where(text.str.len() <= chars, text.str.slice(0, chars - 1) + "…")
    return dg.MetadataValue.md(shown.to_markdown(index=False))


PARTITION_MAP_MAX = 7  # a longer range summarises its row counts (Dagster copies the metadata per partition)


def rows_summary(per_partition: dict[str, int]) -> dict:
    """Rows per partition for a short range; for a long one (a backfill copies this into each of its
    partitions' events) the count, the empty partitions and the min, mean and max."""
    if len(per_partition) <= PARTITION_MAP_MAX:
        return dict(per_partition)
    counts = list(per_partition.values())
    return {
        "partitions": len(counts),
        "empty": sum(1 for c in counts if not c),
        "min": min(counts),
        "mean": round(sum(counts) / len(counts), 1),
        "max": max(counts),
    }


def table_result(
    table: str, df: pd.DataFrame, per_partition: dict[str, int] | None = None, **extra
) -> dg.MaterializeResult:
    """MaterializeResult with row counts, a preview, the column schema and any extra metadata."""
    metadata: dict = {"dagster/row_count": len(df), "preview": preview(df)}
    if per_partition is None or len(per_partition) <= PARTITION_MAP_MAX:
        # a long range leaves it out: the asset's spec carries the same schema (defs/catalog.py), and a
        # backfill would copy it into each of its partitions' events
        metadata["dagster/column_schema"] = column_schema(table)
    if per_partition:
        metadata["partitions_written"] = len(per_partition)
        metadata["rows_per_partition"] = dg.MetadataValue.json(rows_summary(per_partition))
    metadata.update(extra)
    return dg.MaterializeResult(metadata=metadata)


DAILY_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=26))
WEEKLY_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(days=8))
