"""The nightly self-check: every table's partition of a day re-read from the lake and checked."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from tracer_assets.lake import Lake, new_id
from tracer_assets.lake.store import assemble, part_day
from tracer_assets.monitoring.digest_checks import digest_day_problems
from tracer_assets.monitoring.stored_frames import key_frames
from tracer_assets.monitoring.table_checks import check_each_partition
from tracer_assets.monitoring.written import read_parts

AUDIT_TABLE = "lake_audit"
AUDIT_COLUMNS = [
    "audit_id",
    "audit_day",
    "table_name",
    "rows",
    "passed",
    "problems",
    "event_ts",
    "available_ts",
]


def audit_day(lake: Lake, day: str, skip: frozenset[str] = frozenset()) -> pd.DataFrame:
    """One row per lake table holding a partition for ``day`` (the audit table and ``skip`` excepted).

    ``skip`` holds the weekly tables: their Monday partitions are written by a later run than the
    day's, so auditing them with the day would make the audit depend on run order.

    Timestamps come from the day (event at its start, available at its end), so a re-run of the
    audit over an unchanged lake writes identical rows.
    """
    return audit_days(lake, [day], skip)[day]


def audit_days(lake: Lake, days: list[str], skip: frozenset[str] = frozenset()) -> dict[str, pd.DataFrame]:
    """``audit_day`` of each of ``days``, listing the lake once and reading each table's files of the
    days in one call, their rows checked per run of files sharing a schema (not day by day)."""
    # one listing of the lake for the whole range: a listing per day and table would grow with the
    # square of the days
    wanted = set(days)
    by_table: dict[str, dict[str, list[str]]] = {}
    for table, rels in lake.files_by_table().items():
        if table == AUDIT_TABLE or table in skip:
            continue
        for rel in rels:
            if (key := part_day(rel)) in wanted:
                by_table.setdefault(table, {}).setdefault(key, []).append(rel)
    rows: dict[str, list[dict]] = {day: [] for day in days}
    for table, files in sorted(by_table.items()):
        parts = read_parts(lake, files)
        extra = _digest_problems(parts) if table == "digest" else {}
        for day, report in check_each_partition(table, parts).items():
            problems = report.problems + extra.get(day, [])
            rows[day].append(_row(day, table, report.rows, problems))
    return {day: pd.DataFrame(rows[day], columns=AUDIT_COLUMNS) for day in days}


def _digest_problems(parts: dict[str, list[pa.Table]]) -> dict[str, list[str]]:
    """The digest self-check's problems of each day's partition, on its rows as ``Lake.read`` gives them."""
    frames = dict(key_frames(parts))
    out = {}
    for day, tables in parts.items():
        # a day whose files differ in schema: Lake.read merges them in Arrow, not in pandas
        rows = frames[day] if day in frames else assemble("digest", tables)
        if rows is not None:  # None: no rows, nothing to check
            out[day] = [p for ps in digest_day_problems(rows).values() for p in ps]
    return out


def _row(day: str, table: str, rows: int, problems: list[str]) -> dict:
    start = pd.Timestamp(day, tz="UTC")
    return {
        "audit_id": new_id("lake_audit", day, table),
        "audit_day": day,
        "table_name": table,
        "rows": rows,
        "passed": not problems,
        "problems": "; ".join(problems),
        "event_ts": start,
        "available_ts": start + pd.Timedelta(days=1),
    }
