"""Issue 13 items 8 and 13: crash litter swept and orphaned runs failed on start; pause/resume;
status; the run-failure alert; schedules for jobs that exist, matching the README."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
import yaml

from tracer_assets.cli import main
from tracer_assets_tests.ops_helpers import child_env, in_flight_runs, kill, start_sleeping_run

README = Path(__file__).resolve().parents[1] / "README.md"


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _instance(tracer_env: Path) -> dg.DagsterInstance:
    home = tracer_env / "dagster_home"
    home.mkdir(exist_ok=True)
    return dg.DagsterInstance.from_config(str(home))


def test_recover_sweeps_crash_litter_but_not_a_live_writers_temp_file(tracer_env, capsys):
    part = tracer_env / "lake" / "bars" / "date=2024-03-05"
    part.mkdir(parents=True)
    (part / "part-0.parquet").write_bytes(b"PAR1")
    dead = part / f".tmp-{_dead_pid()}-abc.parquet"  # a writer killed with -9 between write and rename
    live = part / f".tmp-{os.getpid()}-def.parquet"  # a writer in this process, still writing
    stale = part / ".tmp-xyz.parquet"  # an older writer's name without a PID, hours old
    for path in (dead, live, stale):
        path.write_bytes(b"partial")
    old = time.time() - 3 * 3600
    os.utime(stale, (old, old))
    outbox_litter = tracer_env / "outbox" / f".tmp-{_dead_pid()}-x"
    outbox_litter.parent.mkdir()
    outbox_litter.write_text("half a message")

    assert main(["recover"]) == 0
    assert "3 temp files removed" in capsys.readouterr().out
    assert not dead.exists() and not stale.exists() and not outbox_litter.exists()
    assert live.exists() and (part / "part-0.parquet").exists()
    # the instance it made has Dagster's run monitoring on
    config = yaml.safe_load((tracer_env / "dagster_home" / "dagster.yaml").read_text())
    assert config["run_monitoring"]["enabled"] is True
    assert config["run_monitoring"]["max_resume_run_attempts"] == 0


def test_lake_writes_name_their_temp_files_by_pid(tracer_env, monkeypatch):
    from tracer_assets.lake import Lake

    seen = []
    real_replace = os.replace

    def spy(src, dst):
        seen.append(Path(src).name)
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    Lake(tracer_env / "lake").write_partition(
        "scratch",
        "2024-03-05",
        pd.DataFrame(
            {
                "event_ts": [pd.Timestamp("2024-03-05", tz="UTC")],
                "available_ts": [pd.Timestamp("2024-03-05", tz="UTC")],
            }
        ),
    )
    assert seen and seen[0].startswith(f".tmp-{os.getpid()}-")


def test_run_killed_with_sigkill_is_marked_failed_on_recover(tracer_env, monkeypatch, capsys):
    env = child_env(tracer_env)
    proc = start_sleeping_run(env)
    instance = _instance(tracer_env)
    try:
        (running,) = in_flight_runs(instance)
        # its process is alive: not an orphan, even with no grace period
        monkeypatch.setenv("TRACER_OPS_ORPHAN_RUN_GRACE_SECONDS", "0.001")
        assert main(["recover"]) == 0
        assert "0 orphaned runs" in capsys.readouterr().out
    finally:
        kill(proc)
    assert instance.get_run_by_id(running.run_id).status == dg.DagsterRunStatus.STARTED  # stuck
    assert main(["recover"]) == 0
    out = capsys.readouterr().out
    assert "1 orphaned runs marked failed" in out and running.run_id[:8] in out
    assert instance.get_run_by_id(running.run_id).status == dg.DagsterRunStatus.FAILURE


def test_pause_holds_delivery_and_stops_instigators_resume_undoes_it(tracer_env, monkeypatch, capsys):
    from tracer_assets.defs.digest.assets import digest
    from tracer_assets.defs.monitoring.instigators import instigator_states
    from tracer_assets.defs.resources import TracerResource
    from tracer_assets.ops.pause import is_paused, pause_state

    monkeypatch.setenv("TRACER_DIGEST_DELIVER_MAX_AGE_HOURS", str(10**7))
    assert main(["resume"]) == 0
    instance = _instance(tracer_env)
    assert all(r.running for r in instigator_states(instance))
    assert main(["pause", "--why", "provider outage", "--who", "ops-oncall"]) == 0
    lake = tracer_env / "lake"
    assert is_paused(lake) and pause_state(lake).who == "ops-oncall"
    assert not any(r.running for r in instigator_states(instance))

    result = dg.materialize(
        [digest], partition_key="2024-03-05", resources={"tracer": TracerResource()}, instance=instance
    )
    (mat,) = result.asset_materializations_for_node("digest")
    assert mat.metadata["paused"].value is True
    assert "provider outage" in mat.metadata["delivery_paused"].value
    assert mat.metadata["newly_delivered"].value == 0
    assert not list((tracer_env / "outbox").glob("*.txt"))

    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "PAUSED by ops-oncall" in out and "provider outage" in out
    assert re.search(r"schedule\s+hourly_agent_tick\s+stopped", out)

    assert main(["resume"]) == 0
    assert not is_paused(lake)
    assert all(r.running for r in instigator_states(instance))
    result = dg.materialize(
        [digest], partition_key="2024-03-05", resources={"tracer": TracerResource()}, instance=instance
    )
    assert len(list((tracer_env / "outbox").glob("*.txt"))) == 1
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "running (not paused)" in out
    assert re.search(r"schedule\s+hourly_agent_tick\s+running\s+next tick \d{4}-\d\d-\d\dT\d\d:05", out)
    assert re.search(r"__ephemeral_asset_job__\s+success", out), out
    assert re.search(r"digest\s+\d+m ago\s+2024-03-05", out)


def test_unreadable_pause_flag_fails_safe(tracer_env):
    from tracer_assets.ops.pause import is_paused, pause_path

    path = pause_path(tracer_env / "lake")
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    assert is_paused(tracer_env / "lake")


def test_failed_run_writes_run_health_and_alerts_once(tracer_env, monkeypatch):
    from dagster._core.events import DagsterEventType

    from tracer_assets.defs.monitoring.automation import run_failure_alert
    from tracer_assets.defs.resources import TracerResource
    from tracer_assets.providers.health import read_health

    secret = "sk-live-abcdef1234567890"
    monkeypatch.setenv("TRACER_PERPLEXITY_API_KEY", secret)

    @dg.asset(partitions_def=dg.DailyPartitionsDefinition(start_date="2024-01-01"))
    def broken():
        raise RuntimeError(f"upstream said no (key {secret})")

    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([broken], partition_key="2024-03-05", instance=instance, raise_on_error=False)
    assert not result.success
    (failure,) = instance.all_logs(result.run_id, of_type=DagsterEventType.RUN_FAILURE)
    run = instance.get_run_by_id(result.run_id)
    for _ in range(2):  # a re-evaluated tick records and alerts once
        context = dg.build_run_status_sensor_context(
            sensor_name="run_failure_alert",
            dagster_event=failure.dagster_event,
            dagster_instance=instance,
            dagster_run=run,
            resources={"tracer": TracerResource()},
        ).for_run_failure()
        run_failure_alert(context)
    today = pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d")
    health = read_health(
        __import__("tracer_assets.lake", fromlist=["Lake"]).Lake(tracer_env / "lake"), today, today
    )
    (row,) = health.to_dict("records")
    assert row["degraded"] and row["provider"] == "dagster" and row["partition"] == "2024-03-05"
    assert row["asset"] == f"run:{run.job_name}" and "upstream said no" in row["reason"]
    assert secret not in row["reason"]
    (alert,) = (tracer_env / "outbox").glob("*.txt")
    text = alert.read_text()
    assert result.run_id[:8] in text and "upstream said no" in text and secret not in text


def _readme_section() -> str:
    text = README.read_text()
    return text.split("## Operating Tracer 24/7", 1)[1].split("\n## ", 1)[0]


def test_every_schedule_targets_an_existing_job_and_matches_the_readme():
    from tracer_assets.definitions import defs

    repo = defs.get_repository_def()
    jobs = {j.name for j in repo.get_all_jobs()}
    section = _readme_section()
    assert {s.name for s in repo.schedule_defs} == {
        "hourly_agent_tick",
        "nightly_self_check",
        "weekly_evaluation",
        "monthly_governance",
    }
    for schedule in repo.schedule_defs:
        assert schedule.job_name in jobs
        row = re.search(rf"\| `{schedule.name}` \| `([^`]+)` \| `(\w+)` \|", section)
        assert row, f"{schedule.name} is not in the README's schedule table"
        assert row.group(1) == schedule.cron_schedule and row.group(2) == schedule.job_name


def test_nightly_and_monthly_requests():
    from tracer_assets.defs.monitoring.automation import monthly_governance, nightly_self_check

    ctx = dg.build_schedule_context(scheduled_execution_time=pd.Timestamp("2024-03-01 02:15", tz="UTC"))
    assert nightly_self_check(ctx).partition_key == "2024-02-29"
    ctx = dg.build_schedule_context(scheduled_execution_time=pd.Timestamp("2024-03-01 03:45", tz="UTC"))
    request = monthly_governance(ctx)
    assert request.tags["dagster/asset_partition_range_start"] == "2024-02-01"
    assert request.tags["dagster/asset_partition_range_end"] == "2024-02-29"


@pytest.mark.parametrize("module", ["tracer_assets.definitions"])
def test_definitions_load_as_dagster_dev_loads_them(module):
    from dagster._core.workspace.autodiscovery import loadable_targets_from_python_module

    (target,) = loadable_targets_from_python_module(module, working_directory=str(README.parent))
    assert target.attribute == "defs"


def test_governance_reaudit_finds_a_corrupted_day_in_the_month(tracer_env):
    from tracer_assets.definitions import defs
    from tracer_assets.demo import QUIET_RUN_CONFIG
    from tracer_assets.lake import Lake

    lake = Lake(tracer_env / "lake")
    ts = pd.Timestamp("2024-03-05 10:00", tz="UTC")
    bar = {"symbol": "BTC/USD", "asset_class": "crypto", "ts": ts, "open": 1.0, "high": 1.0, "low": 1.0}
    bar |= {"close": 1.0, "volume": 1.0, "event_ts": ts, "available_ts": ts, "source": "sim"}
    lake.write_partition(
        "bars",
        "2024-03-04",
        pd.DataFrame([bar | {"ts": ts - pd.Timedelta(days=1)}]).assign(
            event_ts=ts - pd.Timedelta(days=1), available_ts=ts - pd.Timedelta(days=1)
        ),
    )
    lake.write_partition("bars", "2024-03-05", pd.DataFrame([bar, bar]))  # a duplicated bar, written by hand
    result = defs.resolve_job_def("governance_job").execute_in_process(
        tags={
            "dagster/asset_partition_range_start": "2024-03-04",
            "dagster/asset_partition_range_end": "2024-03-05",
        },
        instance=dg.DagsterInstance.ephemeral(),
        run_config=QUIET_RUN_CONFIG,
        raise_on_error=False,
    )
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks["lake_audit_clean"] is False
    audit = lake.read("lake_audit").set_index("audit_day")
    assert bool(audit.loc["2024-03-04", "passed"]) is True
    assert bool(audit.loc["2024-03-05", "passed"]) is False
    assert "duplicate rows on key (symbol, ts)" in audit.loc["2024-03-05", "problems"]
