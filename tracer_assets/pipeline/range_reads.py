"""One read per table for a loop of day reads: a span's part files read once, each day's frame assembled
from them as ``Lake.read`` assembles it.

A per-day stage over a range (the digest) reads the same few tables for every day, and a look-back
window reads each day's files several times. ``RangeReads`` lists a table once, reads the part files of
the days in its span in one call (one batch of GETs on S3), and keeps them as Arrow tables; a read of
[start, end] inside the span is ``assemble`` of the same files in the same order as ``Lake.read`` gives,
so a day read here equals the day read alone. Reads outside the span, of whole tables or of some columns
go to the lake. Writes are not cached: a stage must not read back through this what it wrote in the loop.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from datetime import date

import pandas as pd
import pyarrow as pa

from tracer_assets.lake import Lake
from tracer_assets.lake.store import _PART, _day_str, assemble


class RangeReads:
    """Read-only view of ``lake`` whose reads inside [lo, hi] (day keys) come from one read per table."""

    def __init__(self, lake: Lake, lo: date | str, hi: date | str):
        self.lake, self.lo, self.hi = lake, _day_str(lo), _day_str(hi)
        self._days: dict[str, dict[str, list[pa.Table]] | None] = {}
        self._keys: dict[str, list[str]] = {}  # each loaded table's day keys, sorted

    def _load(self, table: str) -> dict[str, list[pa.Table]] | None:
        """The span's part tables of ``table`` by day (None: a whole table, read from the lake)."""
        if table not in self._days:
            rels, days = [], []
            for rel in self.lake.table_files(table):  # sorted: by day, then part name, as Lake.read
                day = _PART.match(rel).group("day")
                if day is None:
                    self._days[table] = None
                    return None
                if self.lo <= day <= self.hi:
                    rels.append(rel)
                    days.append(day)
            by_day: dict[str, list[pa.Table]] = {}
            for day, arrow in zip(days, self.lake.read_arrow(rels), strict=True):
                by_day.setdefault(day, []).append(arrow)
            self._days[table] = by_day
            self._keys[table] = sorted(by_day)
        return self._days[table]

    def read(
        self,
        table: str,
        start: date | str | None = None,
        end: date | str | None = None,
        columns: list[str] | None = None,
    ) -> pd.DataFrame:
        """Rows of ``table`` from partitions in [start, end], as ``Lake.read`` returns them."""
        if start is None or end is None or columns is not None:
            return self.lake.read(table, start, end, columns)
        lo, hi = _day_str(start), _day_str(end)
        if lo < self.lo or hi > self.hi:
            return self.lake.read(table, start, end, columns)
        by_day = self._load(table)
        if by_day is None:
            return self.lake.read(table, start, end, columns)
        keys = self._keys[table]  # a day's slice by bisection: a loop of day reads stays linear in the days
        days = keys[bisect_left(keys, lo) : bisect_right(keys, hi)]
        return assemble(table, [t for day in days for t in by_day[day]])

    def partitions(self, table: str) -> list[str]:
        return self.lake.partitions(table)

    def tables(self) -> list[str]:
        return self.lake.tables()


def range_reads(store, lo: date | str, hi: date | str):
    """``RangeReads`` of a Lake over [lo, hi]; any other store (an in-memory one) as it is."""
    return RangeReads(store, lo, hi) if isinstance(store, Lake) else store


def span(days: Iterable[str], look_back_days: int = 0) -> tuple[str, str]:
    """[first day - look_back_days, last day] of ``days`` as day keys."""
    keys = sorted(_day_str(d) for d in days)
    first = pd.Timestamp(keys[0]) - pd.Timedelta(days=look_back_days)
    return _day_str(first), keys[-1]
