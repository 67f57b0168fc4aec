"""The lake: contract casting, atomic whole-partition replace, DuckDB views, read-only SQL guard."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest

from tracer_assets.analytics.sql_models import ReadOnlyViolation, assert_read_only, table_refs
from tracer_assets.lake import Lake, LakeSchemaError


def _narratives(day: str, n: int, tag: str = "a") -> pd.DataFrame:
    ts = pd.date_range(f"{day} 01:00", periods=n, freq="h", tz="UTC")
    return pd.DataFrame(
        {
            "narrative_id": [f"{tag}{i}" for i in range(n)],
            "symbol": "BTC/USD",
            "headline": "Bitcoin funds see record inflows",
            "summary": "",
            "source": "test",
            "url": "",
            "event_ts": ts,
            "available_ts": ts + pd.Timedelta(minutes=3),
        }
    )


def test_write_read_roundtrip_keeps_utc_and_layout(tmp_path):
    lake = Lake(tmp_path)
    path = lake.write_partition("narratives", "2024-03-01", _narratives("2024-03-01", 3))
    assert path == str(tmp_path / "narratives" / "date=2024-03-01" / "part-0.parquet")
    back = lake.read("narratives", "2024-03-01", "2024-03-01")
    assert len(back) == 3
    assert str(back["event_ts"].dt.tz) == "UTC"
    assert pq.read_schema(path).field("available_ts").type.tz == "UTC"


def test_file_reads_match_parquet_read_table_and_a_missing_column_is_an_error(tmp_path):
    import pyarrow as pa

    from tracer_assets.lake.store import read_parquet

    lake = Lake(tmp_path)
    path = lake.write_partition("narratives", "2024-03-01", _narratives("2024-03-01", 4))
    for columns in (None, ["symbol", "event_ts"], []):
        ours, theirs = read_parquet(path, columns), pq.read_table(path, columns=columns)
        assert ours.equals(theirs) and ours.schema.equals(theirs.schema, check_metadata=True)
    with pytest.raises(pa.ArrowInvalid, match="no_such_column"):
        read_parquet(path, ["symbol", "no_such_column"])
    with pytest.raises(pa.ArrowInvalid, match="no_such_column"):
        lake.read("narratives", "2024-03-01", "2024-03-01", columns=["no_such_column"])


def test_a_range_read_has_one_chunk_per_string_column_unless_it_cannot(tmp_path, monkeypatch):
    import pyarrow as pa

    from tracer_assets.lake import store

    lake = Lake(tmp_path)
    days = ["2024-03-01", "2024-03-02", "2024-03-04"]
    for i, day in enumerate(days):
        lake.write_partition("narratives", day, _narratives(day, 3 + i, tag=f"d{i}"))
    expected = pd.concat([lake.read("narratives", d, d) for d in days], ignore_index=True)

    def chunks(frame: pd.DataFrame, column: str) -> int:
        return frame[column].array.__arrow_array__().num_chunks

    whole = lake.read("narratives", days[0], days[-1])
    # per-day slices of a long range cost the number of chunks each: strings come back in one
    assert {chunks(whole, c) for c in ("narrative_id", "symbol", "headline")} == {1}
    pd.testing.assert_frame_equal(whole, expected, check_exact=True)

    def too_large(column):
        raise pa.ArrowCapacityError("array cannot contain more than 2147483646 bytes")

    monkeypatch.setattr(store, "_combine_chunks", too_large)
    chunked = lake.read("narratives", days[0], days[-1])
    assert chunks(chunked, "narrative_id") == len(days)  # left as it was read, nothing lost
    pd.testing.assert_frame_equal(chunked, expected, check_exact=True)


def test_failed_write_leaves_previous_partition_intact(tmp_path, monkeypatch):
    lake = Lake(tmp_path)
    lake.write_partition("narratives", "2024-03-01", _narratives("2024-03-01", 4, "old"))

    def exploding_fsync(fd):  # the temp file holds the new bytes; the device gives up before the rename
        raise OSError("disk full midway")

    monkeypatch.setattr("tracer_assets.lake.fs.os.fsync", exploding_fsync)
    with pytest.raises(OSError, match="disk full"):
        lake.write_partition("narratives", "2024-03-01", _narratives("2024-03-01", 9, "new"))
    monkeypatch.undo()
    back = lake.read("narratives", "2024-03-01", "2024-03-01")
    assert sorted(back["narrative_id"]) == sorted(f"old{i}" for i in range(4))
    leftovers = [p.name for p in (tmp_path / "narratives" / "date=2024-03-01").iterdir()]
    assert leftovers == ["part-0.parquet"]


def test_rewrite_replaces_whole_partition_and_empty_days_are_cleared(tmp_path):
    lake = Lake(tmp_path)
    two_days = pd.concat([_narratives("2024-03-01", 5), _narratives("2024-03-02", 2, "b")])
    lake.write_partitions("narratives", two_days, ["2024-03-01", "2024-03-02"])
    lake.write_partitions("narratives", _narratives("2024-03-01", 1, "c"), ["2024-03-01", "2024-03-02"])
    assert lake.read("narratives", "2024-03-01", "2024-03-01")["narrative_id"].tolist() == ["c0"]
    assert lake.read("narratives", "2024-03-02", "2024-03-02").empty
    assert lake.partitions("narratives") == ["2024-03-01", "2024-03-02"]


def test_rows_outside_the_written_days_are_refused(tmp_path):
    with pytest.raises(LakeSchemaError, match="outside the partitions"):
        Lake(tmp_path).write_partitions("narratives", _narratives("2024-03-05", 1), ["2024-03-01"])


def test_contract_violations_are_clear_errors(tmp_path):
    lake = Lake(tmp_path)
    with pytest.raises(LakeSchemaError, match="missing required columns"):
        lake.write_partition(
            "narratives", "2024-03-01", _narratives("2024-03-01", 1).drop(columns=["headline"])
        )
    naive = _narratives("2024-03-01", 1)
    naive["event_ts"] = naive["event_ts"].dt.tz_localize(None)
    with pytest.raises(LakeSchemaError, match="naive"):
        lake.write_partition("narratives", "2024-03-01", naive)
    with pytest.raises(LakeSchemaError, match="event_ts"):
        lake.write_partition("some_table", "2024-03-01", pd.DataFrame({"x": [1]}))


def test_duckdb_views_span_partitions(tmp_path):
    lake = Lake(tmp_path)
    lake.write_partition("narratives", "2024-03-01", _narratives("2024-03-01", 2))
    lake.write_partition("narratives", "2024-03-02", _narratives("2024-03-02", 3, "b"))
    lake.write_table(
        "summary",
        pd.DataFrame(
            {
                "n": [5],
                "event_ts": [pd.Timestamp("2024-03-02", tz="UTC")],
                "available_ts": [pd.Timestamp("2024-03-02", tz="UTC")],
            }
        ),
    )
    got = lake.query("SELECT date, count(*) AS n FROM narratives GROUP BY date ORDER BY date")
    assert got["n"].tolist() == [2, 3]
    assert lake.query("SELECT n FROM summary")["n"].tolist() == [5]
    assert lake.tables() == ["narratives", "summary"]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1",
        "WITH x AS (SELECT * FROM signals) SELECT count(*) FROM x",
        "SELECT * FROM bars UNION ALL SELECT * FROM bars",
        "DESCRIBE signals",
        "SUMMARIZE bars",
    ],
)
def test_read_only_guard_accepts_queries(sql):
    assert_read_only(sql)


@pytest.mark.parametrize(
    "sql",
    [
        "DROP TABLE signals",
        "INSERT INTO signals VALUES (1)",
        "COPY signals TO 'x.csv'",
        "CREATE TABLE t AS SELECT 1",
        "SELECT 1; DELETE FROM bars",
        "ATTACH 'x.db'",
        "UPDATE bars SET close = 0",
    ],
)
def test_read_only_guard_refuses_writes(sql):
    with pytest.raises(ReadOnlyViolation, match="refused|parse"):
        assert_read_only(sql)


def test_table_refs_skip_ctes():
    sql = "WITH s AS (SELECT * FROM signals) SELECT * FROM s JOIN eval_observations o ON true"
    assert table_refs(sql) == ["eval_observations", "signals"]


def test_parts_let_several_writers_share_a_partition(tmp_path):
    lake = Lake(tmp_path)
    lake.write_partition("narratives", "2024-03-01", _narratives("2024-03-01", 2, "a"), part="alpha")
    lake.write_partition("narratives", "2024-03-01", _narratives("2024-03-01", 3, "b"), part="beta")
    lake.write_partition("narratives", "2024-03-01", _narratives("2024-03-01", 1, "c"), part="alpha")
    assert sorted(lake.read("narratives")["narrative_id"]) == ["b0", "b1", "b2", "c0"]
    assert lake.query("select count(*) as n from narratives")["n"].iloc[0] == 4
    with pytest.raises(ValueError):
        lake.partition_path("narratives", "2024-03-01", part="../x")
