"""The `tracer` command: read-only SQL over the lake, demo range arithmetic, DAGSTER_HOME handling."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from tracer_assets.cli import main
from tracer_assets.demo import demo_range, ensure_dagster_home
from tracer_assets.lake import Lake


@pytest.fixture
def small_lake(tracer_env):
    ts = pd.Timestamp("2024-03-01 10:00", tz="UTC")
    Lake(tracer_env / "lake").write_partition(
        "signals",
        "2024-03-01",
        pd.DataFrame(
            {
                "signal_id": ["s1", "s2"],
                "symbol": ["BTC/USD", "AAPL"],
                "asset_class": ["crypto", "stock"],
                "decision_ts": [ts, ts],
                "direction": ["long", "short"],
                "strength": [0.5, 0.7],
                "internal_prob": [0.55, 0.6],
                "horizon_hours": [24, 24],
                "rationale": ["{}", "{}"],
                "event_ts": [ts, ts],
                "available_ts": [ts, ts],
            }
        ),
    )
    return tracer_env


def test_sql_prints_a_table(small_lake, capsys):
    assert main(["sql", "select symbol, direction from signals order by symbol"]) == 0
    out = capsys.readouterr().out
    assert "AAPL" in out and "BTC/USD" in out and "short" in out


def test_sql_count_and_csv_from_file(small_lake, capsys, tmp_path):
    q = tmp_path / "q.sql"
    q.write_text("select count(*) as n from signals")
    assert main(["sql", "--file", str(q), "--format", "csv"]) == 0
    assert capsys.readouterr().out.split() == ["n", "2"]


def test_sql_refuses_writes_and_leaves_lake_untouched(small_lake, capsys):
    assert main(["sql", "DROP VIEW signals"]) == 2
    assert "read-only" in capsys.readouterr().err
    assert main(["sql", "COPY (select 1) TO 'leak.csv'"]) == 2
    assert not (small_lake / "leak.csv").exists()
    assert len(Lake(small_lake / "lake").read("signals")) == 2


def test_sql_reports_bad_queries_cleanly(small_lake, capsys):
    assert main(["sql", "select nope from signals"]) == 1
    assert "nope" in capsys.readouterr().err


def test_demo_range_ends_yesterday_and_covers_touching_weeks():
    rng = demo_range(60, today=pd.Timestamp("2026-11-24", tz="UTC"))
    assert (rng.first_day, rng.last_day) == ("2026-09-25", "2026-11-23")
    assert pd.Timestamp(rng.first_week).weekday() == 0 and rng.first_week <= rng.first_day
    assert rng.last_week == "2026-11-23"
    with pytest.raises(ValueError):
        demo_range(0)


def test_dagster_home_respected_when_set(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "custom"))
    assert ensure_dagster_home(tmp_path) == (tmp_path / "custom").resolve()
    monkeypatch.delenv("DAGSTER_HOME")
    home = ensure_dagster_home(tmp_path)
    assert home == (tmp_path / ".dagster_home").resolve() and (home / "dagster.yaml").exists()
    assert os.environ["DAGSTER_HOME"] == str(home)
