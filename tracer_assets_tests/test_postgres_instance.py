"""The Dagster instance on PostgreSQL: docs/dagster.yaml against a throwaway server, a demo on top."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import dagster as dg
import psycopg2
import pytest

from tracer_assets.cli import main as tracer_main
from tracer_assets_tests.conftest import isolated_session
from tracer_assets_tests.pg_server import find_pg_bin, throwaway_postgres

DOCS_YAML = Path(__file__).resolve().parents[1] / "docs" / "dagster.yaml"
UNIVERSE = """calendar: XNYS
instruments:
  - {symbol: BTC/USD, asset_class: crypto, sim_price: 60000, sim_vol_annual: 0.55}
  - {symbol: AAPL, asset_class: stock, sim_price: 190, sim_vol_annual: 0.25}
"""


def test_missing_server_binaries_fail_with_the_install_command(tmp_path):
    with pytest.raises(pytest.fail.Exception, match="apt-get install -y postgresql-15"):
        find_pg_bin(str(tmp_path / "postgresql" / "*" / "bin"))


def test_demo_on_a_postgres_instance_stores_runs_and_materializations_there(tmp_path, capsys):
    (tmp_path / "universe.yaml").write_text(UNIVERSE)
    with throwaway_postgres() as pg:
        env = {
            "DAGSTER_PG_HOST": pg["host"],
            "DAGSTER_PG_PORT": pg["port"],
            "DAGSTER_PG_USERNAME": pg["user"],
            "DAGSTER_PG_PASSWORD": "unused-with-trust-auth",
            "DAGSTER_PG_DB": pg["db"],
            "TRACER_UNIVERSE": str(tmp_path / "universe.yaml"),
        }
        with isolated_session(tmp_path, **env):
            home = tmp_path / "dagster_home"
            home.mkdir()
            shutil.copy(DOCS_YAML, home / "dagster.yaml")
            instance = dg.DagsterInstance.get()
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
            assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
            assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
            assert tracer_main(["demo", "--days", "3"]) == 0
            capsys.readouterr()
            assert tracer_main(["sql", "--format", "json", "SELECT count(*) AS n FROM signals"]) == 0
            assert json.loads(capsys.readouterr().out)[0]["n"] > 0
            latest = dg.DagsterInstance.get().get_latest_materialization_event(dg.AssetKey("signals"))
            assert latest is not None
        with psycopg2.connect(host=pg["host"], port=pg["port"], user=pg["user"], dbname=pg["db"]) as con:
            cur = con.cursor()
            cur.execute("SELECT status, count(*) FROM runs GROUP BY status")
            assert dict(cur.fetchall()) == {"SUCCESS": 3}  # daily, weekly, unpartitioned
            cur.execute(
                "SELECT count(DISTINCT asset_key) FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'"
            )
            assert cur.fetchone()[0] >= 15
            cur.execute("SELECT to_regclass('public.jobs') IS NOT NULL")  # schedule storage's table
            assert cur.fetchone()[0]
        con.close()
        assert not (home / "history").exists()  # nothing fell back to SQLite files
