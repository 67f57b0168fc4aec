"""``tracer sql`` and ``Lake.query`` are read-only by DuckDB's own settings, not only by the parser.

Each escape attempt runs twice: through the CLI (parser first, then DuckDB) and straight through
``Lake.query`` (DuckDB alone), so a gap in the parser could not make it pass. After every attempt the
lake's files are byte-for-byte what they were, and no file appeared outside it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from tracer_assets.cli import main
from tracer_assets.lake import Lake

SENTINEL = "sandbox-sentinel-value-7f3a"


def _snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def sandbox(tracer_env, monkeypatch):
    lake = Lake(tracer_env / "lake")
    ts = pd.Timestamp("2024-03-01 10:00", tz="UTC")
    for day in ("2024-03-01", "2024-03-02"):
        lake.write_partition(
            "signals",
            day,
            pd.DataFrame(
                {
                    "signal_id": [f"s-{day}"],
                    "symbol": ["BTC/USD"],
                    "asset_class": ["crypto"],
                    "decision_ts": [ts],
                    "direction": ["long"],
                    "strength": [0.5],
                    "internal_prob": [0.55],
                    "horizon_hours": [24],
                    "rationale": ["{}"],
                    "event_ts": [pd.Timestamp(day, tz="UTC")],
                    "available_ts": [pd.Timestamp(day, tz="UTC")],
                }
            ),
        )
    secret_file = tracer_env / "secret.txt"
    secret_file.write_text(SENTINEL)
    monkeypatch.setenv("TRACER_SANDBOX_PROBE", SENTINEL)
    return lake, tracer_env, secret_file


def _escapes(root: Path, lake_dir: Path, secret: Path) -> list[str]:
    out = root / "escaped"
    part = next(lake_dir.glob("signals/date=2024-03-01/part-0.parquet"))
    return [
        # file reads: any file on the machine, the process environment (where keys live)
        f"SELECT * FROM read_text('{secret}')",
        "SELECT * FROM read_text('/proc/self/environ')",
        "SELECT * FROM read_blob('/proc/self/environ')",
        f"SELECT * FROM read_csv('{secret}', header=false)",
        f"SELECT * FROM glob('{root}/*')",
        f"SELECT * FROM '{secret}'",
        f"SELECT * FROM read_parquet('{part}')",  # even lake files bypassing the views
        # file writes, COPY in every disguise
        f"COPY (SELECT * FROM signals) TO '{out}.csv'",
        f"COPY signals TO '{part}' (FORMAT parquet)",
        f"EXPLAIN ANALYZE COPY (SELECT 1 AS x) TO '{part}' (FORMAT parquet)",
        f"EXPLAIN ANALYZE COPY (SELECT 1 AS x) TO '{out}.parquet' (FORMAT parquet)",
        "EXPLAIN ANALYZE INSERT INTO signals SELECT * FROM signals",
        f"WITH x AS (SELECT 1) SELECT * FROM x; COPY (SELECT 1) TO '{out}.txt'",
        f"SELECT 1 /* harmless */; COPY (SELECT 1) TO '{out}.c1'",
        f"-- just a comment\nCOPY (SELECT 1) TO '{out}.c2'",
        f"EXPORT DATABASE '{out}_db'",
        f"ATTACH '{out}.duckdb' AS other",
        "INSTALL httpfs",
        "LOAD httpfs",
        "INSTALL shellfs FROM community",
        "SET enable_external_access = true",
        "SET lock_configuration = false",
        "RESET enable_external_access",
        "PRAGMA enable_profiling",
        "CALL pragma_version(); SET allow_community_extensions = true",
        "SELECT set_config('enable_external_access', 'true')",
        "DROP VIEW signals",
        "CREATE OR REPLACE VIEW signals AS SELECT 1 AS x",
        f"CREATE TABLE leak AS SELECT * FROM read_text('{secret}')",
        "SELECT * FROM duckdb_secrets()",
    ]


def test_at_least_fifteen_escapes_are_refused_by_the_cli(sandbox, capsys):
    lake, root, secret = sandbox
    before_lake, before_root = _snapshot(lake.root), {p.name for p in root.iterdir()}
    escapes = _escapes(root, lake.root, secret)
    assert len(escapes) >= 15
    for sql in escapes:
        rc = main(["sql", sql, "--lake", str(lake.root), "--format", "csv"])
        captured = capsys.readouterr()
        assert SENTINEL not in captured.out + captured.err, sql
        assert rc != 0 or "sandbox-sentinel" not in captured.out, sql
        assert _snapshot(lake.root) == before_lake, sql
        assert {p.name for p in root.iterdir()} == before_root, sql
    assert (
        main(["sql", "select count(*) as n from signals", "--lake", str(lake.root), "--format", "csv"]) == 0
    )
    assert capsys.readouterr().out.split() == ["n", "2"]


@pytest.mark.parametrize("index", range(30))
def test_duckdb_itself_refuses_every_escape_without_the_parser(sandbox, index):
    """``Lake.query`` has no parser in front: only DuckDB's settings stand between the query and the disk."""
    lake, root, secret = sandbox
    sql = _escapes(root, lake.root, secret)[index]
    before_lake, before_root = _snapshot(lake.root), {p.name for p in root.iterdir()}
    try:
        result = lake.query(sql)
    except duckdb.Error:
        result = None
    if result is not None:  # a statement DuckDB accepted may only have touched its in-memory catalog
        assert SENTINEL not in result.to_csv(), sql
    assert _snapshot(lake.root) == before_lake, sql
    assert {p.name for p in root.iterdir()} == before_root, sql
    assert lake.query("select count(*) as n from signals")["n"].iloc[0] == 2


def test_sandboxed_views_keep_the_lake_columns_and_partition_dates(sandbox):
    lake, _, _ = sandbox
    got = lake.query("select date, signal_id from signals order by date")
    assert got["signal_id"].tolist() == ["s-2024-03-01", "s-2024-03-02"]
    assert [str(d)[:10] for d in got["date"]] == ["2024-03-01", "2024-03-02"]
    con = lake.connect()
    try:
        settings = dict(
            con.execute(
                "select name, value from duckdb_settings() where name in "
                "('enable_external_access', 'lock_configuration', 'autoload_known_extensions', "
                "'autoinstall_known_extensions', 'allow_community_extensions')"
            ).fetchall()
        )
    finally:
        con.close()
    assert settings == {
        "enable_external_access": "false",
        "lock_configuration": "true",
        "autoload_known_extensions": "false",
        "autoinstall_known_extensions": "false",
        "allow_community_extensions": "false",
    }


def test_parser_names_explain_analyze_of_a_write(sandbox, capsys):
    lake, root, _ = sandbox
    rc = main(["sql", f"EXPLAIN ANALYZE COPY (SELECT 1) TO '{root}/x.csv'", "--lake", str(lake.root)])
    assert rc == 2
    assert "COPY statements are not allowed" in capsys.readouterr().err
