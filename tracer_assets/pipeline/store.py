"""The read/write surface the pipeline stages need, and an in-memory store with the Lake's semantics.

``Store`` is what ``tracer_assets.lake.Lake`` already offers; ``MemoryStore`` keeps each part file as
the Arrow table the Lake would have written (same contract casting through ``to_arrow``), so a frame
read back has the dtypes a Parquet round trip gives. ``MemoryStore.fork()`` is a copy-on-write child:
reads fall through to the parent, writes stay in the child, so a research loop computes the upstream
tables once and runs the signal stages for many parameter sets.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Protocol, runtime_checkable

import pandas as pd
import pyarrow as pa

from tracer_assets.lake.store import _TABLE_NAME, _day_str, arrow_by_day, assemble, to_arrow

_WHOLE = "__whole__"  # the partition key of an unpartitioned table


@runtime_checkable
class Store(Protocol):
    """What a stage reads and writes: day-partitioned tables (weekly ones keyed by their Monday)."""

    def read(
        self, table: str, start: date | str | None = None, end: date | str | None = None, columns=None
    ) -> pd.DataFrame: ...

    def write_partition(self, table: str, day: date | str, df: pd.DataFrame, part: str = "0"): ...

    def write_partitions(
        self, table: str, df: pd.DataFrame, days: Iterable[str], by: str = "event_ts", part: str = "0"
    ) -> dict[str, int]: ...

    def write_table(self, table: str, df: pd.DataFrame): ...

    def partitions(self, table: str) -> list[str]: ...

    def tables(self) -> list[str]: ...


class MemoryStore:
    """An in-memory lake: ``{table: {day: {part: arrow table}}}``, whole-partition (part) replace."""

    def __init__(self, parent: MemoryStore | None = None):
        self._parent = parent
        self._parts: dict[str, dict[str, dict[str, pa.Table]]] = {}

    # ---- writes ------------------------------------------------------------------------
    def _put(self, table: str, key: str, part: str, arrow: pa.Table) -> None:
        if not _TABLE_NAME.match(table):
            raise ValueError(f"bad table name {table!r}")
        if not _TABLE_NAME.match(part) and not part.isdigit():
            raise ValueError(f"bad part name {part!r}")
        self._parts.setdefault(table, {}).setdefault(key, {})[part] = arrow

    def write_partition(self, table: str, day: date | str, df: pd.DataFrame, part: str = "0") -> str:
        """Replace one partition's part, as ``Lake.write_partition`` does; returns the day key."""
        key = _day_str(day)
        self._put(table, key, part, to_arrow(table, df))
        return key

    def write_partitions(
        self, table: str, df: pd.DataFrame, days: Iterable[str], by: str = "event_ts", part: str = "0"
    ) -> dict[str, int]:
        """Split by the UTC day of ``by`` and replace every day in ``days`` (empty days included)."""
        counts = {}
        for day, arrow in arrow_by_day(table, df, days, by):
            self._put(table, day, part, arrow)
            counts[day] = arrow.num_rows
        return counts

    def write_table(self, table: str, df: pd.DataFrame) -> str:
        """Replace an unpartitioned table whole."""
        self._put(table, _WHOLE, "0", to_arrow(table, df))
        return table

    # ---- reads -------------------------------------------------------------------------
    def _files(self, table: str) -> dict[str, dict[str, pa.Table]]:
        """Every (day -> part -> table) visible here: the parent's, overridden part by part by ours."""
        merged = self._parent._files(table) if self._parent is not None else {}
        merged = {day: dict(parts) for day, parts in merged.items()}
        for day, parts in self._parts.get(table, {}).items():
            merged.setdefault(day, {}).update(parts)
        return merged

    def partitions(self, table: str) -> list[str]:
        if not _TABLE_NAME.match(table):
            raise ValueError(f"bad table name {table!r}")
        return sorted(day for day, parts in self._files(table).items() if parts and day != _WHOLE)

    def tables(self) -> list[str]:
        names = set(self._parts) | (set(self._parent.tables()) if self._parent is not None else set())
        return sorted(t for t in names if self._files(t))

    def read(
        self,
        table: str,
        start: date | str | None = None,
        end: date | str | None = None,
        columns: list[str] | None = None,
    ) -> pd.DataFrame:
        """Rows of ``table`` from partitions in [start, end] (inclusive day keys); empty if none."""
        files = self._files(table)
        if _WHOLE in files:
            whole = files[_WHOLE]["0"]
            return (whole.select(columns) if columns else whole).to_pandas()
        lo = _day_str(start) if start is not None else None
        hi = _day_str(end) if end is not None else None
        keys = [k for k in self.partitions(table) if (lo is None or k >= lo) and (hi is None or k <= hi)]
        read = [files[k][p] for k in keys for p in sorted(files[k], key=lambda p: f"part-{p}.parquet")]
        if columns:
            read = [t.select([c for c in columns if c in t.column_names]) for t in read]
        return assemble(table, read, columns)

    # ---- copies ------------------------------------------------------------------------
    def fork(self) -> MemoryStore:
        """A copy-on-write child: reads fall through to this store, writes stay in the child."""
        return MemoryStore(parent=self)
