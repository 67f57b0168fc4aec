"""Compare every table of two lakes (a speed change must keep lake contents identical).

    python benchmarks/compare_lakes.py LAKE_A LAKE_B [--skip run_health ...]

Each table is read whole through ``Lake.read`` (partitions in key order) and compared frame to frame:
same columns, same rows in the same order, same values (floats exactly; NaN equals NaN). Run logs
(``run_health`` by default) differ by nature and are skipped. Exit status 1 when any table differs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracer_assets.lake import Lake  # noqa: E402


def table_difference(a: pd.DataFrame, b: pd.DataFrame) -> str | None:
    """None when the frames are identical, else a one-line reason."""
    if list(a.columns) != list(b.columns):
        return f"columns differ: {sorted(set(a.columns) ^ set(b.columns))} / order"
    if len(a) != len(b):
        return f"rows {len(a)} vs {len(b)}"
    try:
        pd.testing.assert_frame_equal(
            a.reset_index(drop=True), b.reset_index(drop=True), check_exact=True, check_dtype=True
        )
    except AssertionError as exc:
        return " ".join(str(exc).split())[:300]
    return None


def compare(root_a: str, root_b: str, skip: set[str]) -> list[str]:
    """One line per table that differs (or exists in one lake only)."""
    a, b = Lake(root_a), Lake(root_b)
    tables_a, tables_b = set(a.tables()) - skip, set(b.tables()) - skip
    problems = [f"{t}: only in {root_a}" for t in sorted(tables_a - tables_b)]
    problems += [f"{t}: only in {root_b}" for t in sorted(tables_b - tables_a)]
    for table in sorted(tables_a & tables_b):
        if a.partitions(table) != b.partitions(table):
            problems.append(f"{table}: partitions differ")
            continue
        reason = table_difference(a.read(table), b.read(table))
        if reason:
            problems.append(f"{table}: {reason}")
    print(f"{len(tables_a & tables_b)} tables compared ({', '.join(sorted(skip))} skipped)")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("lake_a")
    parser.add_argument("lake_b")
    parser.add_argument("--skip", nargs="*", default=["run_health"])
    args = parser.parse_args()
    problems = compare(args.lake_a, args.lake_b, set(args.skip))
    for line in problems:
        print(line)
    print("identical" if not problems else f"{len(problems)} tables differ")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
