"""TRACER_PARTITIONS_START: the first daily and weekly partition, read when the definitions load."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

import tracer_assets.definitions  # noqa: F401  (loaded here with the default start, before a test sets a bad one)
from tracer_assets.cli import main
from tracer_assets.settings import LakeSettings

ROOT = Path(__file__).resolve().parents[1]
PROBE = """
from tracer_assets.definitions import ALL_ASSETS
from tracer_assets.defs.partitions import daily_partitions, weekly_partitions
by_name = {a.key.path[-1]: a for a in ALL_ASSETS}
print(daily_partitions.get_first_partition_key(), weekly_partitions.get_first_partition_key(),
      by_name["bars"].partitions_def.get_first_partition_key(),
      by_name["eval_metrics"].partitions_def.get_first_partition_key())
"""


def _load_definitions(tmp_path, start: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACER_")}
    env |= {"PYTHONPATH": str(ROOT), "TRACER_LAKE_ROOT": str(tmp_path / "lake")}
    if start is not None:
        env["TRACER_PARTITIONS_START"] = start
    return subprocess.run(
        [sys.executable, "-c", PROBE], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )


def test_definitions_expose_partitions_from_the_setting_and_the_default_without_it(tmp_path):
    moved = _load_definitions(tmp_path, "2019-12-30")
    assert moved.returncode == 0, moved.stderr[-2000:]
    assert moved.stdout.split() == ["2019-12-30"] * 4
    default = _load_definitions(tmp_path, None)
    assert default.returncode == 0, default.stderr[-2000:]
    assert default.stdout.split() == ["2024-01-01"] * 4


def test_a_bad_start_fails_the_definitions_load_naming_the_variable(tmp_path):
    failed = _load_definitions(tmp_path, "2020-01-01")  # a Wednesday: the first week would be cut
    assert failed.returncode != 0
    assert "TRACER_PARTITIONS_START must be a Monday" in failed.stderr
    assert "'2020-01-01'" in failed.stderr


@pytest.mark.parametrize("value", ["2020-13-06", "yesterday", "20200106", "2020-1-6", ""])
def test_values_that_are_not_a_monday_date_are_refused(monkeypatch, value):
    monkeypatch.setenv("TRACER_PARTITIONS_START", value)
    with pytest.raises(ValidationError, match="TRACER_PARTITIONS_START must be a Monday"):
        LakeSettings()


def test_demo_refuses_a_range_before_the_start_and_names_the_setting(tracer_env, monkeypatch):
    monkeypatch.setenv("TRACER_PARTITIONS_START", "2024-01-01")
    monkeypatch.chdir(tracer_env)
    with pytest.raises(SystemExit, match="set TRACER_PARTITIONS_START to a Monday on or before"):
        main(["demo", "--days", "5000"])


def test_the_cli_turns_a_bad_start_into_one_line(tracer_env, monkeypatch, capsys):
    monkeypatch.setenv("TRACER_PARTITIONS_START", "2020-01-01")
    monkeypatch.chdir(tracer_env)
    assert main(["demo", "--days", "3"]) == 2
    err = capsys.readouterr().err
    assert "TRACER_PARTITIONS_START" in err and len(err.strip().splitlines()) == 1
