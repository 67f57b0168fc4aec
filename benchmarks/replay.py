"""Replay speed, three ways.

``--demo`` (issue 14's acceptance): ``tracer demo --days N`` in a subprocess with a fresh lake and
``DAGSTER_HOME`` in a temp folder; prints the first run's wall time, CPU time and peak RSS, then a
second run on the unchanged lake (warm re-run), and with ``--five-years`` a ``--days 1825`` run and its
cost per simulated day beside the year's. ``--peer REF`` runs the same first run with the code of git
ref ``REF`` (exported with ``git archive``, nothing checked out) on the same days: the previous version.
CPU time is printed beside wall time because a shared machine stretches wall time.

Default: days of the default universe through the pipeline layer (``run_chain``, the stages the
assets call), wall time, rows per table and peak memory; peer: the same chain over the Parquet
``Lake`` in a temp folder against the ``MemoryStore``. ``--effect``: the signals' hit rate in the sim
world with the planted effect beside the null world, for several seeds.

    python benchmarks/replay.py --demo --days 365 [--five-years] [--peer main]
    python benchmarks/replay.py --days 365 [--peer-days 30]
    python benchmarks/replay.py --effect [--seeds 7 8] [--first 2025-01-06 --last 2025-07-06]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
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


ROOT = Path(__file__).resolve().parents[1]


@dataclass
class DemoRun:
    label: str
    days: int
    wall: float
    cpu: float
    peak_mib: float
    ok: bool
    tail: str

    def line(self) -> str:
        per_day = self.wall / self.days * 1000
        return (
            f"{self.label:<34} {self.wall:7.1f} s wall ({per_day:5.0f} ms/day)  CPU {self.cpu:7.1f} s "
            f"({self.cpu / self.days * 1000:5.0f} ms/day)  peak RSS {self.peak_mib:6.0f} MiB"
            + ("" if self.ok else "  FAILED")
        )


def run_demo(
    code: Path, work: Path, days: int, label: str, extra_env: dict[str, str] | None = None
) -> DemoRun:
    """``tracer demo --days N`` with ``code`` on the path, lake and DAGSTER_HOME under ``work``."""
    work.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACER_")}
    env.update(
        {
            "PYTHONPATH": str(code),
            "DAGSTER_HOME": str(work / "dagster_home"),
            "TRACER_LAKE_ROOT": str(work / "lake"),
            "TRACER_SIM_TRUTH_ROOT": str(work / "truth"),
            "TERM": "dumb",
            **(extra_env or {}),
        }
    )
    log = work / f"{label.split()[0]}-{days}.log"
    t0 = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tracer_assets.cli", "demo", "--days", str(days)],
            cwd=work,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    tail = "\n".join(log.read_text().splitlines()[-5:])
    return DemoRun(
        label, days, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, status == 0, tail
    )


def export_ref(ref: str, dest: Path) -> Path:
    """The project at git ``ref`` exported into ``dest`` (``git archive``; no checkout, no worktree)."""
    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def demo(args, tmp: Path) -> None:
    print(
        f"tracer demo --days {args.days}: fresh lake and DAGSTER_HOME in {tmp}; this machine has {os.cpu_count()} CPUs"
    )
    runs = []
    first = run_demo(ROOT, tmp / "this", args.days, "first run (this version)")
    runs.append(first)
    print(first.line(), flush=True)
    warm = run_demo(ROOT, tmp / "this", args.days, "warm re-run, unchanged lake")
    runs.append(warm)
    print(warm.line() + f"  = {warm.wall / first.wall:.1%} of the first run's wall", flush=True)
    if args.peer:
        code = export_ref(args.peer, tmp / "peer_code")
        peer = run_demo(code, tmp / "peer", args.days, f"first run ({args.peer})")
        runs.append(peer)
        print(
            peer.line() + f"  -> this version {peer.wall / first.wall:.2f}x faster (wall), "
            f"{peer.cpu / first.cpu:.2f}x (CPU)",
            flush=True,
        )
    if args.five_years:
        # five years reach back before the default first partition (2024-01-01)
        five = run_demo(
            ROOT, tmp / "five", 1825, "five years (1825 days)", {"TRACER_PARTITIONS_START": "2019-12-30"}
        )
        runs.append(five)
        ratio = (five.wall / 1825) / (first.wall / args.days)
        cpu_ratio = (five.cpu / 1825) / (first.cpu / args.days)
        print(
            five.line() + f"  per-day cost {ratio:.2f}x the year's (wall), {cpu_ratio:.2f}x (CPU)", flush=True
        )
        print_step_costs(tmp / "this" / "dagster_home", args.days, tmp / "five" / "dagster_home", 1825)
    for run in runs:
        if not run.ok:
            print(f"{run.label} failed:\n{run.tail}")


def step_seconds(dagster_home: Path) -> dict[str, float]:
    """Seconds each step (asset or check) took, summed over the runs of the instance at ``dagster_home``,
    from Dagster's own step statistics."""
    import dagster as dg

    out: dict[str, float] = {}
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        for run in instance.get_runs():
            for stat in instance.get_run_step_stats(run.run_id):
                if stat.start_time is not None and stat.end_time is not None:
                    out[stat.step_key] = out.get(stat.step_key, 0.0) + stat.end_time - stat.start_time
    return out


def print_step_costs(home_a: Path, days_a: int, home_b: Path, days_b: int, top: int = 12) -> None:
    """Where a longer range's cost per day differs from a shorter one's: each step's milliseconds per
    simulated day in both, the steps whose cost per day grew most first, and all steps together."""
    a, b = step_seconds(home_a), step_seconds(home_b)
    grew = sorted(set(a) | set(b), key=lambda k: a.get(k, 0.0) / days_a - b.get(k, 0.0) / days_b)
    print(f"{'step':<44} {f'ms/day @{days_a}':>12} {f'ms/day @{days_b}':>12} {'ratio':>6}")
    for key in grew[:top]:
        x, y = 1000 * a.get(key, 0.0) / days_a, 1000 * b.get(key, 0.0) / days_b
        print(f"{key[:44]:<44} {x:12.1f} {y:12.1f} {y / x if x else float('nan'):6.2f}")
    x, y = 1000 * sum(a.values()) / days_a, 1000 * sum(b.values()) / days_b
    print(f"{'all steps':<44} {x:12.1f} {y:12.1f} {y / x:6.2f}")


def effect(args, tmp: Path) -> None:
    from tracer_assets.evaluation.metrics import hit_rate_interval
    from tracer_assets.pipeline import SIGNAL_STAGES, UPSTREAM_STAGES, MemoryStore, run_chain
    from tracer_assets.settings import TracerSettings

    stages = UPSTREAM_STAGES + SIGNAL_STAGES
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
    parser.add_argument("--demo", action="store_true", help="tracer demo: first run, warm re-run, memory")
    parser.add_argument("--five-years", action="store_true", help="with --demo: also --days 1825")
    parser.add_argument("--peer", default=None, help="with --demo: the same first run at this git ref")
    parser.add_argument(
        "--keep", default=None, help="with --demo: work in this folder (kept) instead of a temp one"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 8])
    parser.add_argument("--first", default="2025-01-06")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    if args.demo:
        if args.keep:
            demo(args, Path(args.keep).resolve())
        else:
            with tempfile.TemporaryDirectory() as tmpdir:
                demo(args, Path(tmpdir))
        return 0
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
