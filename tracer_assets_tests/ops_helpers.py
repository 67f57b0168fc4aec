"""A Dagster run in a child process that can be killed mid-flight (crash and orphan tests)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg

ROOT = Path(__file__).resolve().parents[1]

SLEEPER = """
import sys, time, warnings
warnings.filterwarnings("ignore")
import dagster as dg

@dg.asset
def sleeper():
    print("STARTED", flush=True)
    time.sleep(120)

dg.materialize([sleeper], instance=dg.DagsterInstance.get())
"""


def start_sleeping_run(env: dict[str, str]) -> subprocess.Popen:
    """A child that starts a Dagster run on ``DAGSTER_HOME``'s instance and sleeps inside it."""
    proc = subprocess.Popen(
        [sys.executable, "-c", SLEEPER],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = proc.stdout.readline()
    assert "STARTED" in line, "the child run never started"
    return proc


def kill(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait(timeout=30)


def in_flight_runs(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    from dagster._core.storage.dagster_run import DagsterRunStatus, RunsFilter

    return list(instance.get_runs(filters=RunsFilter(statuses=[DagsterRunStatus.STARTED])))


def wait_for(predicate, timeout: float = 30.0, step: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def child_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(ROOT)
    (tmp / "dagster_home").mkdir(exist_ok=True)
    env["DAGSTER_HOME"] = str(tmp / "dagster_home")
    return env
