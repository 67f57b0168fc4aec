"""The nightly self-check: every table's partition of a day re-read from the lake and checked."""

from __future__ import annotations

import pandas as pd

from tracer_assets.lake import Lake, new_id
from tracer_assets.lake.store import part_day
from tracer_assets.monitoring.digest_checks import digest_day_problems
from tracer_assets.monitoring.written import check_written

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
    """``audit_day`` of each of ``days``, listing the lake's tables and partitions once for all."""
    # one listing of the lake for the whole range, grouped by day: a listing per day and table would
    # grow with the square of the days
    by_day: dict[str, dict[str, list[str]]] = {}
    for table, rels in lake.files_by_table().items():
        if table == AUDIT_TABLE or table in skip:
            continue
        for rel in rels:
            if (key := part_day(rel)) is not None:
                by_day.setdefault(key, {}).setdefault(table, []).append(rel)
    return {day: _audit(lake, day, by_day.get(day, {})) for day in days}


def _audit(lake: Lake, day: str, files: dict[str, list[str]]) -> pd.DataFrame:
    """The day's rows; ``files``: each table's part files of the day (tables without one left out)."""
    start = pd.Timestamp(day, tz="UTC")
    rows = []
    for table, rels in sorted(files.items()):
        report = check_written(lake, table, [day], rels)
        problems = list(report.problems)
        if table == "digest":
            problems += [p for ps in digest_day_problems(lake.read("digest", day, day)).values() for p in ps]
        rows.append(
            {
                "audit_id": new_id("lake_audit", day, table),
                "audit_day": day,
                "table_name": table,
                "rows": report.rows,
                "passed": not problems,
                "problems": "; ".join(problems),
                "event_ts": start,
                "available_ts": start + pd.Timedelta(days=1),
            }
        )
    return pd.DataFrame(rows, columns=AUDIT_COLUMNS)
