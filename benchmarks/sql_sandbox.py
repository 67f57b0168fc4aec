"""Cost of the SQL sandbox: ``Lake.query`` (Arrow datasets, external access off) against its peer, the
unsandboxed DuckDB views over ``read_parquet`` globs that it replaced, on the same synthetic lake.

Prints the median of ``--repeats`` runs of connect + one aggregate query per table, for each.

    python benchmarks/sql_sandbox.py [--tables 8] [--days 180] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from tracer_assets.lake import Lake


def build_lake(root: Path, tables: int, days: int, rows: int) -> Lake:
    lake = Lake(root)
    rng = np.random.default_rng(0)
    for t in range(tables):
        for d in pd.date_range("2024-01-01", periods=days, freq="D", tz="UTC"):
            ts = d + pd.to_timedelta(rng.integers(0, 86_400, rows), unit="s")
            lake.write_partition(
                f"table_{t}",
                d,
                pd.DataFrame(
                    {
                        "symbol": rng.choice(["A", "B", "C"], rows),
                        "x": rng.normal(size=rows),
                        "event_ts": ts,
                        "available_ts": ts,
                    }
                ),
            )
    return lake


def plain_views(lake: Lake) -> duckdb.DuckDBPyConnection:
    """The peer: what ``Lake.connect`` did before the sandbox (views re-bound at every query)."""
    con = duckdb.connect(":memory:")
    for table in lake.tables():
        src = f"{lake.table_dir(table).resolve()}/date=*/part-*.parquet"
        con.execute(
            f"CREATE VIEW \"{table}\" AS SELECT * FROM read_parquet('{src}', hive_partitioning=true, union_by_name=true)"
        )
    return con


def timed(connect, tables: list[str], repeats: int) -> float:
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        con = connect()
        for table in tables:
            con.execute(f"select symbol, count(*), avg(x) from {table} group by 1").fetchall()
        con.close()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tables", type=int, default=8)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--rows", type=int, default=200, help="rows per partition")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        lake = build_lake(Path(tmp), args.tables, args.days, args.rows)
        tables = lake.tables()
        sandbox = timed(lake.connect, tables, args.repeats)
        peer = timed(lambda: plain_views(lake), tables, args.repeats)
        files = args.tables * args.days
        print(
            f"lake: {args.tables} tables x {args.days} daily partitions = {files} files, {args.rows} rows each"
        )
        print(
            f"sandbox (Arrow datasets, locked DuckDB): {sandbox * 1000:8.1f} ms  connect + {len(tables)} queries"
        )
        print(
            f"peer (read_parquet views, no sandbox):   {peer * 1000:8.1f} ms  connect + {len(tables)} queries"
        )
        print(f"ratio sandbox / peer: {sandbox / peer:.2f} (median of {args.repeats})")


if __name__ == "__main__":
    main()
