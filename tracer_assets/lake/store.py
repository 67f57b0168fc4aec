"""Parquet lake: hive-partitioned writes that replace whole files, point-in-time reads, DuckDB views.

Layout: ``<root>/<table>/date=YYYY-MM-DD/part-0.parquet`` for partitioned tables and
``<root>/<table>/part-0.parquet`` for whole tables, where ``<root>`` is a local folder or
``s3://bucket/prefix`` (see ``lake/fs.py``). Parquet is the source of truth; DuckDB is opened in
memory over it, so analysts can query while runs write.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path, PurePosixPath

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import sqlglot
from sqlglot import exp

from tracer_assets.lake.atomic import atomic_write, atomic_write_bytes, durable_batch
from tracer_assets.lake.fs import LakeConfigError, aws_env, open_location
from tracer_assets.lake.schemas import CONTRACT, TS
from tracer_assets.lake.tempfiles import TEMP_PREFIX, sweep_temp_files
from tracer_assets.settings import ScaleSettings

PART_FILE = "part-0.parquet"
_TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# a table's files: <table>/part-0.parquet (whole) or <table>/date=YYYY-MM-DD/part-<name>.parquet
_PRUNE_MAX_DAYS = 800  # a bounded read lists at most this many day folders instead of the table
_PART = re.compile(r"^[a-z][a-z0-9_]*/(?:date=(?P<day>\d{4}-\d{2}-\d{2})/part-[a-z0-9_]+|part-0)\.parquet$")
HIVE_DATE = ds.partitioning(pa.schema([("date", pa.date32())]), flavor="hive")
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


class LakeError(RuntimeError):
    """A lake operation that its storage cannot do (e.g. a local path of an s3:// lake)."""


class LakeRootError(ValueError):
    """The lake root cannot be used: it is a file, missing for a reader, or read-only for a writer."""


def _day_str(day: date | datetime | str | pd.Timestamp) -> str:
    return pd.Timestamp(day).strftime("%Y-%m-%d")


def _target(contract: dict, col: str, series: pd.Series) -> pa.DataType | None:
    target = contract.get(col)
    if target is None and (col.endswith("_ts") or pd.api.types.is_datetime64_any_dtype(series)):
        target = TS
    return target


def _column(table: str, col: str, series: pd.Series, target: pa.DataType | None) -> pa.Array:
    if target == TS:
        if len(series) and pd.api.types.is_datetime64_dtype(series) and series.dt.tz is None:
            raise LakeSchemaError(f"{table}.{col} holds naive timestamps; Tracer stores UTC only")
        series = pd.to_datetime(series, utc=True)
    try:
        return (
            pa.array(series, type=target, from_pandas=True)
            if target is not None
            else pa.array(series, from_pandas=True)
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise LakeSchemaError(f"{table}.{col} cannot be stored as {target}: {exc}") from exc


def to_arrow(table: str, df: pd.DataFrame, converted: dict[str, pa.Array] | None = None) -> pa.Table:
    """Cast a frame to its contract (required columns typed, timestamps UTC); extras inferred.
    ``converted``: columns already cast (rows in the frame's order), used as given."""
    missing = [name for name, _ in CONTRACT.get(table, []) if name not in df.columns]
    if "event_ts" not in df.columns or "available_ts" not in df.columns:
        missing += [c for c in ("event_ts", "available_ts") if c not in df.columns and c not in missing]
    if missing:
        raise LakeSchemaError(f"table {table!r} is missing required columns {missing}")
    df = df.reset_index(drop=True)
    fields, arrays = [], []
    contract = dict(CONTRACT.get(table, []))
    for col in df.columns:
        if converted is not None and col in converted:
            arr = converted[col]
        else:
            arr = _column(table, col, df[col], _target(contract, col, df[col]))
        # an all-null column stays Arrow "null": it merges with any type another partition has
        fields.append(pa.field(col, arr.type))
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def typed_columns(table: str, df: pd.DataFrame) -> dict[str, pa.Array]:
    """The columns of ``df`` whose stored type does not depend on which rows are stored (a contract or
    timestamp type, not Python objects), cast once for all rows: a range's days are slices of these
    instead of a cast per day. Inferred and object columns are left to each day (an all-null day
    stays Arrow "null", and a string's format is read from that day's rows, as before)."""
    contract = dict(CONTRACT.get(table, []))
    out = {}
    for col in df.columns:
        series = df[col]
        target = _target(contract, col, series)
        if target is not None and series.dtype != object:
            out[col] = _column(table, col, series, target)
    return out


def arrow_by_day(
    table: str, df: pd.DataFrame, days: Iterable[str], by: str
) -> Iterator[tuple[str, pa.Table]]:
    """``df`` split by the UTC day of column ``by`` into one contract-cast Arrow table per day of
    ``days`` (every day, empty or not, each as ``to_arrow`` casts that day's rows alone); rows outside
    ``days`` are an error. The rows are grouped by day once (a stable sort keeps each day's order) and
    each day is a zero-copy slice: a mask or a gather per day would scan the whole range once a day."""
    days = [_day_str(d) for d in days]
    keys = (
        pd.to_datetime(df[by], utc=True).dt.strftime("%Y-%m-%d").to_numpy() if len(df) else np.array([], str)
    )
    stray = sorted(set(keys) - set(days))
    if stray:
        raise LakeSchemaError(f"{table}: rows for days {stray[:3]} outside the partitions being written")
    codes, uniques = pd.factorize(keys)
    order = np.argsort(codes, kind="stable")
    grouped = df.iloc[order]
    starts = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    span = {day: (int(starts[i]), int(starts[i + 1])) for i, day in enumerate(uniques)}
    typed = typed_columns(table, grouped) if len(df) else {}
    for day in days:
        a, z = span.get(day, (0, 0))
        yield day, to_arrow(table, grouped.iloc[a:z], {c: arr.slice(a, z - a) for c, arr in typed.items()})


def read_parquet(source: str | pa.BufferReader, columns: list[str] | None, name: str = "") -> pa.Table:
    """One Parquet file as an Arrow table, as ``pq.read_table`` gives it, through the file reader alone
    (``read_table`` builds a dataset per call: about twice the CPU on a lake's small files). A
    requested column the file lacks is an error, as with ``read_table`` (the file reader drops it)."""
    with pq.ParquetFile(source) as f:
        if columns is not None:
            missing = [c for c in columns if c not in f.schema_arrow.names]
            if missing:
                raise pa.ArrowInvalid(f"No match for column {missing[0]!r} in {name or source}")
        return f.read(columns=columns, use_threads=False)  # small files: threads cost more than they give


def assemble(table: str, parts: list[pa.Table], columns: list[str] | None = None) -> pd.DataFrame:
    """One frame from a table's part files in order: empty parts only lend their columns, and a
    table with no part at all comes back with its contract columns."""
    tables = [t for t in parts if t.num_rows]
    if not tables and parts:
        return parts[0].to_pandas()  # empty, but with the columns the table was written with
    if not tables:
        cols = columns or [n for n, _ in CONTRACT.get(table, [])]
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    arrow = pa.concat_tables(tables, promote_options="permissive")
    return _contiguous(arrow).to_pandas()


_combine_chunks = pa.ChunkedArray.combine_chunks


def _contiguous(arrow: pa.Table) -> pa.Table:
    """``arrow`` with each string column in one chunk. pandas keeps Arrow-backed strings as they come, one
    chunk per part file, and selecting rows (``take``) from a chunked column costs time in its number of
    chunks, so per-day slices of a long range's read cost the square of its days. Other columns become
    contiguous numpy arrays in ``to_pandas`` anyway. A column too large for one chunk stays chunked."""
    columns = list(arrow.columns)
    for i, col in enumerate(columns):
        if col.num_chunks > 1 and (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
            with contextlib.suppress(pa.ArrowInvalid, pa.ArrowCapacityError):  # over 2 GiB of strings
                columns[i] = _combine_chunks(col)
    return pa.Table.from_arrays(columns, schema=arrow.schema)


class Lake:
    """The Parquet lake at ``root`` (a folder or ``s3://bucket/prefix``). Plain Python: no Dagster import,
    so tests and replay use it too.

    Every file under the root, tables or not (raw zone, artifacts), goes through the file API here
    (``write_bytes``, ``read_bytes``, ``exists``, ``listdir``, ``find``, ``delete``), which is atomic
    locally (a ``.tmp-<pid>-`` file + fsync + rename, see ``lake/atomic.py``) and one object PUT on S3.
    """

    def __init__(self, root: str | Path, scale: ScaleSettings | None = None):
        self.location = open_location(root)
        self.fs = self.location.fs
        self.scale = scale

    def __repr__(self) -> str:
        return f"Lake({self.url!r})"

    def check_root(self, writable: bool = True) -> Lake:
        """Fail at once, naming TRACER_LAKE_ROOT, when the root is a file or (for a writer) read-only.

        A root that does not exist yet is fine for a writer when its nearest existing parent is a
        writable folder (the first write creates it). An S3 root is checked by its first request
        (credentials and bucket policy decide there, not the local filesystem).
        """
        if not self.is_local:
            return self
        root = self.root
        where = f"lake root {root} (TRACER_LAKE_ROOT)"
        existing = next((p for p in (root, *root.parents) if p.exists()), None)
        if existing is not None and not existing.is_dir():
            raise LakeRootError(f"{where}: {existing} is a file, not a folder")
        if writable and (existing is None or not os.access(existing, os.W_OK | os.X_OK)):
            raise LakeRootError(f"{where} is read-only: runs cannot write their partitions there")
        return self

    # ---- where things are ----------------------------------------------------------------
    @property
    def url(self) -> str:
        """The root as a user writes it: an absolute folder, or ``s3://bucket/prefix``."""
        return self.location.url(self.location.base)

    @property
    def is_local(self) -> bool:
        return self.location.is_local

    @property
    def root(self) -> Path:
        """The root folder of a local lake; a remote lake has none (use the file API)."""
        if not self.is_local:
            raise LakeError(f"{self.url} is not a local folder: use Lake.write_bytes/read_bytes/url")
        return Path(self.location.base)

    def _abs(self, relpath: str) -> str:
        rel = str(relpath).replace("\\", "/").strip("/")
        if not rel:
            return self.location.base
        if any(part in ("", ".", "..") for part in rel.split("/")):
            raise ValueError(f"bad lake path {relpath!r}")
        return f"{self.location.base}/{rel}"

    def uri(self, relpath: str) -> str:
        """Where ``relpath`` lives, for metadata and messages (an absolute path or an s3:// URL)."""
        return self.location.url(self._abs(relpath))

    def table_key(self, table: str) -> str:
        if not _TABLE_NAME.match(table):
            raise ValueError(f"bad table name {table!r}")
        return table

    def partition_key(self, table: str, day: date | str, part: str = "0") -> str:
        """``part`` lets several writers share a partition (e.g. quarantine rows per source asset);
        each replaces only its own part file."""
        if not _TABLE_NAME.match(part) and not part.isdigit():
            raise ValueError(f"bad part name {part!r}")
        return f"{self.table_key(table)}/date={_day_str(day)}/part-{part}.parquet"

    def table_dir(self, table: str) -> Path:
        return self.root / self.table_key(table)

    def partition_path(self, table: str, day: date | str, part: str = "0") -> Path:
        return self.root / self.partition_key(table, day, part)

    # ---- the file API --------------------------------------------------------------------
    def path(self, relpath: str) -> LakePath:
        """A file or folder under the root, with ``/``, ``parent``, ``name`` like ``pathlib``."""
        self._abs(relpath)  # validates
        return LakePath(self, str(relpath).strip("/"))

    def write_bytes(self, relpath: str, data: bytes) -> str:
        """Replace the file at ``relpath`` whole (atomic rename locally, one PUT on S3); returns its uri."""
        path = self._abs(relpath)
        if self.is_local:
            atomic_write_bytes(path, data)
        else:
            self.fs.pipe_file(path, data)
        return self.location.url(path)

    def write_text(self, relpath: str, text: str) -> str:
        return self.write_bytes(relpath, text.encode("utf-8"))

    def read_bytes(self, relpath: str) -> bytes:
        return self.fs.cat_file(self._abs(relpath))

    def exists(self, relpath: str) -> bool:
        return self.fs.exists(self._abs(relpath))

    def listdir(self, relpath: str = "") -> list[str]:
        """Names directly under ``relpath`` (files and folders), sorted; empty when it does not exist."""
        try:
            entries = self.fs.ls(self._abs(relpath), detail=False)
        except (FileNotFoundError, NotADirectoryError):
            return []
        names = {str(e).rstrip("/").rsplit("/", 1)[-1] for e in entries}
        return sorted(n for n in names if n and not n.startswith(TEMP_PREFIX))

    def find(self, relpath: str = "") -> list[str]:
        """Every file under ``relpath``, as paths relative to the root, sorted (temp files left out)."""
        base = self.location.base + "/"
        try:
            found = self.fs.find(self._abs(relpath))
        except FileNotFoundError:
            return []
        rels = (str(p)[len(base) :] for p in found if str(p).startswith(base))
        return sorted(r for r in rels if not r.rsplit("/", 1)[-1].startswith(TEMP_PREFIX))

    def delete(self, relpath: str) -> None:
        """Remove a file or a folder with everything under it; nothing to remove is fine."""
        path = self._abs(relpath)
        try:
            if self.fs.exists(path):
                self.fs.rm(path, recursive=True)
        except FileNotFoundError:
            pass

    # ---- writes ------------------------------------------------------------------------
    def _write_arrow(self, arrow: pa.Table, relpath: str) -> str:
        if self.is_local:  # streamed into the temp file, fsynced, renamed
            path = self._abs(relpath)
            atomic_write(path, lambda tmp: pq.write_table(arrow, tmp, compression="zstd"), durable=True)
            return path
        sink = pa.BufferOutputStream()
        pq.write_table(arrow, sink, compression="zstd")
        return self.write_bytes(relpath, sink.getvalue().to_pybytes())

    def write_partition(self, table: str, day: date | str, df: pd.DataFrame, part: str = "0") -> str:
        """Replace one daily (or weekly, keyed by its Monday) partition (or one part of it) whole."""
        return self._write_arrow(to_arrow(table, df), self.partition_key(table, day, part))

    def write_partitions(
        self, table: str, df: pd.DataFrame, days: Iterable[str], by: str = "event_ts", part: str = "0"
    ) -> dict[str, int]:
        """Split ``df`` by the UTC day of column ``by`` and replace every day in ``days``.

        Days in ``days`` with no rows get an empty partition, so a re-run that finds nothing
        also clears what an earlier run wrote there. Rows outside ``days`` are an error.
        """
        counts = {}
        with self.batch():
            for day, arrow in arrow_by_day(table, df, days, by):
                self._write_arrow(arrow, self.partition_key(table, day, part))
                counts[day] = arrow.num_rows
        return counts

    def batch(self) -> contextlib.AbstractContextManager:
        """Writes inside become visible together when the block ends, made durable once for all
        (``lake/atomic.py``: each file is still old or whole-new after a crash); nothing inside may read
        them back before then. On S3 each write is its own PUT at once, as outside a batch."""
        return durable_batch()

    def write_table(self, table: str, df: pd.DataFrame) -> str:
        """Replace an unpartitioned table whole."""
        return self._write_arrow(to_arrow(table, df), f"{self.table_key(table)}/{PART_FILE}")

    def delete_table(self, table: str) -> None:
        self.delete(self.table_key(table))

    def sweep_temp_files(self, max_age_seconds: float, extra_roots: Iterable[str | Path] = ()) -> list[Path]:
        """Remove temp files a crashed writer left under the lake (and ``extra_roots``); see tempfiles.

        An S3 lake has none (each file is one PUT), so only ``extra_roots`` are swept there.
        """
        roots = [self.root] if self.is_local else []
        return sweep_temp_files([*roots, *extra_roots], max_age_seconds).removed

    # ---- reads -------------------------------------------------------------------------
    def _read_files(self, rels: list[str], columns: list[str] | None) -> list[pa.Table]:
        """Parquet files as Arrow tables, in order; an S3 lake fetches them concurrently, one GET each."""
        if self.is_local:
            return [read_parquet(self._abs(r), columns) for r in rels]
        paths = [self._abs(r) for r in rels]
        blobs = self.fs.cat(paths, on_error="raise") if paths else {}
        if len(paths) == 1 and not isinstance(blobs, dict):
            blobs = {paths[0]: blobs}
        return [read_parquet(pa.BufferReader(blobs[p]), columns, p) for p in paths]

    def read_arrow(self, rels: list[str], columns: list[str] | None = None) -> list[pa.Table]:
        """Parquet files (paths relative to the root) as stored, before any pandas coercion."""
        return self._read_files(rels, columns)

    def table_files(self, table: str) -> list[str]:
        """Part files of ``table`` relative to the root, sorted (its whole-table file, or its partitions')."""
        return self._table_files(table)

    def _table_files(self, table: str) -> list[str]:
        """Part files of ``table`` relative to the root (its whole-table file, or its partitions')."""
        return [f for f in self.find(self.table_key(table)) if _PART.match(f)]

    def partitions(self, table: str) -> list[str]:
        keys = {m.group("day") for f in self._table_files(table) if (m := _PART.match(f)) and m.group("day")}
        return sorted(keys)

    def _files_between(self, table: str, lo: str, hi: str) -> list[str] | None:
        """Partition pruning for a local lake: the part files of the day folders in [lo, hi] (sorted,
        as ``_table_files`` lists them), found by listing only those folders rather than the whole
        table, so a loop of one-day reads over a year costs a year, not a year squared. None: use
        the general path (a remote lake, a whole table, or a range wider than the folders it prunes)."""
        if not self.is_local or lo > hi:
            return None
        tdir = os.path.join(self.location.base, self.table_key(table))
        if os.path.exists(os.path.join(tdir, PART_FILE)):
            return None
        days = pd.date_range(lo, hi, freq="D")
        if len(days) > _PRUNE_MAX_DAYS:
            return None
        out = []
        for day in days.strftime("%Y-%m-%d"):
            folder = f"date={day}"
            try:
                names = os.listdir(os.path.join(tdir, folder))
            except (FileNotFoundError, NotADirectoryError):
                continue
            rels = (f"{table}/{folder}/{n}" for n in names if not n.startswith(TEMP_PREFIX))
            out += sorted(r for r in rels if _PART.match(r))
        return out

    def read(
        self,
        table: str,
        start: date | str | None = None,
        end: date | str | None = None,
        columns: list[str] | None = None,
    ) -> pd.DataFrame:
        """Rows of ``table`` from partitions in [start, end] (inclusive day keys); empty if none."""
        if start is not None and end is not None:
            pruned = self._files_between(table, _day_str(start), _day_str(end))
            if pruned is not None:
                return assemble(table, self._read_files(pruned, columns), columns)
        files = self._table_files(table)
        whole = f"{self.table_key(table)}/{PART_FILE}"
        if whole in files:
            return self._read_files([whole], columns)[0].to_pandas()
        lo = _day_str(start) if start is not None else None
        hi = _day_str(end) if end is not None else None
        chosen = []
        for f in files:
            day = _PART.match(f).group("day")
            if day and (lo is None or day >= lo) and (hi is None or day <= hi):
                chosen.append(f)
        return assemble(table, self._read_files(chosen, columns), columns)

    def files_by_table(self) -> dict[str, list[str]]:
        """One listing of the whole lake: each table's part files (whole-table file first if any)."""
        by_table: dict[str, list[str]] = {}
        for f in self.find():
            if _PART.match(f):
                by_table.setdefault(f.split("/", 1)[0], []).append(f)
        return by_table

    def tables(self) -> list[str]:
        return sorted(self.files_by_table())

    def connect(
        self, deterministic: bool = False, tables: Iterable[str] | None = None
    ) -> duckdb.DuckDBPyConnection:
        """A sandboxed in-memory DuckDB with one view per lake table (no shared .duckdb file, no locks).

        Each table is registered as an Arrow object, so DuckDB reads it through Arrow, not through its
        own file access, and queries keep working when DuckDB's external access is switched off
        afterwards: a local table is a lazy Arrow dataset over its files; an S3 table is fetched
        into memory (all its objects concurrently), which beats many small ranged reads over the
        network. Partitioned tables carry a ``date`` column from their folder names, as hive
        partitioning would. ``tables`` limits the registration to those (all when None).

        Then DuckDB's own settings shut every other door: no file access (``read_csv``, ``COPY``,
        ``ATTACH``, ``EXPORT``), no extension install or load, and a locked configuration, so a query
        can only read the lake and write nothing, whatever the parser in front of it misses.

        ``deterministic`` runs on one thread: parallel float aggregation can differ in the last bits
        between runs, and models written back to the lake must be byte-for-byte reproducible.
        """
        self.check_root(writable=False)
        con = duckdb.connect(":memory:", config={"threads": 1} if deterministic else {})
        try:
            files = self.files_by_table()
            if tables is not None:
                wanted = set(tables)
                files = {t: rels for t, rels in files.items() if t in wanted}
            scale = self.scale or ScaleSettings()
            if scale.lake_duckdb_httpfs and not self.is_local:
                register_httpfs_views(con, self, files)
                # the sandbox below shuts external access; the lake's own prefix stays readable
                con.execute(f"SET allowed_directories = [{_sql_str(self.url.rstrip('/') + '/')}]")
            else:
                for table, rels in sorted(files.items()):
                    con.register(f"__lake_{table}", self.dataset(table, rels))
                    con.execute(f'CREATE VIEW "{table}" AS SELECT * FROM "__lake_{table}"')
            for name, value in SANDBOX_SETTINGS:
                con.execute(f"SET {name} = {value}")
        except BaseException:
            con.close()
            raise
        return con

    def dataset(self, table: str, rels: list[str] | None = None) -> ds.Dataset:
        """``table`` as one Arrow dataset: schemas of all its files unified (a column missing from a
        file, or all-null there, reads as null), plus the ``date`` partition column."""
        rels = rels if rels is not None else self._table_files(table)
        try:
            return self._dataset(table, rels)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise LakeSchemaError(f"table {table!r}: partitions disagree on column types: {exc}") from exc

    def _dataset(self, table: str, rels: list[str]) -> ds.Dataset:
        whole = f"{table}/{PART_FILE}"
        if whole in rels:
            rels = [whole]
        if self.is_local:
            factory = ds.FileSystemDatasetFactory(
                pafs.LocalFileSystem(),
                [self._abs(r) for r in rels],
                ds.ParquetFileFormat(),
                ds.FileSystemFactoryOptions(
                    partition_base_dir=self._abs(table),
                    partitioning=None if whole in rels else HIVE_DATE,
                ),
            )
            return factory.finish(factory.inspect(promote_options="permissive", fragments=None))
        read = self._read_files(rels, None)
        if whole not in rels:
            read = [
                t.append_column("date", pa.array([_day_of(r)] * t.num_rows, pa.date32()))
                for t, r in zip(read, rels, strict=True)
            ]
        # permissive concat: a column missing from a file, or all-null there, reads as null
        return ds.dataset(pa.concat_tables(read, promote_options="permissive"))

    def query(self, sql: str, deterministic: bool = False) -> pd.DataFrame:
        """Run ``sql`` in the sandbox of ``connect`` over the tables it names (all tables when it names
        none, e.g. SHOW TABLES): the lake's tables are readable, nothing else."""
        con = self.connect(deterministic, tables=referenced_tables(sql) or None)
        try:
            return con.execute(sql).df()
        finally:
            con.close()


@dataclass(frozen=True)
class LakePath:
    """A path inside a lake (``rel`` is relative to its root), for code that writes files beside the
    tables (artifacts): every read and write goes through the lake's file API."""

    lake: Lake
    rel: str

    def __truediv__(self, name: str) -> LakePath:
        return self.lake.path(f"{self.rel}/{name}" if self.rel else name)

    def __str__(self) -> str:
        return self.lake.uri(self.rel)

    @property
    def name(self) -> str:
        return self.rel.rsplit("/", 1)[-1]

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.name).suffix

    @property
    def parent(self) -> LakePath:
        return LakePath(self.lake, self.rel.rsplit("/", 1)[0] if "/" in self.rel else "")

    def exists(self) -> bool:
        return self.lake.exists(self.rel)

    def write_bytes(self, data: bytes) -> str:
        return self.lake.write_bytes(self.rel, data)

    def write_text(self, text: str) -> str:
        return self.lake.write_text(self.rel, text)

    def read_bytes(self) -> bytes:
        return self.lake.read_bytes(self.rel)

    def read_text(self) -> str:
        return self.read_bytes().decode("utf-8")


def part_day(rel: str) -> str | None:
    """The day key of a part file (path relative to the root); None for a whole table's file or a
    path that is not a part file."""
    m = _PART.match(rel)
    return m.group("day") if m else None


def _day_of(rel: str) -> date:
    return date.fromisoformat(_PART.match(rel).group("day"))


def referenced_tables(sql: str) -> set[str]:
    """Names a query reads as tables (CTE names left out); empty when it cannot be parsed."""
    try:
        trees = [t for t in sqlglot.parse(sql, read="duckdb") if t is not None]
    except sqlglot.errors.ParseError:
        return set()
    names: set[str] = set()
    for tree in trees:
        ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
        names |= {t.name for t in tree.find_all(exp.Table) if t.name and t.name not in ctes}
    return names


def register_httpfs_views(con: duckdb.DuckDBPyConnection, lake: Lake, files: dict[str, list[str]]) -> None:
    """The optional DuckDB-native path for an S3 lake: httpfs (already installed) reads the objects."""
    try:
        con.execute("LOAD httpfs")
    except duckdb.Error:
        raise LakeConfigError(
            "TRACER_LAKE_DUCKDB_HTTPFS=true but DuckDB's httpfs extension is not installed "
            "(it cannot be downloaded here); unset it to read the lake through Arrow and s3fs"
        ) from None
    aws = aws_env()
    options = {"KEY_ID": aws["key"], "SECRET": aws["secret"], "SESSION_TOKEN": aws["token"]}
    options["REGION"] = aws["region"]
    if aws["endpoint_url"]:
        scheme, _, host = aws["endpoint_url"].partition("://")
        options |= {"ENDPOINT": host.rstrip("/"), "USE_SSL": scheme == "https", "URL_STYLE": "path"}
    body = ", ".join(
        f"{k} {str(v).lower() if isinstance(v, bool) else _sql_str(v)}" for k, v in options.items() if v
    )
    try:
        con.execute(f"CREATE SECRET tracer_lake (TYPE s3{', ' + body if body else ''})")
    except duckdb.Error:
        raise LakeConfigError("DuckDB refused the S3 secret built from the AWS_* variables") from None
    for table, rels in sorted(files.items()):
        whole = f"{table}/{PART_FILE}"
        if whole in rels:
            src = f"read_parquet({_sql_str(lake.uri(whole))})"
        else:
            pattern = lake.uri(table) + "/date=*/part-*.parquet"
            src = f"read_parquet({_sql_str(pattern)}, hive_partitioning=true, union_by_name=true)"
        con.execute(f'CREATE VIEW "{table}" AS SELECT * FROM {src}')


def _sql_str(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def new_id(*parts: object) -> str:
    """A stable id from its parts (same parts, same id), so re-runs write identical rows."""
    return uuid.uuid5(uuid.NAMESPACE_URL, "|".join(str(p) for p in parts)).hex[:16]
