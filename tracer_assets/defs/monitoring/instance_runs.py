"""Instance housekeeping: run monitoring config and orphaned runs."""

import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import yaml
from dagster._core.events import DagsterEventType
from dagster._core.storage.dagster_run import DagsterRunStatus, RunsFilter

from tracer_assets.lake.tempfiles import pid_alive
from tracer_assets.settings import OperationsSettings

# the code location name `dagster dev -m tracer_assets.definitions` (and workspace.yaml) gives
DEFS_MODULE = "tracer_assets.definitions"
IN_FLIGHT = [DagsterRunStatus.STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.CANCELING]


def run_monitoring_config(ops: OperationsSettings) -> dict:
    """The ``run_monitoring`` block of ``dagster.yaml``: the daemon fails runs whose worker died."""
    return {
        "enabled": True,
        "start_timeout_seconds": ops.ops_run_start_timeout_seconds,
        "max_runtime_seconds": ops.ops_run_max_runtime_seconds,
        "poll_interval_seconds": ops.ops_run_monitoring_poll_seconds,
        # a dead run worker is not resumed (re-running is the hourly tick's job): fail it
        "max_resume_run_attempts": 0,
    }


def ensure_instance_config(home: Path, ops: OperationsSettings) -> Path:
    """Write or complete ``<home>/dagster.yaml``: telemetry off, run monitoring on. Keeps other keys."""
    cfg = home / "dagster.yaml"
    data = (yaml.safe_load(cfg.read_text()) if cfg.exists() else None) or {}
    changed = False
    if "telemetry" not in data:
        data["telemetry"] = {"enabled": False}
        changed = True
    if not (data.get("run_monitoring") or {}).get("enabled"):
        data["run_monitoring"] = {**(data.get("run_monitoring") or {}), **run_monitoring_config(ops)}
        changed = True
    if changed or not cfg.exists():
        home.mkdir(parents=True, exist_ok=True)
        cfg.write_text(yaml.safe_dump(data, sort_keys=False))
    return cfg


def run_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The PID of the run's worker process: the first engine event that names one."""
    for record in instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT):
        event = record.dagster_event
        data = event.event_specific_data if event is not None else None
        pid = getattr(data, "metadata", {}).get("pid") if data is not None else None
        if pid is not None:
            try:
                return int(getattr(pid, "value", pid))
            except (TypeError, ValueError):
                continue
    return None


@dataclass(frozen=True)
class OrphanedRun:
    run_id: str
    job_name: str
    pid: int | None
    age_seconds: float


def find_orphaned_runs(
    instance: dg.DagsterInstance, grace_seconds: float, now: float | None = None
) -> list[OrphanedRun]:
    """In-flight runs older than ``grace_seconds`` whose worker process is gone (or never recorded)."""
    now = time.time() if now is None else now
    orphans = []
    for record in instance.get_run_records(filters=RunsFilter(statuses=IN_FLIGHT)):
        run = record.dagster_run
        started = record.start_time or record.create_timestamp.timestamp()
        age = now - started
        if age < grace_seconds:
            continue
        pid = run_pid(instance, run.run_id)
        if pid is not None and pid_alive(pid):
            continue
        orphans.append(OrphanedRun(run.run_id, run.job_name, pid, age))
    return orphans


def fail_orphaned_runs(
    instance: dg.DagsterInstance, grace_seconds: float, now: float | None = None
) -> list[OrphanedRun]:
    """Mark every orphaned run failed (as run monitoring would), so it no longer shows as running."""
    orphans = find_orphaned_runs(instance, grace_seconds, now)
    for orphan in orphans:
        run = instance.get_run_by_id(orphan.run_id)
        if run is None:
            continue
        who = f"process {orphan.pid}" if orphan.pid is not None else "its process (never recorded)"
        instance.report_run_failed(
            run, message=f"Run worker gone: {who} no longer exists (crash or kill); marked failed by tracer."
        )
    return orphans
