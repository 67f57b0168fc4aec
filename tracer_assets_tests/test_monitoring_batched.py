"""The lake audit and the written-partition checks read a range's files once and check each run of
files sharing a schema at once (monitoring/stored_frames.py): every report must equal the one the
file-by-file, day-by-day check gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tracer_assets.lake import Lake
from tracer_assets.monitoring.audit import audit_days
from tracer_assets.monitoring.stored_frames import key_frames, schema_runs, stacked
from tracer_assets.monitoring.table_checks import (
    check_each_partition,
    check_partitions,
    grouped_row_problems,
    row_problems,
)

DAYS = ["2024-03-04", "2024-03-05", "2024-03-06", "2024-03-07"]


def _signals(day: str, n: int, seed: int, strength_nulls: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ts = pd.Timestamp(day, tz="UTC") + pd.to_timedelta(rng.integers(0, 86_000, n), unit="s")
    return pd.DataFrame(
        {
            "signal_id": [f"s{i}" for i in rng.integers(0, max(2, n // 2), n)],  # some duplicates
            "symbol": rng.choice(["BTC/USD", "AAPL"], n),
            "strength": None if strength_nulls else rng.uniform(-0.3, 1.3, n),
            "internal_prob": rng.uniform(-0.1, 1.1, n),
            "horizon_hours": rng.choice([24, 0, 48], n),
            "event_ts": ts,
            "available_ts": ts + pd.to_timedelta(rng.integers(-600, 3600, n), unit="s"),
        }
    )


def _parts(seed: int) -> dict[str, list[pa.Table]]:
    """Four days of signals with problems on most days; one day's column all-null (another Arrow
    type), one day split in two files of different schemas, one empty file."""
    parts = {}
    for i, day in enumerate(DAYS):
        frames = [_signals(day, 40 + 10 * i, seed + i, strength_nulls=(i == 2))]
        if i == 1:
            frames.append(_signals(day, 7, seed + 10, strength_nulls=True))
        parts[day] = [pa.Table.from_pandas(f, preserve_index=False) for f in frames]
    parts[DAYS[3]].append(pa.Table.from_pandas(_signals(DAYS[3], 0, seed), preserve_index=False))
    return parts


def _per_file_frame(tables: list[pa.Table]) -> pd.DataFrame | None:
    frames = [t.to_pandas() for t in tables if t.num_rows]
    return pd.concat(frames, ignore_index=True) if frames else None


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_each_partition_checked_at_once_equals_each_checked_alone(seed):
    parts = _parts(seed)
    together = check_each_partition("signals", parts)
    alone = {day: check_partitions("signals", {day: tables}) for day, tables in parts.items()}
    assert list(together) == DAYS
    for day in DAYS:
        assert (together[day].rows, together[day].problems) == (alone[day].rows, alone[day].problems)
    assert sum(not r.passed for r in together.values()) >= 3  # the seeds do break rules
    assert any("values outside" in p for r in together.values() for p in r.problems)


@pytest.mark.parametrize("seed", [1, 2])
def test_runs_of_one_schema_convert_as_file_by_file(seed):
    tables = [t for day in DAYS for t in _parts(seed)[day]]
    assert len(schema_runs(tables)) > 1  # the all-null day and the split day break the runs
    pd.testing.assert_frame_equal(stacked(tables), _per_file_frame(tables), check_exact=True)
    frames = dict(key_frames(_parts(seed)))
    assert DAYS[1] not in frames  # its two files differ in schema: left to the caller
    for day in (DAYS[0], DAYS[2], DAYS[3]):
        pd.testing.assert_frame_equal(frames[day], _per_file_frame(_parts(seed)[day]), check_exact=True)


def test_grouped_rules_equal_each_group_alone_on_parsed_and_text_columns():
    df = pd.concat([_signals(d, 30, 7 + i) for i, d in enumerate(DAYS)], ignore_index=True)
    group = np.repeat(np.arange(len(DAYS)), 30)
    expected = [row_problems("signals", df[group == g].reset_index(drop=True)) for g in range(len(DAYS))]
    assert grouped_row_problems("signals", df, group, len(DAYS)) == expected
    assert any("e.g." in p for ps in expected for p in ps)
    # timestamps stored as text (each day's file its own format) are parsed group by group, as each
    # group alone would be: pandas guesses a format from a column's first value
    formats = np.where(group % 2 == 0, "%Y-%m-%d %H:%M:%S", "%m/%d/%Y %H:%M")
    stamps = [t.strftime(f) for t, f in zip(df["event_ts"], formats, strict=True)]
    text = df.assign(event_ts=stamps)
    expected = [row_problems("signals", text[group == g].reset_index(drop=True)) for g in range(len(DAYS))]
    assert grouped_row_problems("signals", text, group, len(DAYS)) == expected


def test_audit_of_a_range_equals_the_audit_of_each_day(tmp_path):
    lake = Lake(tmp_path)
    for day, tables in _parts(4).items():
        for j, table in enumerate(tables):
            path = lake.partition_path("signals", day, "0" if j == 0 else f"p{j}")
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, path)
    bars = pd.DataFrame(
        {
            "symbol": ["X", "X"],
            "asset_class": "crypto",
            "source": "sim",
            "ts": pd.to_datetime(["2024-03-05 01:00", "2024-03-05 01:00"], utc=True),
            "open": [1.0, 1.0],
            "high": [0.5, 2.0],
            "low": [1.0, 1.0],
            "close": [1.0, -1.0],
            "volume": [1.0, 1.0],
        }
    ).assign(event_ts=lambda d: d["ts"], available_ts=lambda d: d["ts"])
    lake.write_partition("bars", DAYS[1], bars)
    together = audit_days(lake, DAYS)
    for day in DAYS:
        pd.testing.assert_frame_equal(together[day], audit_days(lake, [day])[day], check_exact=True)
    bars_row = together[DAYS[1]].set_index("table_name").loc["bars"]
    assert not bars_row["passed"] and "1 duplicate rows on key (symbol, ts)" in bars_row["problems"]
    assert "1 rows with low > high" in bars_row["problems"]
    assert list(together[DAYS[1]]["table_name"]) == ["bars", "signals"]


def test_read_arrow_returns_each_file_as_stored(tmp_path):
    """Whole-file reads skip pyarrow's dataset layer: the same table, schema metadata included."""
    lake = Lake(tmp_path)
    df = pd.DataFrame({"a": [1, 2], "b": ["x", None]}, index=[5, 6])
    path = lake.partition_path("signals", DAYS[0])
    path.parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pandas(df), path)
    (read,) = lake.read_arrow([lake.partition_key("signals", DAYS[0])])
    expected = pq.read_table(path)
    assert read.equals(expected) and read.schema.equals(expected.schema, check_metadata=True)
    assert read.to_pandas().index.tolist() == [5, 6]


def test_files_written_from_pandas_with_an_index_convert_as_file_by_file():
    """A hand-made file may carry pandas metadata (an index column): its rows convert as they would
    one by one, the index dropped as ``pd.concat(..., ignore_index=True)`` drops it."""
    frames = [_signals(day, 5, i).set_index("signal_id") for i, day in enumerate(DAYS)]
    tables = [pa.Table.from_pandas(f) for f in frames]
    assert len(schema_runs(tables)) == 1
    got = stacked(tables)
    pd.testing.assert_frame_equal(got, _per_file_frame(tables), check_exact=True)
    assert "signal_id" not in got.columns  # the index column went to the index, then was dropped
