"""The lake on a local folder against the lake on S3 (moto's server on 127.0.0.1), same data, same calls.

Writes ``--days`` daily partitions of a bars-like table, reads them back, and runs one DuckDB
aggregate through ``Lake.query``; a second peer on the local lake is the old registration (a DuckDB
``read_parquet`` view over the files) against today's Arrow dataset registration. Prints seconds per
step and rows, median of ``--repeats`` runs.

    python benchmarks/lake_storage.py --days 60 --rows-per-day 288 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracer_assets.lake import Lake  # noqa: E402
from tracer_assets_tests.s3_server import loopback_s3  # noqa: E402

QUERY = "SELECT symbol, count(*) AS n, avg(close) AS mean_close FROM bars GROUP BY 1 ORDER BY 1"


def frame(days: int, rows_per_day: int, seed: int = 0) -> tuple[pd.DataFrame, list[str]]:
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-01-01", tz="UTC")
    ts = start + pd.to_timedelta(np.arange(days * rows_per_day) * (86400 // rows_per_day), unit="s")
    n = len(ts)
    df = pd.DataFrame(
        {
            "symbol": rng.choice(["BTC/USD", "ETH/USD", "AAPL", "MSFT"], n),
            "asset_class": "crypto",
            "ts": ts,
            "open": rng.normal(100, 1, n),
            "high": rng.normal(101, 1, n),
            "low": rng.normal(99, 1, n),
            "close": rng.normal(100, 1, n),
            "volume": rng.integers(1, 1000, n).astype(float),
            "event_ts": ts,
            "available_ts": ts,
            "source": "bench",
        }
    )
    return df, [d.strftime("%Y-%m-%d") for d in pd.date_range(start, periods=days, freq="D")]


def timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def run(lake: Lake, df: pd.DataFrame, days: list[str]) -> dict[str, float]:
    write_s, _ = timed(lambda: lake.write_partitions("bars", df, days))
    read_s, back = timed(lambda: lake.read("bars"))
    assert len(back) == len(df)
    query_s, result = timed(lambda: lake.query(QUERY))
    assert int(result["n"].sum()) == len(df)
    return {"write": write_s, "read": read_s, "query": query_s}


def read_parquet_view_query(lake: Lake) -> float:
    """The pre-issue-16 registration: DuckDB scans the files itself (local only, needs file access)."""
    con = duckdb.connect(":memory:")
    glob = f"{lake.root}/bars/date=*/part-*.parquet"
    t0 = time.perf_counter()
    con.execute(f"CREATE VIEW bars AS SELECT * FROM read_parquet('{glob}', hive_partitioning=true)")
    con.execute(QUERY).df()
    con.close()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--rows-per-day", type=int, default=288)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    df, days = frame(args.days, args.rows_per_day)
    print(f"{len(df)} rows in {len(days)} daily partitions, median of {args.repeats} runs")
    results: dict[str, list[dict[str, float]]] = {"local": [], "s3 (moto, loopback)": []}
    peer: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, loopback_s3("bench") as _:
        for i in range(args.repeats):
            local = Lake(Path(tmp) / f"lake{i}")
            results["local"].append(run(local, df, days))
            peer.append(read_parquet_view_query(local))
            results["s3 (moto, loopback)"].append(run(Lake(f"s3://bench/lake{i}"), df, days))
    print(f"{'lake':<22}{'write s':>10}{'read s':>10}{'query s':>10}")
    for name, runs in results.items():
        med = {k: statistics.median(r[k] for r in runs) for k in ("write", "read", "query")}
        print(f"{name:<22}{med['write']:>10.3f}{med['read']:>10.3f}{med['query']:>10.3f}")
    print(f"{'local, read_parquet view (old registration) query s':<52}{statistics.median(peer):>8.3f}")


if __name__ == "__main__":
    main()
