"""Burn-in: an accelerated clock drives hourly ticks through the real Dagster path with faults injected.

Each simulated hour the ``hourly_agent_tick`` schedule is evaluated on a ``DagsterInstance`` (and the
news sensor's tick with the same clock); every run it requests is executed (``agent_job`` /
``news_refresh_job`` with their blocking checks). The providers are the sim world wrapped in
``FaultyProvider``: each request attempt fails at ``--fault-rate`` (timeouts, 5xx, 429, malformed
bodies, drips past the deadline, empty answers) through the real resilience layer (retries, backoff,
breakers; its sleeps are recorded, not slept). Fault-free runs of the same days (one per day, in order)
into a second lake are the reference: rows lost = reference rows missing from (or different in) the
burn-in lake.

The clock runs over past days, so every tick computes whole days (``clip_to_now`` leaves past days
alone) and the two lakes are comparable row for row.

    python benchmarks/burn_in.py --ticks 72 --fault-rate 0.05 --seed 7
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

START = "2024-03-04 01:05"  # first tick; 72 ticks end at 00:05 three days later, which closes the last day
# per-run records (run ids, wall-clock times) and the audit of them differ between any two lakes
NOT_COMPARED = {"run_health", "quarantine", "lake_audit"}
# Decisions that the degraded-input rules change on purpose: the paper book opens nothing on a day whose
# bars or news were degraded, the digest says the day was degraded. A difference on such a day is the
# rule working; a difference on any other day counts as lost.
DECISION_TABLES = {
    "digest",
    "orders",
    "fills",
    "positions",
    "portfolio",
    "risk_events",
    "execution_state",
    "trading_controls",
    "backtest_trades",
    "backtest_equity",
    "backtest_summary",
}


def _env(root: Path) -> None:
    for key in list(os.environ):
        if key.startswith("TRACER_"):
            del os.environ[key]
    os.environ.update(
        {
            "TRACER_LAKE_ROOT": str(root / "lake"),
            "TRACER_SIM_TRUTH_ROOT": str(root / "truth"),
            "TRACER_OUTBOX_DIR": str(root / "outbox"),
            # an accelerated clock with injected faults: every tick must fetch, nothing is skipped as unchanged
            "TRACER_SKIP_UNCHANGED": "0",
        }
    )


def _rows(lake_root: Path, days: list[str]) -> dict[str, dict[str, pd.DataFrame]]:
    """{table: {day: rows as text}} (an unpartitioned table under the key ``"all"``)."""
    from tracer_assets.lake import Lake

    lake = Lake(lake_root)
    out = {}
    for table in lake.tables():
        if table in NOT_COMPARED:
            continue
        if lake.partitions(table):
            out[table] = {d: lake.read(table, d, d).astype(str) for d in days}
        else:
            out[table] = {"all": lake.read(table).astype(str)}
    return out


def degraded_days(lake_root: Path, days: list[str]) -> set[str]:
    """Days whose inputs the burn-in lake's ``run_health`` still calls degraded (as the digest says)."""
    from tracer_assets.lake import Lake
    from tracer_assets.pipeline.digest import degraded_inputs

    lake = Lake(lake_root)
    return {d for d in days if degraded_inputs(lake, d)}


def compare(
    reference: dict[str, dict[str, pd.DataFrame]],
    burned: dict[str, dict[str, pd.DataFrame]],
    degraded: set[str],
) -> tuple[dict[str, int], dict[str, int]]:
    """(rows lost, decisions changed on degraded days) per table, against the fault-free reference."""
    lost: dict[str, int] = {}
    changed: dict[str, int] = {}
    for table, ref_days in reference.items():
        for day, ref in ref_days.items():
            n = rows_lost({table: ref}, {table: burned[table][day]} if day in burned.get(table, {}) else {})
            n = n.get(table, 0)
            if table in DECISION_TABLES and day in degraded:
                changed[table] = changed.get(table, 0) + n
            else:
                lost[table] = lost.get(table, 0) + n
    return lost, changed


def rows_lost(reference: dict[str, pd.DataFrame], burned: dict[str, pd.DataFrame]) -> dict[str, int]:
    """Per table: reference rows with no identical row in the burn-in lake."""
    lost = {}
    for table, ref in reference.items():
        got = burned.get(table)
        if got is None:
            lost[table] = len(ref)
            continue
        cols = [c for c in ref.columns if c in got.columns]
        merged = ref[cols].merge(got[cols].drop_duplicates(), on=cols, how="left", indicator=True)
        lost[table] = int((merged["_merge"] == "left_only").sum()) + (len(ref.columns) - len(cols)) * len(ref)
    return lost


def _degraded(result) -> bool:
    for event in result.get_asset_materialization_events():
        flag = event.event_specific_data.materialization.metadata.get("degraded")
        if getattr(flag, "value", False):
            return True
    return False


def run_burn_in(
    workdir: Path, ticks: int, fault_rate: float, seed: int, echo=print, kinds: tuple[str, ...] | None = None
) -> dict:
    warnings.filterwarnings("ignore")
    import dagster as dg

    from tracer_assets.definitions import ALL_ASSETS, build_definitions
    from tracer_assets.defs.automation.schedules import hourly_agent_tick, news_tick
    from tracer_assets.defs.partitions import daily_partitions
    from tracer_assets.defs.resources import TracerResource
    from tracer_assets.demo import QUIET_RUN_CONFIG
    from tracer_assets.providers.resilience import BreakerRegistry, Resilience
    from tracer_assets.settings import TracerSettings
    from tracer_assets_tests.faults import FAULT_KINDS, FaultInjector, FaultyProvider

    clock = [pd.Timestamp(START, tz="UTC")]
    first_day = clock[0].strftime("%Y-%m-%d")
    last_tick = clock[0] + pd.Timedelta(hours=ticks - 1)
    # the days the ticks request (a tick at 00:05 closes the day before and opens its own)
    last_day = (last_tick - pd.Timedelta(days=1) if last_tick.hour == 0 else last_tick).strftime("%Y-%m-%d")
    days = [d.strftime("%Y-%m-%d") for d in pd.date_range(first_day, last_day, freq="D")]

    # ---- the fault-free reference: the same days, one run per day in order (as the closing ticks
    # leave them; a single range run scores novelty and pressure across the whole range at once) ----
    _env(workdir / "reference")
    defs = build_definitions()
    t0 = time.perf_counter()
    instance = dg.DagsterInstance.ephemeral()
    for day in days:
        reference = dg.materialize(
            [*ALL_ASSETS, *defs.asset_checks],
            selection=[a for a in ALL_ASSETS if a.partitions_def == daily_partitions],
            resources={"tracer": TracerResource()},
            instance=instance,
            partition_key=day,
            run_config=QUIET_RUN_CONFIG,
        )
        assert reference.success, f"the fault-free reference run of {day} failed"
    echo(f"reference: days {days[0]}..{days[-1]}, one run per day, {time.perf_counter() - t0:.1f}s")
    reference_rows = _rows(workdir / "reference" / "lake", days)

    # ---- the burn-in: ticks on an instance, faults at the provider boundary ---------------------
    _env(workdir / "burn_in")
    settings = TracerSettings()
    injector = FaultInjector(fault_rate, seed, kinds or FAULT_KINDS)
    sleeps: list[float] = []
    sim_seconds = [0.0]  # the accelerated clock, seen by the breakers' cool-downs as well
    resilience = Resilience(
        settings,
        sleep=sleeps.append,
        clock=lambda: sim_seconds[0] + sum(sleeps),
        rng=random.Random(seed),
        breakers=BreakerRegistry(),
    )
    wrapped: dict[str, FaultyProvider] = {}
    original = TracerResource._provider

    def faulty(self, kind: str):
        if kind == "notifier":
            return original(self, kind)
        if kind not in wrapped:
            wrapped[kind] = FaultyProvider(original(self, kind), kind.split("_")[0], resilience, injector)
        return wrapped[kind]

    TracerResource._provider = faulty
    defs = build_definitions()
    instance = dg.DagsterInstance.ephemeral()
    repo = defs.get_repository_def()
    jobs = {name: defs.resolve_job_def(name) for name in ("agent_job", "news_refresh_job")}
    universe = TracerResource().universe
    runs, tick_seconds, seen_keys, cursor = [], [], set(), None
    try:
        for tick in range(ticks):
            now = clock[0] + pd.Timedelta(hours=tick)
            sim_seconds[0] = tick * 3600.0
            t_tick = time.perf_counter()
            context = dg.build_schedule_context(
                instance=instance,
                scheduled_execution_time=now.to_pydatetime(),
                repository_def=repo,
                resources={"tracer": TracerResource()},
            )
            requests = [("agent_job", r) for r in hourly_agent_tick.evaluate_tick(context).run_requests or []]
            # the news sensor's tick with the same clock (the sensor passes the wall clock)
            news = news_tick(TracerResource().news_provider(), list(universe.instruments), cursor, now)
            cursor = news.cursor or cursor
            requests += [("news_refresh_job", r) for r in news.run_requests or []]
            for job_name, request in requests:
                if request.run_key in seen_keys:  # the daemon never launches a run key twice
                    continue
                seen_keys.add(request.run_key)
                try:
                    result = jobs[job_name].execute_in_process(
                        instance=instance,
                        partition_key=request.partition_key,
                        tags=dict(request.tags),
                        run_config=QUIET_RUN_CONFIG,
                        raise_on_error=False,
                    )
                    crashed, degraded = not result.success, _degraded(result)
                except Exception as exc:  # a crash of the harness path counts as a crashed run
                    echo(f"tick {tick}: {job_name} raised {type(exc).__name__}: {exc}")
                    crashed, degraded = True, False
                runs.append({"tick": tick, "job": job_name, "crashed": crashed, "degraded": degraded})
            tick_seconds.append(time.perf_counter() - t_tick)
            if (tick + 1) % 12 == 0:
                echo(f"  tick {tick + 1}/{ticks} ({now:%Y-%m-%d %H:%M}): {len(runs)} runs so far")
    finally:
        TracerResource._provider = original

    degraded = degraded_days(workdir / "burn_in" / "lake", days)
    lost, changed = compare(reference_rows, _rows(workdir / "burn_in" / "lake", days), degraded)
    calls = sum(p.calls for p in wrapped.values())
    frame = pd.DataFrame(runs)
    return {
        "ticks": ticks,
        "days": f"{days[0]}..{days[-1]}",
        "fault_rate": fault_rate,
        "seed": seed,
        "runs": len(frame),
        "crashed_runs": int(frame["crashed"].sum()) if len(frame) else 0,
        "degraded_runs": int(frame["degraded"].sum()) if len(frame) else 0,
        "degraded_share": float(frame["degraded"].mean()) if len(frame) else 0.0,
        "provider_calls": calls,
        "attempts": injector.attempts,
        "retries": injector.attempts - calls,
        "faults_injected": dict(sorted(injector.injected.items())),
        "backoff_slept_s": round(sum(sleeps), 1),
        "rows_lost": sum(lost.values()),
        "rows_lost_by_table": {t: n for t, n in lost.items() if n},
        "reference_rows": sum(len(f) for by_day in reference_rows.values() for f in by_day.values()),
        "degraded_days": sorted(degraded),
        "decisions_changed_on_degraded_days": {t: n for t, n in changed.items() if n},
        "tick_p50_s": float(np.percentile(tick_seconds, 50)) if tick_seconds else 0.0,
        "tick_p95_s": float(np.percentile(tick_seconds, 95)) if tick_seconds else 0.0,
    }


def report(figures: dict) -> str:
    return "\n".join(
        [
            f"burn-in: {figures['ticks']} hourly ticks over {figures['days']}, fault rate {figures['fault_rate']:.0%}, "
            f"seed {figures['seed']}",
            f"  runs {figures['runs']}: crashed {figures['crashed_runs']}, degraded {figures['degraded_runs']} "
            f"({figures['degraded_share']:.2%})",
            f"  provider calls {figures['provider_calls']}, attempts {figures['attempts']}, retries {figures['retries']}, "
            f"backoff waited (simulated) {figures['backoff_slept_s']}s",
            f"  faults injected: {figures['faults_injected']}",
            f"  rows lost vs fault-free reference: {figures['rows_lost']} of {figures['reference_rows']} "
            f"{figures['rows_lost_by_table'] or ''}",
            f"  days with a degraded input at the end: {', '.join(figures['degraded_days']) or 'none'}; "
            f"decisions changed on them by the degraded-input rules: "
            f"{figures['decisions_changed_on_degraded_days'] or 'none'}",
            f"  tick time p50 {figures['tick_p50_s']:.2f}s, p95 {figures['tick_p95_s']:.2f}s",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=72)
    parser.add_argument("--fault-rate", type=float, default=0.05)
    parser.add_argument("--seed", type=int, nargs="+", default=[7])
    args = parser.parse_args(argv)
    for seed in args.seed:
        with tempfile.TemporaryDirectory(prefix="tracer-burn-in-") as tmp:
            print(report(run_burn_in(Path(tmp), args.ticks, args.fault_rate, seed)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
