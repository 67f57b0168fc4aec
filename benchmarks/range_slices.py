"""Cost per day of the per-day loops over a range read, on lakes of different lengths: does it stay flat?

A stage that reads its range once and then takes each day's rows (``price_features``' lookback windows,
the digest's ``RangeReads``) costs, per day, whatever a slice costs. When a slice's cost grows with the
range (a scan of every day's key, a row selection from a column kept in one chunk per part file), the
per-day cost of a five-year run exceeds a year's. For each lake given (say a 365-day and a 1,825-day
demo lake) and each code version (this tree and ``--peer``), in a child process per pair: CPU
milliseconds per day of ``price_features`` over the lake's range (the asset's pipeline call) and of the
digest's reads (every day's signals with the look-back, market board, run health and paper book read
through ``RangeReads``), and whether both versions computed the same frames.

    python benchmarks/range_slices.py --lake /tmp/year/lake --lake /tmp/five/lake [--peer main] [--repeat 1]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peer_worker import run_worker  # noqa: E402
from replay import ROOT, export_ref  # noqa: E402

DIGEST_TABLES = ["polymarket_markets", "run_health", "portfolio", "orders", "risk_events", "positions"]


def _digest(frame: pd.DataFrame) -> str:
    return hashlib.sha1(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()).hexdigest()


def worker(lake_path: str, out: str, repeat: int) -> None:
    """Runs under the code version on PYTHONPATH; prints JSON: ms per day per loop and frame digests."""
    from tracer_assets.lake import Lake
    from tracer_assets.pipeline import market
    from tracer_assets.pipeline.digest import _look_back_days, digest_reads
    from tracer_assets.pipeline.window import DAY
    from tracer_assets.settings import TracerSettings

    settings = TracerSettings()
    lake = Lake(lake_path)
    days = lake.partitions("price_features")
    start, end = pd.Timestamp(days[0], tz="UTC"), pd.Timestamp(days[-1], tz="UTC") + pd.Timedelta(days=1)
    look_back = DAY * _look_back_days(settings)  # the digest's own reach into earlier days' signals
    best = {"price_features": float("inf"), "digest reads": float("inf")}
    hashes: dict[str, str] = {}
    for _ in range(repeat):
        t0 = time.process_time()
        feats = market.price_features(lake, settings, start, end)
        t1 = time.process_time()
        reads = digest_reads(lake, settings, days)
        parts = []
        for day in days:
            parts.append(reads.read("signals", pd.Timestamp(day, tz="UTC") - look_back, day))
            parts.extend(reads.read(table, day, day) for table in DIGEST_TABLES)
        t2 = time.process_time()
        best["price_features"] = min(best["price_features"], t1 - t0)
        best["digest reads"] = min(best["digest reads"], t2 - t1)
        joined = hashlib.sha1("".join(_digest(p) for p in parts).encode()).hexdigest()
        hashes = {"price_features": _digest(feats), "digest reads": joined}
    per_day = {k: 1000 * v / len(days) for k, v in best.items()}
    print(json.dumps({"days": len(days), "ms_per_day": per_day, "hashes": hashes}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lake", action="append", required=True, help="a lake `tracer demo` wrote (repeatable)")
    ap.add_argument("--peer", default="main", help="git ref of the code to compare with")
    ap.add_argument("--repeat", type=int, default=1, help="best of this many passes")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.lake[0], args.out, args.repeat)
        return
    with tempfile.TemporaryDirectory(prefix="range-slices-") as tmp:
        versions = {args.peer: export_ref(args.peer, Path(tmp) / "peer"), "this": ROOT}
        results = {
            (name, lake): run_worker(__file__, code, lake, tmp, args.repeat)
            for lake in args.lake
            for name, code in versions.items()
        }
    print(f"CPU ms per simulated day, best of {args.repeat}")
    print(f"{'loop':<16} {'lake days':>9} {args.peer:>10} {'this':>10}")
    for lake in args.lake:
        for loop in ("price_features", "digest reads"):
            peer, ours = results[(args.peer, lake)], results[("this", lake)]
            print(
                f"{loop:<16} {ours['days']:>9} {peer['ms_per_day'][loop]:>10.2f} {ours['ms_per_day'][loop]:>10.2f}"
                f"   same frames: {'yes' if peer['hashes'][loop] == ours['hashes'][loop] else 'NO'}"
            )


if __name__ == "__main__":
    main()
