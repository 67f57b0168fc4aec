"""Replay N days of the default universe end to end and print wall time, rows per table, peak memory.

Peer in the same run: the same DAG over a short slice as one run per day (what a backfill without
``BackfillPolicy.single_run()`` would do), scaled to per-day cost, against the single-run range.

    python benchmarks/replay.py --days 365 [--peer-days 7]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd


def _env(tmp: Path) -> None:
    for key in list(os.environ):
        if key.startswith("TRACER_"):
            del os.environ[key]
    os.environ.update(
        {
            "TRACER_LAKE_ROOT": str(tmp / "lake"),
            "TRACER_SIM_TRUTH_ROOT": str(tmp / "truth"),
            "TRACER_OUTBOX_DIR": str(tmp / "outbox"),
        }
    )


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    warnings.filterwarnings("ignore")
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--peer-days", type=int, default=7)
    parser.add_argument("--last-day", default="2025-12-31")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        _env(tmp)
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        import dagster as dg

        from tracer_assets.lake import Lake
        from tracer_assets_tests.pipeline_util import run_range

        last = pd.Timestamp(args.last_day)
        first = last - pd.Timedelta(days=args.days - 1)
        instance = dg.DagsterInstance.ephemeral()
        t0 = time.perf_counter()
        run_range(first.strftime("%Y-%m-%d"), last.strftime("%Y-%m-%d"), instance)
        wall = time.perf_counter() - t0
        lake = Lake(tmp / "lake")
        print(
            f"single-run replay: {args.days} days {first:%Y-%m-%d}..{last:%Y-%m-%d}: {wall:.1f} s "
            f"({wall / args.days * 1000:.0f} ms/day), peak RSS {_peak_rss_mib():.0f} MiB"
        )
        print("rows per table:")
        for table in lake.tables():
            n = lake.query(f'select count(*) as n from "{table}"')["n"].iloc[0]
            print(f"  {table:<22} {n:>10,}")

        # peer: the last peer-days as one run per day, in a fresh lake
        _env(tmp / "peer")
        t0 = time.perf_counter()
        for d in pd.date_range(last - pd.Timedelta(days=args.peer_days - 1), last):
            run_range(d.strftime("%Y-%m-%d"), d.strftime("%Y-%m-%d"), instance)
        peer = time.perf_counter() - t0
        print(
            f"peer, one run per day over {args.peer_days} days: {peer:.1f} s ({peer / args.peer_days * 1000:.0f} ms/day); "
            f"single-run is {peer / args.peer_days / (wall / args.days):.1f}x faster per day"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
