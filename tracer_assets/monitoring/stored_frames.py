"""Part files read back as pandas, converted once per run of files that share a schema.

A check looks at the rows of many part files as one frame: ``pd.concat`` of each file's ``to_pandas()``.
Converting file by file costs a fixed overhead each (a year's range holds thousands of small files),
so consecutive files with the very same Arrow schema are concatenated in Arrow and converted once:
the same columns, dtypes and values in the same order, because a run's files all convert to the
same dtypes and ``pd.concat`` then resolves the same set of dtypes as it would file by file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa


def _batchable(schema: pa.Schema) -> bool:
    # dictionary columns convert to categoricals whose categories depend on the chunks converted
    # together; such files stay one per run
    return not any(pa.types.is_dictionary(f.type) for f in schema)


def schema_runs(tables: list[pa.Table]) -> list[range]:
    """Index ranges of consecutive ``tables`` with equal schemas (metadata included)."""
    runs: list[range] = []
    start = 0
    for i in range(1, len(tables) + 1):
        if (
            i == len(tables)
            or not _batchable(tables[i].schema)
            or not tables[i].schema.equals(tables[start].schema, check_metadata=True)
        ):
            runs.append(range(start, i))
            start = i
    return runs if tables else []


def run_frame(tables: list[pa.Table]) -> pd.DataFrame:
    """One frame of ``tables`` (one schema): what ``pd.concat`` of their frames, index ignored, gives."""
    arrow = tables[0] if len(tables) == 1 else pa.concat_tables(tables)
    return arrow.to_pandas().reset_index(drop=True)


def stacked(tables: list[pa.Table]) -> pd.DataFrame | None:
    """``pd.concat([t.to_pandas() for t in tables if t.num_rows], ignore_index=True)``; None when no rows."""
    full = [t for t in tables if t.num_rows]
    if not full:
        return None
    return pd.concat([run_frame([full[i] for i in run]) for run in schema_runs(full)], ignore_index=True)


@dataclass
class KeyedRun:
    """One run's frame and, per row, the index of its key in ``keys`` (keys in first-seen order)."""

    frame: pd.DataFrame
    keys: list[str]
    group: np.ndarray


def keyed_runs(parts: dict[str, list[pa.Table]]) -> tuple[list[KeyedRun], dict[str, list[pa.Table]]]:
    """The non-empty files of ``parts`` (by key, keys sorted) converted run by run, and the keys whose
    files fall in more than one run ({key: its non-empty files}): only those need a frame of their own."""
    keyed = [(key, t) for key, tables in sorted(parts.items()) for t in tables if t.num_rows]
    runs = schema_runs([t for _, t in keyed])
    seen: dict[str, int] = {}
    for n, run in enumerate(runs):
        for i in run:
            seen.setdefault(keyed[i][0], n)
    split = {keyed[i][0] for n, run in enumerate(runs) for i in run if seen[keyed[i][0]] != n}
    out = []
    for run in runs:
        keys = list(dict.fromkeys(keyed[i][0] for i in run))
        index = {k: j for j, k in enumerate(keys)}
        sizes = [keyed[i][1].num_rows for i in run]
        group = np.repeat(np.array([index[keyed[i][0]] for i in run], dtype=np.intp), sizes)
        out.append(KeyedRun(run_frame([keyed[i][1] for i in run]), keys, group))
    return out, {k: [t for key, t in keyed if key == k] for k in sorted(split)}


def key_frames(parts: dict[str, list[pa.Table]]) -> Iterator[tuple[str, pd.DataFrame | None]]:
    """(key, the rows of its non-empty files as one frame) for every key whose files lie in one run
    (None: no rows); the keys of ``keyed_runs``'s split dict are left to the caller."""
    runs, split = keyed_runs(parts)
    listed = set()
    for run in runs:
        bounds = np.concatenate([[0], np.cumsum(np.bincount(run.group, minlength=len(run.keys)))])
        for j, key in enumerate(run.keys):
            if key not in split:
                listed.add(key)
                lo, hi = bounds[j], bounds[j + 1]
                yield key, run.frame.iloc[lo:hi].reset_index(drop=True)
    for key in sorted(parts):
        if key not in listed and key not in split:
            yield key, None
