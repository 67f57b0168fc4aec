"""Instance housekeeping: run monitoring config, orphaned runs, schedules and sensors on and off."""

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import yaml
from dagster._core.events import DagsterEventType
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.storage.dagster_run import DagsterRunStatus, RunsFilter
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget

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


@contextmanager
def remote_repository(instance: dg.DagsterInstance) -> Iterator:
    """The definitions as the instance's schedulers see them (same code location name as ``dagster dev``)."""
    origin = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(
            executable_path=sys.executable, module_name=DEFS_MODULE, working_directory=str(Path.cwd())
        ),
        location_name=DEFS_MODULE,
    )
    with WorkspaceProcessContext(instance, InProcessWorkspaceLoadTarget(origin)) as process:
        location = process.create_request_context().get_code_location(DEFS_MODULE)
        (repo,) = location.get_repositories().values()
        yield repo


@dataclass(frozen=True)
class InstigatorRow:
    name: str
    kind: str  # "schedule" | "sensor"
    running: bool
    cron: str | None


def instigator_states(instance: dg.DagsterInstance) -> list[InstigatorRow]:
    """Every schedule and sensor with whether it is running on this instance."""
    rows = []
    with remote_repository(instance) as repo:
        for schedule in repo.get_schedules():
            stored = instance.get_instigator_state(schedule.get_remote_origin_id(), schedule.selector_id)
            state = schedule.get_current_instigator_state(stored)
            rows.append(InstigatorRow(schedule.name, "schedule", state.is_running, schedule.cron_schedule))
        for sensor in repo.get_sensors():
            stored = instance.get_instigator_state(sensor.get_remote_origin_id(), sensor.selector_id)
            state = sensor.get_current_instigator_state(stored)
            rows.append(InstigatorRow(sensor.name, "sensor", state.is_running, None))
    return sorted(rows, key=lambda r: (r.kind, r.name))


def set_instigators(instance: dg.DagsterInstance, running: bool) -> list[str]:
    """Start (``running``) or stop every schedule and sensor; returns the names that changed."""
    changed = []
    with remote_repository(instance) as repo:
        for schedule in repo.get_schedules():
            stored = instance.get_instigator_state(schedule.get_remote_origin_id(), schedule.selector_id)
            if schedule.get_current_instigator_state(stored).is_running == running:
                continue
            if running:
                instance.start_schedule(schedule)
            else:
                instance.stop_schedule(schedule.get_remote_origin_id(), schedule.selector_id, schedule)
            changed.append(schedule.name)
        for sensor in repo.get_sensors():
            stored = instance.get_instigator_state(sensor.get_remote_origin_id(), sensor.selector_id)
            if sensor.get_current_instigator_state(stored).is_running == running:
                continue
            if running:
                instance.start_sensor(sensor)
            else:
                instance.stop_sensor(sensor.get_remote_origin_id(), sensor.selector_id, sensor)
            changed.append(sensor.name)
    return sorted(changed)


__all__ = [
    "OrphanedRun",
    "ensure_instance_config",
    "fail_orphaned_runs",
    "find_orphaned_runs",
    "instigator_states",
    "set_instigators",
]


@dataclass(frozen=True)
class JobRun:
    job: str
    run_id: str | None
    status: str
    ended: float | None


def last_runs(instance: dg.DagsterInstance, job_names: list[str]) -> list[JobRun]:
    """The newest run of every job (status and end time), ``never`` for a job not yet run."""
    rows = []
    for job in job_names:
        records = instance.get_run_records(filters=RunsFilter(job_name=job), limit=1)
        if not records:
            rows.append(JobRun(job, None, "never", None))
            continue
        record = records[0]
        rows.append(JobRun(job, record.dagster_run.run_id, record.dagster_run.status.value, record.end_time))
    return rows


def last_materialized(instance: dg.DagsterInstance, keys: list[dg.AssetKey]) -> dict[str, float | None]:
    """{asset: timestamp of its latest materialization, or None}."""
    out = {}
    for key in keys:
        event = instance.get_latest_materialization_event(key)
        out[key.to_user_string()] = event.timestamp if event is not None else None
    return out


def next_ticks(cron: str, after: float, count: int = 1) -> list[str]:
    """The next ``count`` tick times (UTC ISO) of ``cron`` after ``after``."""
    from dagster._utils.schedules import cron_string_iterator

    ticks = cron_string_iterator(after, cron, "UTC")
    return [next(ticks).isoformat() for _ in range(count)]
