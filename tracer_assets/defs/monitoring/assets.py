"""The lake self-check asset (nightly for yesterday, monthly over the previous month)."""

import dagster as dg
import pandas as pd

from tracer_assets.defs.common import partition_days, table_result
from tracer_assets.defs.partitions import CADENCE_TAG, daily_partitions, single_run, weekly_partitions
from tracer_assets.defs.resources import TracerResource
from tracer_assets.defs.skip import skip_unchanged
from tracer_assets.monitoring.audit import AUDIT_COLUMNS, AUDIT_TABLE, audit_days


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    # its own cadence, so the hourly agent_job (which selects cadence=daily) does not run it
    tags={CADENCE_TAG: "nightly"},
    # after the day's last writers when it shares a run with them (the demo's daily range)
    deps=["digest", "eval_observations", "hit_rate_trend"],
    group_name="monitoring",
    kinds={"python", "parquet"},
    description="Self-check of every lake table's partition of the day, re-read from disk: contract, UTC, "
    "point-in-time order, duplicate keys, value ranges, the digest's text. One row per table and day.",
)
@skip_unchanged
def lake_audit(context: dg.AssetExecutionContext, tracer: TracerResource) -> dg.MaterializeResult:
    from tracer_assets.definitions import CORE_ASSETS  # the root imports this module: read it at run time

    weekly = frozenset(a.key.path[-1] for a in CORE_ASSETS if a.partitions_def == weekly_partitions)
    days = partition_days(context)
    frames = list(audit_days(tracer.lake, days, weekly).values())
    df = (
        pd.concat([f for f in frames if len(f)], ignore_index=True)
        if any(len(f) for f in frames)
        else (pd.DataFrame(columns=AUDIT_COLUMNS))
    )
    counts = tracer.lake.write_partitions(AUDIT_TABLE, df, days)
    failed = df[~df["passed"].astype(bool)] if len(df) else df
    if len(failed):
        context.log.warning(f"lake_audit: {len(failed)} table-days failed: {', '.join(failed['table_name'])}")
    return table_result(
        AUDIT_TABLE,
        df,
        counts,
        failed_table_days=len(failed),
        failed=dg.MetadataValue.md(
            "\n".join(
                f"- {r.audit_day} {r.table_name}: {r.problems[:200]}" for r in failed.head(20).itertuples()
            )
            or "none"
        ),
    )


@dg.asset_check(
    asset=lake_audit,
    name="lake_audit_clean",
    description="Every table-day the audit run covered passed.",
)
def lake_audit_clean(context: dg.AssetCheckExecutionContext, tracer: TracerResource) -> dg.AssetCheckResult:
    from tracer_assets.defs.monitoring.checks import written_partitions

    days = written_partitions(context, lake_audit.key) or []
    audit = (
        tracer.lake.read(AUDIT_TABLE, min(days), max(days)) if days else pd.DataFrame(columns=AUDIT_COLUMNS)
    )
    audit = audit[audit["audit_day"].isin(days)] if len(audit) else audit
    failed = audit[~audit["passed"].astype(bool)] if len(audit) else audit
    return dg.AssetCheckResult(
        passed=not len(failed),
        metadata={"table_days": len(audit), "failed": len(failed)},
        description="; ".join(f"{r.audit_day} {r.table_name}" for r in failed.head(10).itertuples()) or "ok",
    )
