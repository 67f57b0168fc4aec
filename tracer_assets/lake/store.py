"""Parquet lake: atomic hive-partitioned writes, point-in-time reads, DuckDB views.

Layout: ``<root>/<table>/date=YYYY-MM-DD/part-0.parquet`` for partitioned tables and
``<root>/<table>/part-0.parquet`` for whole tables. Parquet is the source of truth; DuckDB is
opened in memory over it, so analysts can query while runs write.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from tracer_assets.lake.atomic import atomic_write
from tracer_assets.lake.schemas import CONTRACT, TS

PART_FILE = "part-0.parquet"
_TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_PARTITION_FIELD = pa.field("date", pa.date32())
# DuckDB's own security settings for query connections, applied in this order after the lake is
# registered; lock_configuration last, so no statement can undo the others.
SANDBOX_SETTINGS = (
    ("enable_external_access", "false"),
    ("autoinstall_known_extensions", "false"),
    ("autoload_known_extensions", "false"),
    ("allow_community_extensions", "false"),
    ("allow_unsigned_extensions", "false"),
    ("allow_extension_repositories", "'forbidden'"),
    ("allow_persistent_secrets", "false"),
    ("enable_external_file_cache", "false"),
    ("lock_configuration", "true"),
)


class LakeSchemaError(ValueError):
    """A frame does not satisfy its table's contract."""


class LakeRootError(ValueError):
    """The lake root cannot be used: it is a file, missing for a reader, or read-only for a writer."""


def _day_str(day: date | datetime | str | pd.Timestamp) -> str:
    return pd.Timestamp(day).strftime("%Y-%m-%d")


def to_arrow(table: str, df: pd.DataFrame) -> pa.Table:
    """Cast a frame to its contract (required columns typed, timestamps UTC); extras inferred."""
    missing = [name for name, _ in CONTRACT.get(table, []) if name not in df.columns]
    if "event_ts" not in df.columns or "available_ts" not in df.columns:
        missing += [c for c in ("event_ts", "available_ts") if c not in df.columns and c not in missing]
    if missing:
        raise LakeSchemaError(f"table {table!r} is missing required columns {missing}")
    df = df.reset_index(drop=True)
    fields, arrays = [], []
    contract = dict(CONTRACT.get(table, []))
    for col in df.columns:
        series = df[col]
        target = contract.get(col)
        if target is None and (col.endswith("_ts") or pd.api.types.is_datetime64_any_dtype(series)):
            target = TS
        if target == TS:
            if len(series) and pd.api.types.is_datetime64_dtype(series) and series.dt.tz is None:
                raise LakeSchemaError(f"{table}.{col} holds naive timestamps; Tracer stores UTC only")
            series = pd.to_datetime(series, utc=True)
        try:
            arr = (
                pa.array(series, type=target, from_pandas=True)
                if target is not None
                else pa.array(series, from_pandas=True)
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise LakeSchemaError(f"{table}.{col} cannot be stored as {target}: {exc}") from exc
        # an all-null column stays Arrow "null": it merges with any type another partition has
        fields.append(pa.field(col, arr.type))
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def assemble(table: str, parts: list[pa.Table], columns: list[str] | None = None) -> pd.DataFrame:
    """One frame from a table's part files in order: empty parts only lend their columns, and a
    table with no part at all comes back with its contract columns."""
    tables = [t for t in parts if t.num_rows]
    if not tables and parts:
        return parts[0].to_pandas()  # empty, but with the columns the table was written with
    if not tables:
        cols = columns or [n for n, _ in CONTRACT.get(table, [])]
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    return pa.concat_tables(tables, promote_options="permissive").to_pandas()


class Lake:
    """The Parquet lake at ``root``. Plain Python: no Dagster import, so tests and replay use it too."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def check_root(self, writable: bool = True) -> Lake:
        """Fail at once, naming TRACER_LAKE_ROOT, when the root is a file or (for a writer) read-only.

        A root that does not exist yet is fine for a writer when its nearest existing parent is a
        writable folder (the first write creates it).
        """
        where = f"lake root {self.root} (TRACER_LAKE_ROOT)"
        existing = next((p for p in (self.root, *self.root.parents) if p.exists()), None)
        if existing is not None and not existing.is_dir():
            raise LakeRootError(f"{where}: {existing} is a file, not a folder")
        if writable and (existing is None or not os.access(existing, os.W_OK | os.X_OK)):
            raise LakeRootError(f"{where} is read-only: runs cannot write their partitions there")
        return self

    # ---- paths -----------------------------------------------------------------------
    def table_dir(self, table: str) -> Path:
        if not _TABLE_NAME.match(table):
            raise ValueError(f"bad table name {table!r}")
        return self.root / table

    def partition_path(self, table: str, day: date | str, part: str = "0") -> Path:
        """``part`` lets several writers share a partition (e.g. quarantine rows per source asset);
        each replaces only its own part file."""
        if not _TABLE_NAME.match(part) and not part.isdigit():
            raise ValueError(f"bad part name {part!r}")
        return self.table_dir(table) / f"date={_day_str(day)}" / f"part-{part}.parquet"

    # ---- writes ------------------------------------------------------------------------
    def _atomic_write(self, arrow: pa.Table, dest: Path) -> Path:
        return atomic_write(dest, lambda tmp: pq.write_table(arrow, tmp, compression="zstd"), durable=True)

    def write_partition(self, table: str, day: date | str, df: pd.DataFrame, part: str = "0") -> Path:
        """Replace one daily (or weekly, keyed by its Monday) partition (or one part of it), atomically."""
        return self._atomic_write(to_arrow(table, df), self.partition_path(table, day, part))

    def write_partitions(
        self, table: str, df: pd.DataFrame, days: Iterable[str], by: str = "event_ts", part: str = "0"
    ) -> dict[str, int]:
        """Split ``df`` by the UTC day of column ``by`` and replace every day in ``days``.

        Days in ``days`` with no rows get an empty partition, so a re-run that finds nothing
        also clears what an earlier run wrote there. Rows outside ``days`` are an error.
        """
        days = [_day_str(d) for d in days]
        keys = (
            pd.to_datetime(df[by], utc=True).dt.strftime("%Y-%m-%d") if len(df) else pd.Series([], dtype=str)
        )
        stray = sorted(set(keys) - set(days))
        if stray:
            raise LakeSchemaError(f"{table}: rows for days {stray[:3]} outside the partitions being written")
        counts = {}
        for day in days:
            rows = df[keys.values == day] if len(df) else df
            self.write_partition(table, day, rows, part)
            counts[day] = len(rows)
        return counts

    def write_table(self, table: str, df: pd.DataFrame) -> Path:
        """Replace an unpartitioned table whole."""
        return self._atomic_write(to_arrow(table, df), self.table_dir(table) / PART_FILE)

    # ---- reads -------------------------------------------------------------------------
    def partitions(self, table: str) -> list[str]:
        tdir = self.table_dir(table)
        if not tdir.exists():
            return []
        return sorted(p.name[5:] for p in tdir.glob("date=*") if any(p.glob("part-*.parquet")))

    def read(
        self,
        table: str,
        start: date | str | None = None,
        end: date | str | None = None,
        columns: list[str] | None = None,
    ) -> pd.DataFrame:
        """Rows of ``table`` from partitions in [start, end] (inclusive day keys); empty if none."""
        tdir = self.table_dir(table)
        if (tdir / PART_FILE).exists():
            return pq.read_table(tdir / PART_FILE, columns=columns).to_pandas()
        lo = _day_str(start) if start is not None else None
        hi = _day_str(end) if end is not None else None
        keys = [k for k in self.partitions(table) if (lo is None or k >= lo) and (hi is None or k <= hi)]
        files = [f for k in keys for f in sorted((tdir / f"date={k}").glob("part-*.parquet"))]
        return assemble(table, [pq.read_table(f, columns=columns) for f in files], columns)

    def tables(self) -> list[str]:
        if not self.root.exists():
            return []
        return sorted(
            p.name
            for p in self.root.iterdir()
            if p.is_dir()
            and _TABLE_NAME.match(p.name)
            and (any(p.glob("date=*/part-*.parquet")) or (p / PART_FILE).exists())
        )

    def _dataset(self, table: str) -> ds.Dataset | None:
        """The table's Parquet files as one Arrow dataset (schemas unified by name, hive ``date``)."""
        tdir = self.table_dir(table)
        if (tdir / PART_FILE).exists():
            return ds.dataset(str(tdir / PART_FILE), format="parquet")
        files = sorted(tdir.glob("date=*/part-*.parquet"))
        if not files:
            return None
        try:
            schema = pa.unify_schemas([pq.read_schema(f) for f in files], promote_options="permissive")
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise LakeSchemaError(f"table {table!r}: partitions disagree on column types: {exc}") from exc
        if _PARTITION_FIELD.name not in schema.names:
            schema = schema.append(_PARTITION_FIELD)
        partitioning = ds.partitioning(pa.schema([_PARTITION_FIELD]), flavor="hive")
        return ds.dataset(
            [str(f) for f in files],
            schema=schema,
            format="parquet",
            partitioning=partitioning,
            partition_base_dir=str(tdir),
        )

    def connect(self, deterministic: bool = False) -> duckdb.DuckDBPyConnection:
        """A sandboxed in-memory DuckDB with one view per lake table (no shared .duckdb file, no locks).

        Each table is registered as an Arrow dataset, then DuckDB's own settings shut every other door:
        no file access (``read_csv``, ``COPY``, ``ATTACH``, ``EXPORT``), no extension install or load,
        and a locked configuration, so a query can only read the lake and write nothing, whatever the
        parser in front of it misses.

        ``deterministic`` runs on one thread: parallel float aggregation can differ in the last bits
        between runs, and models written back to the lake must be byte-for-byte reproducible.
        """
        self.check_root(writable=False)
        con = duckdb.connect(":memory:", config={"threads": 1} if deterministic else {})
        try:
            for table in self.tables():
                dataset = self._dataset(table)
                if dataset is not None:
                    con.register(f"__lake_{table}", dataset)
                    con.execute(f'CREATE VIEW "{table}" AS SELECT * FROM "__lake_{table}"')
            for name, value in SANDBOX_SETTINGS:
                con.execute(f"SET {name} = {value}")
        except BaseException:
            con.close()
            raise
        return con

    def query(self, sql: str, deterministic: bool = False) -> pd.DataFrame:
        """Run ``sql`` in the sandbox of ``connect``: the lake's tables are readable, nothing else."""
        con = self.connect(deterministic)
        try:
            return con.execute(sql).df()
        finally:
            con.close()


def new_id(*parts: object) -> str:
    """A stable id from its parts (same parts, same id), so re-runs write identical rows."""
    return uuid.uuid5(uuid.NAMESPACE_URL, "|".join(str(p) for p in parts)).hex[:16]
