"""Schedules and sensors on and off, last runs and next ticks, as the instance's schedulers see them."""

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.storage.dagster_run import RunsFilter
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget

from tracer_assets.defs.monitoring.instance_runs import DEFS_MODULE


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
