"""The lake on object storage: a loopback S3 server (moto), the same lake as a local folder."""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from tracer_assets.cli import main as tracer_main
from tracer_assets.lake import Lake, LakeConfigError, LakeError, LakeSchemaError
from tracer_assets.providers.raw_zone import RawZone
from tracer_assets_tests.conftest import isolated_session
from tracer_assets_tests.s3_server import loopback_s3

DAYS = 3
# a small universe keeps two demos inside the time budget; every asset and table still runs
UNIVERSE = """calendar: XNYS
instruments:
  - {symbol: BTC/USD, asset_class: crypto, sim_price: 60000, sim_vol_annual: 0.55}
  - {symbol: ETH/USD, asset_class: crypto, sim_price: 3000, sim_vol_annual: 0.70}
  - {symbol: AAPL, asset_class: stock, sim_price: 190, sim_vol_annual: 0.25}
"""


@pytest.fixture(scope="module")
def s3():
    with loopback_s3() as env:
        yield env


def _narratives(day: str, n: int, tag: str) -> pd.DataFrame:
    ts = pd.date_range(f"{day}T01:00Z", periods=n, freq="h")
    return pd.DataFrame(
        {
            "narrative_id": [f"{tag}{i}" for i in range(n)],
            "symbol": "BTC/USD",
            "headline": "h",
            "summary": "s",
            "source": "sim",
            "url": "u",
            "event_ts": ts,
            "available_ts": ts,
        }
    )


@pytest.mark.parametrize(
    "root, message",
    [
        ("s3:/bucket/lake", "two slashes"),
        ("gs://bucket/lake", "not supported"),
        ("s3://", "no bucket"),
        ("", "empty"),
    ],
)
def test_a_remote_root_never_becomes_a_local_folder(tmp_path, monkeypatch, root, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(LakeConfigError, match=message) as info:
        Lake(root)
    assert "TRACER_LAKE_ROOT" in str(info.value)
    assert list(tmp_path.iterdir()) == []  # no folder named "s3:" or "gs:"


def test_partitions_replace_whole_objects_and_reads_see_one_version(s3):
    lake = Lake(f"s3://{s3['bucket']}/replace")
    assert lake.url == f"s3://{s3['bucket']}/replace" and lake.tables() == []
    with pytest.raises(LakeError, match="not a local folder"):
        _ = lake.root
    uri = lake.write_partition("narratives", "2024-03-01", _narratives("2024-03-01", 4, "old"))
    assert uri == f"s3://{s3['bucket']}/replace/narratives/date=2024-03-01/part-0.parquet"
    lake.write_partition("narratives", "2024-03-01", _narratives("2024-03-01", 2, "new"))
    back = lake.read("narratives", "2024-03-01", "2024-03-01")
    assert sorted(back["narrative_id"]) == ["new0", "new1"]
    assert str(back["event_ts"].dt.tz) == "UTC"
    # a frame that breaks the contract is refused before anything is sent: the old object stays
    with pytest.raises(LakeSchemaError):
        lake.write_partition(
            "narratives", "2024-03-01", _narratives("2024-03-01", 3, "bad").drop(columns="symbol")
        )
    assert sorted(lake.read("narratives")["narrative_id"]) == ["new0", "new1"]
    # a re-run that finds nothing empties the day
    lake.write_partitions("narratives", _narratives("2024-03-02", 1, "b"), ["2024-03-01", "2024-03-02"])
    assert lake.partitions("narratives") == ["2024-03-01", "2024-03-02"]
    assert lake.read("narratives")["narrative_id"].tolist() == ["b0"]
    counts = lake.query("SELECT date, count(*) AS n FROM narratives GROUP BY 1 ORDER BY 1")
    assert counts["n"].tolist() == [1] and str(counts["date"].iloc[0])[:10] == "2024-03-02"
    lake.write_table("cohort_win_rates_x", _narratives("2024-03-05", 3, "w"))
    assert lake.tables() == ["cohort_win_rates_x", "narratives"]
    lake.delete_table("cohort_win_rates_x")
    assert lake.tables() == ["narratives"]


def test_file_api_raw_zone_and_artifacts_on_s3(s3, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    lake = Lake(f"s3://{s3['bucket']}/files")
    assert not lake.exists("artifacts/digest/2024-03-01.json") and lake.listdir("artifacts") == []
    lake.write_text("artifacts/digest/2024-03-01.json", json.dumps({"v": 1}))
    lake.write_text("artifacts/digest/2024-03-01.json", json.dumps({"v": 2}))
    assert json.loads(lake.read_bytes("artifacts/digest/2024-03-01.json")) == {"v": 2}
    assert lake.listdir("artifacts/digest") == ["2024-03-01.json"]
    page = lake.path("artifacts/evaluation/week=2024-02-26") / "plot.html"
    page.write_text("<html></html>")
    assert page.exists() and str(page).startswith("s3://") and page.parent.name == "week=2024-02-26"
    zone = RawZone(lake)
    common = dict(
        fetch_id="f", endpoint="/m", method="GET", params={}, fetched_at=pd.Timestamp("2024-01-05T00:00:00Z")
    )
    zone.store("p", "2024-01-01", seq=0, status=200, body=b"[1]", **common)
    zone.store("p", "2024-01-02", seq=0, status=500, body=b"oops", **common)
    assert zone.providers() == ["p"] and zone.days("p") == ["2024-01-01", "2024-01-02"]
    records = list(zone.records("p", ok_only=False))
    assert [r.status for r in records] == [200, 500] and records[0].json() == [1]
    assert records[0].path.startswith("raw/p/date=2024-01-01/") and lake.exists(records[0].path)
    assert RawZone(f"s3://{s3['bucket']}/files").records("p")  # the zone reopened from the root string
    lake.delete("raw")
    assert zone.providers() == []
    assert not any(p.name.startswith("s3") for p in tmp_path.iterdir())


def test_sql_on_s3_keeps_the_duckdb_sandbox(s3, tmp_path):
    """An S3 lake is read through fsspec into Arrow registrations, so DuckDB's external access stays off."""
    lake = Lake(f"s3://{s3['bucket']}/sandbox")
    for day in ("2024-03-01", "2024-03-02"):
        lake.write_partition("narratives", day, _narratives(day, 2, day))
    secret = tmp_path / "secret.txt"
    secret.write_text("sandbox-s3-sentinel")
    got = lake.query("select date, count(*) as n from narratives group by date order by date")
    assert got["n"].tolist() == [2, 2] and [str(d)[:10] for d in got["date"]] == ["2024-03-01", "2024-03-02"]
    escapes = [
        f"SELECT * FROM read_text('{secret}')",
        f"COPY (SELECT 1 AS x) TO '{tmp_path}/escaped.csv'",
        f"SELECT * FROM read_parquet('s3://{s3['bucket']}/sandbox/narratives/date=2024-03-01/part-0.parquet')",
        "SET enable_external_access = true",
        "SET lock_configuration = false",
    ]
    for sql in escapes:
        with pytest.raises(duckdb.Error):
            lake.query(sql)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret.txt"]
    con = lake.connect()
    try:
        settings = dict(
            con.execute(
                "select name, value from duckdb_settings() "
                "where name in ('enable_external_access', 'lock_configuration')"
            ).fetchall()
        )
    finally:
        con.close()
    assert settings == {"enable_external_access": "false", "lock_configuration": "true"}


def _table_counts(lake_arg: str, tables: list[str], capsys) -> dict[str, int]:
    """Row counts per table through ``tracer sql`` (the CLI), as a user would ask them."""
    union = " UNION ALL ".join(f"SELECT '{t}' AS t, count(*) AS n FROM \"{t}\"" for t in tables)
    capsys.readouterr()
    assert tracer_main(["sql", "--lake", lake_arg, "--format", "json", union + " ORDER BY t"]) == 0
    return {row["t"]: row["n"] for row in json.loads(capsys.readouterr().out)}


def test_demo_and_sql_on_s3_equal_a_local_lake(s3, tmp_path, capsys):
    remote = f"s3://{s3['bucket']}/demo"
    universe = tmp_path / "universe.yaml"
    universe.write_text(UNIVERSE)
    (tmp_path / "s3run").mkdir()
    with isolated_session(tmp_path / "s3run", TRACER_LAKE_ROOT=remote, TRACER_UNIVERSE=str(universe)):
        assert tracer_main(["demo", "--days", str(DAYS)]) == 0
        assert os.environ["TRACER_LAKE_ROOT"] == remote
        assert not (Path.cwd() / "s3:").exists()
    assert f"lake {remote}" in capsys.readouterr().out
    (tmp_path / "local").mkdir()
    with isolated_session(tmp_path / "local", TRACER_UNIVERSE=str(universe)):
        assert tracer_main(["demo", "--days", str(DAYS)]) == 0
    local_root = str(tmp_path / "local" / "lake")
    s3_lake, local_lake = Lake(remote), Lake(local_root)
    tables = local_lake.tables()
    assert len(tables) > 15 and s3_lake.tables() == tables
    remote_counts = _table_counts(remote, tables, capsys)
    assert remote_counts == _table_counts(local_root, tables, capsys)
    assert remote_counts["signals"] > 0 and remote_counts["bars"] > 0
    for table in ("bars", "signals", "narrative_scores", "digest"):
        a, b = (x.read(table) for x in (s3_lake, local_lake))
        key = [c for c in a.columns if c.endswith("_id")][:1] or ["event_ts"]
        pd.testing.assert_frame_equal(
            a.sort_values([*key, "event_ts"]).reset_index(drop=True),
            b.sort_values([*key, "event_ts"]).reset_index(drop=True),
        )
    # the files beside the tables went to S3 too, the same ones as locally
    for folder in ("artifacts/digest", "artifacts/evaluation", "artifacts/backtest"):
        assert s3_lake.find(folder) == local_lake.find(folder) and s3_lake.find(folder)
    assert s3_lake.read_bytes("artifacts/digest/" + s3_lake.listdir("artifacts/digest")[-1]).startswith(b"{")
    # the credentials reached s3fs only: no object holds them
    objects = s3_lake.find()
    assert not any(s3["AWS_SECRET_ACCESS_KEY"].encode() in s3_lake.read_bytes(f) for f in objects)
