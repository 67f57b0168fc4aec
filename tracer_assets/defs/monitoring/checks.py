"""Blocking asset checks on the partitions a run wrote: contract, UTC, point-in-time, keys, ranges;
and the digest's self-check (no digit in the chat text, every section present)."""

import dagster as dg
from dagster._core.events import DagsterEventType

from tracer_assets.defs.resources import TracerResource
from tracer_assets.monitoring.digest_checks import digest_day_problems
from tracer_assets.monitoring.table_checks import CheckReport
from tracer_assets.monitoring.written import check_written

MAX_LISTED = 10


# The run's materializations read so far, by asset key: (run id, cursor, {key: partitions}). Each
# check reads only the events stored since the previous one, not the whole run's log again (a year's
# range run stores thousands of materializations).
_SEEN: dict[str, tuple[str | None, dict[dg.AssetKey, list[str | None]]]] = {}


def _run_partitions(instance: dg.DagsterInstance, run_id: str, key: dg.AssetKey) -> list[str | None]:
    cursor, by_key = _SEEN.get(run_id, (None, {}))
    while True:
        conn = instance.get_records_for_run(
            run_id, cursor=cursor, of_type=DagsterEventType.ASSET_MATERIALIZATION, limit=10_000
        )
        for record in conn.records:
            event = record.event_log_entry.dagster_event
            if event is not None and event.asset_key is not None:
                by_key.setdefault(event.asset_key, []).append(event.partition)
        cursor = conn.cursor
        if not conn.has_more:
            break
    _SEEN.clear()  # one run at a time
    _SEEN[run_id] = (cursor, by_key)
    return list(by_key.get(key, []))


def written_partitions(context: dg.AssetCheckExecutionContext, key: dg.AssetKey) -> list[str] | None:
    """The partitions of ``key`` materialized in this run (or, for a check run on its own, in the run
    of the latest materialization). None: the asset is unpartitioned (check the whole table)."""
    instance = context.instance
    parts = _run_partitions(instance, context.run.run_id, key)
    if not parts:
        latest = instance.get_latest_materialization_event(key)
        if latest is None:
            return []
        parts = _run_partitions(instance, latest.run_id, key) or [latest.dagster_event.partition]
    keys = sorted({p for p in parts if p})
    return keys or None


def report_result(report: CheckReport, extra: dict | None = None) -> dg.AssetCheckResult:
    shown = (
        report.partitions
        if len(report.partitions) <= MAX_LISTED
        else [*report.partitions[:3], "...", *report.partitions[-3:]]
    )
    return dg.AssetCheckResult(
        passed=report.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=report.summary()[:1000],
        metadata={
            "partitions_checked": len(report.partitions),
            "partitions": ", ".join(shown) or "none",
            "rows_checked": report.rows,
            "problems": len(report.problems),
            "first_problems": dg.MetadataValue.md(
                "\n".join(f"- {p}" for p in report.problems[:MAX_LISTED]) or "none"
            ),
            **(extra or {}),
        },
    )


def build_table_check(asset: dg.AssetsDefinition) -> dg.AssetChecksDefinition:
    """A blocking check of ``asset``'s table on exactly the partitions this run wrote."""
    table = asset.key.path[-1]

    @dg.asset_check(
        asset=asset,
        name=f"{table}_written_partitions",
        blocking=True,
        description=f"The {table} partitions this run wrote: contract columns and types, UTC, "
        "available_ts >= event_ts, no duplicate keys, values in range.",
    )
    def _check(context: dg.AssetCheckExecutionContext, tracer: TracerResource) -> dg.AssetCheckResult:
        return report_result(check_written(tracer.lake, table, written_partitions(context, asset.key)))

    return _check


def build_digest_self_check(digest_asset: dg.AssetsDefinition) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=digest_asset,
        name="digest_self_check",
        blocking=True,
        description="Each digest written in this run: no digit in the chat text, every section with rows "
        "has its heading (and none without), a quiet day says so, the degraded line matches the flag.",
    )
    def _check(context: dg.AssetCheckExecutionContext, tracer: TracerResource) -> dg.AssetCheckResult:
        days = written_partitions(context, digest_asset.key) or []
        problems = []
        for day in days:
            per_day = digest_day_problems(tracer.lake.read("digest", day, day))
            problems += [f"{d}: {p}" for d, ps in per_day.items() for p in ps]
            if day not in per_day:
                problems.append(f"{day}: no digest rows")
        return report_result(CheckReport("digest", days, problems=problems))

    return _check
