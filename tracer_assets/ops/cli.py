"""``tracer status``, ``tracer pause``, ``tracer resume`` and ``tracer recover``: operating Tracer 24/7."""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

AD_HOC_JOB = "__ephemeral_asset_job__"


def _settings(args: argparse.Namespace):
    from tracer_assets.settings import TracerSettings

    return TracerSettings(**({"lake_root": args.lake} if getattr(args, "lake", None) else {}))


def _instance():
    warnings.filterwarnings("ignore")  # Dagster's beta notices, once per asset, drown the answer
    import dagster as dg

    from tracer_assets.defs.monitoring.instance_runs import ensure_instance_config
    from tracer_assets.demo import ensure_dagster_home
    from tracer_assets.settings import OperationsSettings

    home = ensure_dagster_home(Path.cwd())
    ensure_instance_config(home, OperationsSettings())
    return dg.DagsterInstance.get()


def recover(settings, instance, echo=print) -> tuple[int, int]:
    """Start-up housekeeping: sweep crash litter from the lake and outbox, fail orphaned runs."""
    from tracer_assets.defs.monitoring.instance_runs import fail_orphaned_runs
    from tracer_assets.lake import Lake

    ops = settings.ops
    removed = Lake(settings.lake.lake_root).sweep_temp_files(
        ops.ops_temp_file_max_age_seconds, [settings.lake.outbox_dir]
    )
    orphans = fail_orphaned_runs(instance, ops.ops_orphan_run_grace_seconds)
    for path in removed:
        echo(f"removed temp file {path}")
    for orphan in orphans:
        echo(f"marked run {orphan.run_id[:8]} ({orphan.job_name}) failed: process {orphan.pid} is gone")
    return len(removed), len(orphans)


def _recover(args: argparse.Namespace) -> int:
    removed, failed = recover(_settings(args), _instance())
    print(f"tracer recover: {removed} temp files removed, {failed} orphaned runs marked failed")
    return 0


def _pause(args: argparse.Namespace) -> int:
    from tracer_assets.defs.monitoring.instigators import set_instigators
    from tracer_assets.ops.pause import pause

    settings = _settings(args)
    state = pause(settings.lake.lake_root, why=args.why, who=args.who)
    stopped = set_instigators(_instance(), running=False)
    print(f"tracer pause: paused by {state.who} at {state.when}: {state.why}")
    print(f"  stopped: {', '.join(stopped) or 'nothing (already stopped)'}")
    print("  deliveries are held until `tracer resume`; assets keep computing when run by hand")
    return 0


def _resume(args: argparse.Namespace) -> int:
    from tracer_assets.defs.monitoring.instigators import set_instigators
    from tracer_assets.ops.pause import resume

    settings = _settings(args)
    cleared = resume(settings.lake.lake_root)
    started = set_instigators(_instance(), running=True)
    was = f"was paused by {cleared.who} at {cleared.when}: {cleared.why}" if cleared else "was not paused"
    print(f"tracer resume: {was}")
    print(f"  started: {', '.join(started) or 'nothing (already running)'}")
    return 0


def collect_status(settings, instance, now: float | None = None) -> dict:
    """Everything ``tracer status`` shows, as plain data."""
    from tracer_assets.definitions import ALL_ASSETS, defs
    from tracer_assets.defs.monitoring.instance_runs import find_orphaned_runs
    from tracer_assets.defs.monitoring.instigators import (
        instigator_states,
        last_materialized,
        last_runs,
        next_ticks,
    )
    from tracer_assets.lake import Lake
    from tracer_assets.ops.status import lake_status

    now = time.time() if now is None else now
    lake = lake_status(Lake(settings.lake.lake_root))
    repo = defs.get_repository_def()
    # plus the ad-hoc job of `tracer demo` and `dg.materialize` runs
    jobs = sorted(j.name for j in repo.get_all_jobs() if not j.name.startswith("__")) + [AD_HOC_JOB]
    materialized = last_materialized(instance, [a.key for a in ALL_ASSETS])
    return {
        "paused": None if lake.paused is None else vars(lake.paused),
        "instigators": [
            {
                "name": r.name,
                "kind": r.kind,
                "running": r.running,
                "next_tick": next_ticks(r.cron, now)[0] if r.cron else None,
            }
            for r in instigator_states(instance)
        ],
        "last_runs": [vars(r) for r in last_runs(instance, jobs)],
        "freshness": [
            {
                "asset": key,
                "last_materialized_age_s": None if ts is None else now - ts,
                "newest_partition": lake.newest_partition.get(key.split("/")[-1]),
            }
            for key, ts in sorted(materialized.items())
        ],
        "degraded_day": lake.degraded_day,
        "degraded": lake.degraded,
        "orphaned_runs": [
            o.run_id for o in find_orphaned_runs(instance, settings.ops.ops_orphan_run_grace_seconds, now)
        ],
    }


def render_status(status: dict, now: float | None = None) -> str:
    from tracer_assets.ops.status import age_words

    now = time.time() if now is None else now
    paused = status["paused"]
    lines = [
        "Kill switch: "
        + (
            f"PAUSED by {paused['who']} at {paused['when']}: {paused['why']}"
            if paused
            else "running (not paused)"
        ),
        "",
        "Schedules and sensors:",
    ]
    for row in status["instigators"]:
        state = "running" if row["running"] else "stopped"
        nxt = f"  next tick {row['next_tick']}" if row["next_tick"] and row["running"] else ""
        lines.append(f"  {row['kind']:<8} {row['name']:<26} {state}{nxt}")
    lines += ["", "Last run per job:"]
    for row in status["last_runs"]:
        ended = age_words(now - row["ended"]) if row["ended"] else ""
        rid = (row["run_id"] or "")[:8]
        lines.append(f"  {row['job']:<24} {row['status'].lower():<10} {rid:<8} {ended}")
    lines += ["", "Freshness (last materialization, newest lake partition):"]
    for row in status["freshness"]:
        lines.append(
            f"  {row['asset']:<24} {age_words(row['last_materialized_age_s']):<10} {row['newest_partition'] or '-'}"
        )
    lines += ["", f"Degraded inputs on {status['degraded_day'] or '-'}:"]
    lines += [f"  {d['asset']} from {d['provider']}: {d['reason'][:160]}" for d in status["degraded"]] or [
        "  none"
    ]
    orphans = status["orphaned_runs"]
    lines += [
        "",
        f"Orphaned runs (process gone): {len(orphans)}" + (" - run `tracer recover`" if orphans else ""),
    ]
    return "\n".join(lines)


def _status(args: argparse.Namespace) -> int:
    status = collect_status(_settings(args), _instance())
    print(json.dumps(status, indent=2, default=str) if args.json else render_status(status))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``status``, ``pause``, ``resume`` and ``recover`` to the ``tracer`` command."""
    status = subparsers.add_parser(
        "status", help="last runs, freshness, degraded inputs, pause switch, next ticks"
    )
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.add_argument("--lake", help="lake root (default: TRACER_LAKE_ROOT)")
    status.set_defaults(func=_status)
    pause = subparsers.add_parser("pause", help="stop schedules and sensors and hold every delivery")
    pause.add_argument("--why", required=True, help="the reason, recorded in the pause flag")
    pause.add_argument("--who", help="who pauses (default: the OS user)")
    pause.add_argument("--lake", help="lake root (default: TRACER_LAKE_ROOT)")
    pause.set_defaults(func=_pause)
    resume = subparsers.add_parser("resume", help="clear the pause flag and start schedules and sensors")
    resume.add_argument("--lake", help="lake root (default: TRACER_LAKE_ROOT)")
    resume.set_defaults(func=_resume)
    recover_cmd = subparsers.add_parser(
        "recover", help="after a crash: sweep temp files, mark runs whose process is gone failed"
    )
    recover_cmd.add_argument("--lake", help="lake root (default: TRACER_LAKE_ROOT)")
    recover_cmd.set_defaults(func=_recover)
