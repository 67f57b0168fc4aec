"""Replay days of the default universe through the pipeline layer (``run_chain``, the stages the
assets call) and print wall time, rows per table and peak memory; with ``--effect``, the signals' hit
rate in the sim world with the planted effect beside the null world, for several seeds.

Peer in the same run: the same daily chain over the Parquet ``Lake`` in a temp folder (what the
assets read and write) against the ``MemoryStore``, on the same days and settings.

    python benchmarks/replay.py --days 365 [--peer-days 30]
    python benchmarks/replay.py --effect [--seeds 7 8] [--first 2025-01-06 --last 2025-07-06]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def throughput(args, tmp: Path) -> None:
    from tracer_assets.lake import Lake
    from tracer_assets.pipeline import MemoryStore, run_chain
    from tracer_assets.settings import TracerSettings

    settings = TracerSettings(lake_root=str(tmp / "lake"), sim_truth_root=str(tmp / "truth"))
    last = pd.Timestamp(args.last)
    first = last - pd.Timedelta(days=args.days - 1)
    store = MemoryStore()
    t0 = time.perf_counter()
    run_chain(store, settings, first, last, cache_root=tmp / "cache")
    wall = time.perf_counter() - t0
    print(
        f"run_chain in memory: {args.days} days {first:%Y-%m-%d}..{last:%Y-%m-%d}: {wall:.1f} s "
        f"({wall / args.days * 1000:.0f} ms/day), peak RSS {_peak_rss_mib():.0f} MiB"
    )
    print("rows per table:")
    for table in store.tables():
        print(f"  {table:<22} {len(store.read(table)):>10,}")

    # peer: the last peer-days over the Parquet lake against the same days in memory (warm caches)
    peer_first = last - pd.Timedelta(days=args.peer_days - 1)
    timings = {}
    for name, target in (("memory", MemoryStore()), ("lake", Lake(tmp / "peer_lake"))):
        t0 = time.perf_counter()
        run_chain(target, settings, peer_first, last, cache_root=tmp / "cache")
        timings[name] = time.perf_counter() - t0
    print(
        f"peer over {args.peer_days} days: Parquet lake {timings['lake']:.1f} s vs memory "
        f"{timings['memory']:.1f} s ({timings['lake'] / timings['memory']:.2f}x)"
    )


def effect(args, tmp: Path) -> None:
    from tracer_assets.evaluation.metrics import hit_rate_interval
    from tracer_assets.pipeline import MemoryStore, run_chain
    from tracer_assets.settings import TracerSettings

    stages = (
        "bars",
        "narratives",
        "price_features",
        "narrative_scores",
        "narrative_pressure",
        "signals",
        "eval_observations",
    )
    print(f"signal hit rate over {args.first}..{args.last} (95% Wilson interval), run_chain in memory")
    for seed in args.seeds:
        for strength in (1.0, 0.0):
            settings = TracerSettings(
                sim_seed=seed, sim_effect_strength=strength, lake_root=str(tmp / "lake")
            )
            t0 = time.perf_counter()
            result = run_chain(
                MemoryStore(), settings, args.first, args.last, stages=stages, cache_root=tmp / f"cache{seed}"
            )
            obs = result.eval_observations
            obs = obs[obs["kind"] == "signal"]
            line = []
            for label, rows in [("all", obs), *obs.groupby("asset_class")]:
                rate, low, high, n = hit_rate_interval(rows["outcome"].astype(float))
                line.append(f"{label} {rate:.1%} [{low:.1%}, {high:.1%}] n={n}")
            world = "planted" if strength else "null   "
            print(f"  seed {seed} {world}: " + "; ".join(line) + f"  ({time.perf_counter() - t0:.0f} s)")


def main() -> int:
    warnings.filterwarnings("ignore")
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--peer-days", type=int, default=30)
    parser.add_argument("--last", default="2025-12-31")
    parser.add_argument("--effect", action="store_true", help="hit rates: planted effect vs null world")
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 8])
    parser.add_argument("--first", default="2025-01-06")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    with tempfile.TemporaryDirectory() as tmpdir:
        if args.effect:
            if args.last == "2025-12-31":
                args.last = "2025-07-06"
            effect(args, Path(tmpdir))
        else:
            throughput(args, Path(tmpdir))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
