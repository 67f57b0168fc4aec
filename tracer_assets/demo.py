"""``tracer demo``: single-run backfills of the whole DAG on a persistent Dagster instance.

One run per partitioning (the daily range, then the weekly range, then the unpartitioned SQL
models), so the runs show in ``make ui`` afterwards. Ends by printing the latest digest, the weekly
metrics table and where the lake is.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tracer_assets.clock import monday_of
from tracer_assets.digest.terminal import digest_text
from tracer_assets.progress import Reporter, Steps

STAGE_TAG = "tracer/demo_stage"  # the run tag the step watcher follows
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
POLL_SECONDS = 0.5  # how often the progress bar reads the run's event log


@dataclass(frozen=True)
class DemoRange:
    first_day: str
    last_day: str
    first_week: str
    last_week: str


def day_range(first_day: str, last_day: str) -> DemoRange:
    """The daily keys ``first_day``..``last_day`` and the weeks (Monday keys) that touch them."""
    return DemoRange(
        first_day,
        last_day,
        monday_of(first_day).strftime("%Y-%m-%d"),
        monday_of(last_day).strftime("%Y-%m-%d"),
    )


def demo_range(days: int, today: pd.Timestamp | None = None) -> DemoRange:
    """``days`` daily partitions ending yesterday (UTC), and the weeks (Monday keys) that touch them."""
    if days < 1:
        raise ValueError("--days must be at least 1")
    today = (today or pd.Timestamp.now(tz="UTC")).normalize()
    last = today - pd.Timedelta(days=1)
    first = last - pd.Timedelta(days=days - 1)
    return day_range(first.strftime("%Y-%m-%d"), last.strftime("%Y-%m-%d"))


def run_plan(rng: DemoRange) -> list[tuple[str, list, dict[str, str]]]:
    """One run per partitioning: (label, assets, run tags) for the daily range, the weekly range and
    the unpartitioned SQL models."""
    from tracer_assets.definitions import ALL_ASSETS
    from tracer_assets.defs.partitions import daily_partitions, weekly_partitions

    return [
        (
            "daily",
            [a for a in ALL_ASSETS if a.partitions_def == daily_partitions],
            range_tags(rng.first_day, rng.last_day),
        ),
        (
            "weekly",
            [a for a in ALL_ASSETS if a.partitions_def == weekly_partitions],
            range_tags(rng.first_week, rng.last_week),
        ),
        # research assets (placebos, leak check) are studies run on demand (research_job), not a replay
        (
            "unpartitioned",
            [
                a
                for a in ALL_ASSETS
                if a.partitions_def is None and "research" not in a.group_names_by_key.values()
            ],
            {},
        ),
    ]


def ensure_dagster_home(project_root: Path) -> Path:
    """Respect ``DAGSTER_HOME`` when set; else use ``<project>/.dagster_home`` (persistent)."""
    home = Path(os.environ.get("DAGSTER_HOME") or project_root / ".dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    cfg = home / "dagster.yaml"
    if not cfg.exists():
        cfg.write_text("telemetry:\n  enabled: false\n")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def range_tags(start: str, end: str) -> dict[str, str]:
    return {"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end}


def step_watcher(instance, stage: str, steps: Steps) -> tuple[threading.Thread, threading.Event]:
    """Follow the run tagged ``tracer/demo_stage=stage`` through its event log: each step that starts
    names what is running, each that ends advances the bar (the run's own event stream, polled)."""
    import dagster as dg

    kinds = {
        dg.DagsterEventType.STEP_START,
        dg.DagsterEventType.STEP_SUCCESS,
        dg.DagsterEventType.STEP_FAILURE,
    }
    stop = threading.Event()

    def follow() -> None:
        run_id, cursor, running = None, None, []
        while True:
            finished = stop.is_set()  # drain once more after the run returned
            if run_id is None:
                runs = instance.get_runs(filters=dg.RunsFilter(tags={STAGE_TAG: stage}), limit=1)
                run_id = runs[0].run_id if runs else None
            if run_id is not None:
                conn = instance.get_records_for_run(run_id, cursor=cursor, of_type=kinds)
                cursor = conn.cursor
                for record in conn.records:
                    event = record.event_log_entry.dagster_event
                    if event is None:
                        continue
                    if event.event_type == dg.DagsterEventType.STEP_START:
                        running.append(event.step_key)
                        steps.running(event.step_key)
                    else:
                        running = [k for k in running if k != event.step_key]
                        steps.advance(what=running[-1] if running else None)
            if finished:
                return
            stop.wait(POLL_SECONDS)

    thread = threading.Thread(target=follow, name=f"demo-progress-{stage}", daemon=True)
    thread.start()
    return thread, stop


def run_demo(days: int = 60, echo=None, reporter: Reporter | None = None) -> int:
    """Backfill ``days`` of the sim world; progress bars on a terminal (or on ``reporter``)."""
    warnings.filterwarnings("ignore")
    with reporter or Reporter() as rep:
        return _run_demo(days, echo or rep.print, rep)


def stage_partitions(assets: list, tags: dict[str, str]) -> list[str]:
    """The partition keys a stage's run covers (``[WHOLE]`` for the unpartitioned stage)."""
    import dagster as dg

    from tracer_assets.defs.skip import WHOLE

    if not tags:
        return [WHOLE]
    key_range = dg.PartitionKeyRange(
        tags["dagster/asset_partition_range_start"], tags["dagster/asset_partition_range_end"]
    )
    return list(assets[0].partitions_def.get_partition_keys_in_range(key_range))


def unchanged_since(assets: list, tags: dict[str, str], settings, instance=None) -> str | None:
    """When every asset of a stage would skip (its inputs, code and outputs are what its partitions
    recorded) and the runs that recorded them succeeded (their checks passed) on ``instance``, a short
    line saying since when; else None and the stage runs (assets that can skip still skip inside it,
    and its checks run again)."""
    import dagster as dg

    from tracer_assets.defs.skip import decide

    partitions = stage_partitions(assets, tags)
    runs = set()
    for a in assets:  # all skip: nothing changes, so the order does not matter
        decision = decide(a.key.path[-1], settings, partitions)
        if not decision.skip:
            return None
        runs.add(str(decision.recorded.get("run_id", "")))
    if instance is not None:
        for run_id in runs:
            run = instance.get_run_by_id(run_id) if run_id else None
            if run is None or run.status != dg.DagsterRunStatus.SUCCESS:
                return None  # recorded by a failed run (a check failed) or by another instance
    return f"inputs and code as recorded by run {', '.join(sorted(r[:8] for r in runs))}"


def _run_demo(days: int, echo, reporter: Reporter) -> int:
    import dagster as dg

    from tracer_assets.definitions import all_asset_checks, run_assets
    from tracer_assets.lake import Lake
    from tracer_assets.settings import TracerSettings

    settings = TracerSettings()
    home = ensure_dagster_home(Path.cwd())
    from tracer_assets.defs.monitoring.instance_runs import ensure_instance_config
    from tracer_assets.ops.cli import recover

    ensure_instance_config(home, settings.ops)  # run monitoring on: the daemon fails runs whose worker died
    rng = demo_range(days)
    start = settings.lake.partitions_start
    if rng.first_day < start:
        raise SystemExit(
            f"--days {days} starts on {rng.first_day}, before the first partition, {start}: "
            f"set TRACER_PARTITIONS_START to a Monday on or before {monday_of(rng.first_day):%Y-%m-%d}"
        )
    checks = all_asset_checks()
    instance = dg.DagsterInstance.get()
    from tracer_assets.defs.event_storage import pool_sqlite_event_log

    pool_sqlite_event_log(instance)  # a year's range stores thousands of events: pooled, no fsync each
    recover(settings, instance, echo)  # litter and orphaned runs a killed earlier run left behind
    echo(
        f"Tracer demo: {days} days {rng.first_day}..{rng.last_day}, lake {Lake(settings.lake.lake_root).url}, DAGSTER_HOME {home}"
    )

    plan = run_plan(rng)
    for i, (label, assets, tags) in enumerate(plan, 1):
        span = (
            f" {tags['dagster/asset_partition_range_start']}..{tags['dagster/asset_partition_range_end']}"
            if tags
            else ""
        )
        echo(f"[{i}/{len(plan)}] {label}{span}: {', '.join(a.key.to_user_string() for a in assets)}")
        keys = {a.key for a in assets}
        unchanged = unchanged_since(assets, tags, settings, instance)
        if unchanged is not None:
            echo(f"      unchanged: {unchanged}; nothing to do (skipped without a run)")
            continue
        # the schema checks of the selected assets run in the same run, so their results show per asset
        stage_checks = [c for c in checks if any(k.asset_key in keys for k in c.check_keys)]
        stage = uuid.uuid4().hex
        t0 = time.perf_counter()
        with reporter.steps(f"[{i}/{len(plan)}] {label}", total=len(assets) + len(stage_checks)) as steps:
            watcher, stop = step_watcher(instance, stage, steps) if reporter.enabled else (None, None)
            try:
                result = run_assets(  # on the executor TRACER_EXECUTOR names
                    assets,
                    instance=instance,
                    tags={**tags, "tracer/demo": "true", STAGE_TAG: stage},
                    run_config=QUIET_RUN_CONFIG,
                    checks=stage_checks,
                )
            finally:
                if watcher is not None:
                    stop.set()
                    watcher.join(timeout=10)
        # a range run reports one materialization per partition with the same metadata: show each asset once
        shown = set()
        for event in result.get_asset_materialization_events():
            mat = event.event_specific_data.materialization
            key = mat.asset_key.to_user_string()
            if key in shown:
                continue
            shown.add(key)
            rows = mat.metadata.get("dagster/row_count")
            flag = "  DEGRADED" if getattr(mat.metadata.get("degraded"), "value", False) else ""
            echo(f"      {key:<24} rows={rows.value if rows else '-'}{flag}")
        evaluations = [
            e.asset_check_evaluation_data
            for e in result.all_events
            if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
        ]
        if evaluations:
            failed = sorted({e.asset_check_key.name for e in evaluations if not e.passed})
            echo(
                f"      checks: {len(evaluations) - len(failed)}/{len(evaluations)} passed"
                + (f"; failed: {', '.join(failed)}" if failed else "")
            )
        status = "ok" if result.success else "FAILED"
        echo(f"      run {result.run_id[:8]} {status} in {time.perf_counter() - t0:.1f}s")
        if not result.success:
            for ev in result.all_events:
                if ev.is_step_failure and ev.step_failure_data is not None:
                    echo(f"      {ev.step_key}: {ev.step_failure_data.error.message.strip()}")
            return 1
    print_summary(settings, echo, styled=reporter.print_styled if reporter.enabled else None)
    return 0


def print_summary(settings, echo=print, styled=None) -> None:
    """The latest digest (as terminal text: bold rendered, no tags), the weekly metrics and the lake."""
    from tracer_assets.backtest.readout import backtest_lines
    from tracer_assets.lake import Lake

    lake = Lake(settings.lake.lake_root)
    parts = lake.partitions("digest")
    echo("\n=== Latest digest ===")
    if parts:
        digest = lake.read("digest", parts[-1], parts[-1])
        whole = digest[digest["section"] == "digest"]["text"]
        if not len(whole):
            echo(f"(no digest on {parts[-1]})")
        elif styled is not None:
            styled(digest_text(whole.iloc[0]))
        else:
            echo(str(digest_text(whole.iloc[0])))
    echo("\n=== Weekly metrics ===")
    metrics = (
        lake.query(
            "SELECT week, kind, predictor, n, round(brier, 4) AS brier, round(log_loss, 4) AS log_loss, "
            "round(hit_rate, 3) AS hit_rate, round(bss_vs_market, 3) AS skill_vs_market FROM eval_metrics "
            "WHERE cohort_dim = 'all' ORDER BY week, kind, predictor"
        )
        if "eval_metrics" in lake.tables()
        else pd.DataFrame()
    )
    echo(metrics.to_string(index=False) if len(metrics) else "(no resolved predictions yet)")
    echo("\n=== Backtest (signals vs baselines) ===")
    echo("\n".join(backtest_lines(lake)))
    echo(f'\nLake: {lake.url}  (query it: tracer sql "select count(*) from signals")')
