"""Dagster's event-log cost of a long single-run range, three ways.

A few cheap daily assets (with one check each) materialised over a range of days in one run, as the
demo's stages are, into a fresh ``DAGSTER_HOME`` (Dagster's sharded SQLite storage) in a child process:
``stock`` (Dagster's own storage), ``peer`` (``pool_sqlite_event_log`` of git ref ``--peer``, exported
with ``git archive``: the previous round's pooling) and ``this`` (this tree's). Prints wall and CPU time
of the run, the events it stored and events per CPU second, and checks that every partition of every
asset is materialized (a variant that loses one fails the benchmark). Variants alternate over
``--repeat`` rounds, so a busy machine stretches them alike.

    python benchmarks/event_storage.py [--days 365] [--assets 4] [--repeat 2] [--peer main]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START = "2024-01-01"


def child(variant: str, days: int, n_assets: int) -> dict:
    """One run of the range in this process on ``DAGSTER_HOME``; its timings and counts."""
    import warnings

    import dagster as dg
    import pandas as pd

    warnings.filterwarnings("ignore")
    daily = dg.DailyPartitionsDefinition(start_date=START)
    policy = dg.BackfillPolicy.single_run()

    def make(i: int):
        @dg.asset(name=f"cheap_{i}", partitions_def=daily, backfill_policy=policy)
        def _asset(context):  # no annotations: dg is local here
            return dg.MaterializeResult(metadata={"n": len(context.partition_keys)})

        @dg.asset_check(asset=_asset, name=f"cheap_{i}_ok")
        def _check():
            return dg.AssetCheckResult(passed=True)

        return _asset, _check

    pairs = [make(i) for i in range(n_assets)]
    last = (pd.Timestamp(START) + pd.Timedelta(days=days - 1)).strftime("%Y-%m-%d")
    tags = {"dagster/asset_partition_range_start": START, "dagster/asset_partition_range_end": last}
    instance = dg.DagsterInstance.get()
    if variant != "stock":
        from tracer_assets.defs.event_storage import pool_sqlite_event_log

        assert pool_sqlite_event_log(instance), "not Dagster's sharded SQLite storage"
    wall0, cpu0 = time.perf_counter(), time.process_time()
    result = dg.materialize([x for pair in pairs for x in pair], instance=instance, tags=tags)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    events = len(instance.get_records_for_run(result.run_id, limit=1_000_000).records)
    partitions = [len(instance.get_materialized_partitions(a.key)) for a, _ in pairs]
    return {"ok": result.success, "wall": wall, "cpu": cpu, "events": events, "partitions": partitions}


def run_variant(variant: str, code: Path, work: Path, days: int, n_assets: int) -> dict:
    """``child`` in a fresh process with ``code`` on the path and a fresh ``DAGSTER_HOME``."""
    home = work / f"home_{variant}_{time.monotonic_ns()}"
    home.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_EVENT_BATCH_SIZE"}
    env.update({"PYTHONPATH": str(code), "DAGSTER_HOME": str(home)})
    cmd = [sys.executable, __file__, "--child", variant, "--days", str(days), "--assets", str(n_assets)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{variant} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--assets", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--peer", default="main", help="git ref whose pooling is the peer ('' to skip)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.days, args.assets)))
        return
    with tempfile.TemporaryDirectory(prefix="tracer-evs-") as tmp:
        work = Path(tmp)
        codes = {"stock": ROOT, "this": ROOT}
        if args.peer:
            sys.path.insert(0, str(ROOT / "benchmarks"))
            from replay import export_ref

            codes["peer"] = export_ref(args.peer, work / "peer_code")
        order = ["stock", *(["peer"] if args.peer else []), "this"]
        print(
            f"{args.assets} daily assets + 1 check each, {args.days} days in one run, "
            f"{args.repeat} round(s); this machine has {os.cpu_count()} CPUs"
        )
        best: dict[str, dict] = {}
        for r in range(args.repeat):
            for variant in order if r % 2 == 0 else order[::-1]:
                res = run_variant(variant, codes[variant], work, args.days, args.assets)
                if not res["ok"] or res["partitions"] != [args.days] * args.assets:
                    raise SystemExit(f"{variant}: run failed or partitions lost: {res}")
                print(
                    f"  {variant:<6} wall {res['wall']:6.2f} s  CPU {res['cpu']:6.2f} s  "
                    f"{res['events']:,} events  {res['events'] / res['cpu']:7.0f} events/CPU s",
                    flush=True,
                )
                if variant not in best or res["cpu"] < best[variant]["cpu"]:
                    best[variant] = res
        base = best["stock"]["cpu"]
        label = {"peer": f"peer ({args.peer})"}
        print("best of the rounds (CPU):")
        for variant in order:
            res = best[variant]
            print(
                f"  {label.get(variant, variant):<14} CPU {res['cpu']:6.2f} s  wall {res['wall']:6.2f} s  "
                f"{base / res['cpu']:.2f}x stock's CPU"
            )


if __name__ == "__main__":
    main()
