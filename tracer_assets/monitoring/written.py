"""Read back exactly the files a run wrote, as stored (Arrow, before any pandas coercion)."""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa

from tracer_assets.lake import Lake
from tracer_assets.lake.store import PART_FILE
from tracer_assets.monitoring.table_checks import CheckReport, check_partitions

WHOLE_TABLE = "(whole table)"
# Tables a range run writes once, on the range's last day (a summary of the whole range).
LAST_DAY_TABLES = frozenset({"backtest_summary"})


def stored_parts(
    lake: Lake, table: str, keys: Iterable[str] | None, files: list[str] | None = None
) -> dict[str, list[pa.Table]]:
    """{partition key: its part files} for ``keys`` (the whole table when unpartitioned or None).
    ``files``: the table's part files as already listed (``Lake.files_by_table``), else listed here."""
    files = lake.table_files(table) if files is None else files  # one listing, local or S3
    whole = f"{table}/{PART_FILE}"
    if whole in files:
        return {WHOLE_TABLE: lake.read_arrow([whole])}
    by_key: dict[str, list[str]] = {}
    for f in files:
        by_key.setdefault(f.split("/")[1].removeprefix("date="), []).append(f)
    keys = sorted(by_key) if keys is None else list(keys)
    return read_parts(lake, {key: by_key[key] for key in keys if key in by_key})


def read_parts(lake: Lake, files: dict[str, list[str]]) -> dict[str, list[pa.Table]]:
    """{key: its part files ``files[key]`` (sorted) as stored}, all read in one call (an S3 lake
    fetches them concurrently)."""
    rels = {key: sorted(found) for key, found in files.items()}
    read = iter(lake.read_arrow([r for found in rels.values() for r in found]))
    return {key: [next(read) for _ in found] for key, found in rels.items()}


def check_written(
    lake: Lake, table: str, keys: Iterable[str] | None, files: list[str] | None = None
) -> CheckReport:
    """Check the partitions ``keys`` of ``table`` as they lie in the lake; a missing one is a problem.
    ``files``: the table's part files as already listed (a loop over days lists the lake once)."""
    keys = None if keys is None else sorted(set(keys))
    if keys and table in LAST_DAY_TABLES:
        keys = keys[-1:]
    parts = stored_parts(lake, table, keys, files)
    report = check_partitions(table, parts)
    if keys is not None and WHOLE_TABLE not in parts:
        report.problems += [f"{k}: partition missing" for k in keys if k not in parts]
    return report
