"""A range read once and sliced per day gives the frames day reads give (digest, polymarket board), and the
array forms of market pairs and block ids equal the pandas forms they replace."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from tracer_assets.evaluation.block_bootstrap import block_ids
from tracer_assets.evaluation.metrics import cluster_days, market_pairs
from tracer_assets.lake import Lake
from tracer_assets.pipeline.range_reads import RangeReads, range_reads, span
from tracer_assets.pipeline.store import MemoryStore

DAYS = [d.strftime("%Y-%m-%d") for d in pd.date_range("2026-03-01", periods=6, freq="D")]


@pytest.fixture
def lake(tmp_path) -> Lake:
    lake = Lake(tmp_path / "lake")
    rng = np.random.default_rng(3)
    for i, day in enumerate(DAYS):
        if i == 2:
            continue  # a day with no partition
        n = 0 if i == 4 else int(rng.integers(1, 6))  # an empty part file too
        ts = pd.Timestamp(day, tz="UTC") + pd.to_timedelta(rng.integers(0, 86_400, n), unit="s")
        frame = pd.DataFrame(
            {"x": rng.normal(size=n), "name": [f"n{j}" for j in range(n)], "event_ts": ts, "available_ts": ts}
        )
        lake.write_partition("toy", day, frame)
        if i == 1:  # a second part file in one day
            lake.write_partition("toy", day, frame.assign(x=frame["x"] + 1), part="1")
    return lake


class CountingLake(Lake):
    """A lake that counts its batches of file reads."""

    reads = 0

    def _read_files(self, rels, columns):
        self.reads += 1
        return super()._read_files(rels, columns)


def test_every_read_inside_the_span_equals_the_lake_read(lake):
    reads = RangeReads(lake, DAYS[0], DAYS[-1])
    for lo in DAYS:
        for hi in DAYS:
            assert_frame_equal(reads.read("toy", lo, hi), lake.read("toy", lo, hi), check_exact=True)
    assert_frame_equal(reads.read("absent", DAYS[0], DAYS[1]), lake.read("absent", DAYS[0], DAYS[1]))


def test_the_span_is_read_once_and_reads_outside_it_go_to_the_lake(lake):
    counting = CountingLake(lake.root)
    reads = RangeReads(counting, DAYS[1], DAYS[4])
    for day in DAYS[1:5]:
        reads.read("toy", day, day)
    assert counting.reads == 1
    wide = reads.read("toy", DAYS[0], DAYS[4])  # starts before the span: the lake's read
    assert counting.reads == 2
    assert_frame_equal(wide, lake.read("toy", DAYS[0], DAYS[4]))
    assert list(reads.read("toy", DAYS[1], DAYS[1], columns=["x"]).columns) == ["x"]
    assert counting.reads == 3


def test_range_reads_wraps_only_a_lake_and_span_reaches_back(lake):
    memory = MemoryStore()
    assert range_reads(memory, DAYS[0], DAYS[1]) is memory
    assert isinstance(range_reads(lake, DAYS[0], DAYS[1]), RangeReads)
    assert span([DAYS[3], DAYS[1], DAYS[2]], look_back_days=2) == ("2026-02-28", DAYS[3])


def _merged_pairs(internal: pd.DataFrame, market: pd.DataFrame) -> pd.DataFrame:
    """The duplicates-dropped inner merge ``market_pairs`` made before (the oracle)."""
    keys = ["question_id", "lead_key"]

    def keyed(frame):
        out = frame[frame["question_id"].notna()]
        out = out.assign(lead_key=out["lead_label"].fillna(""), cluster_day=cluster_days(out))
        return out.drop_duplicates(keys, keep="first")[[*keys, "predicted_prob", "outcome", "cluster_day"]]

    pairs = keyed(internal).merge(
        keyed(market).drop(columns="cluster_day"), on=keys, suffixes=("_int", "_mkt")
    )
    return pairs.reset_index(drop=True)


def _side(rng, n: int) -> pd.DataFrame:
    qid = pd.Series([f"q{k}" for k in rng.integers(0, 6, n)], dtype=object)
    qid[rng.random(n) < 0.15] = None
    lead = pd.Series(rng.choice(["1h", "1d", None], n), dtype=object)
    resolved = pd.Timestamp("2026-03-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 10**6, n), unit="s")
    return pd.DataFrame(
        {
            "question_id": qid,
            "lead_label": lead,
            "predicted_prob": rng.random(n),
            "outcome": rng.integers(0, 2, n).astype(float),
            "resolved_ts": resolved,
        }
    )


@pytest.mark.parametrize("seed", range(30))
def test_market_pairs_equal_the_deduplicated_merge(seed):
    rng = np.random.default_rng(seed)
    internal, market = _side(rng, int(rng.integers(1, 25))), _side(rng, int(rng.integers(1, 25)))
    assert_frame_equal(market_pairs(internal, market), _merged_pairs(internal, market), check_exact=True)


def _floored_block_ids(days: pd.Series, block_days: int) -> np.ndarray:
    d = pd.to_datetime(days, utc=True).dt.floor("D")
    offset = ((d - d.min()) / pd.Timedelta(days=1)).to_numpy(dtype=float)
    return (np.nan_to_num(offset) // int(block_days)).astype(np.int64)


@pytest.mark.parametrize("seed", range(20))
def test_block_ids_equal_the_floored_day_offsets(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 40))
    ts = pd.Series(pd.to_datetime(rng.integers(-(10**9), 2 * 10**9, n), unit="s", utc=True))
    ts[rng.random(n) < 0.2] = pd.NaT
    variants = [ts, ts.dt.tz_convert("America/New_York"), ts.astype(object).where(ts.notna(), None)]
    for days in variants:
        for block in (1, 3, 7):
            got = block_ids(days, block)
            np.testing.assert_array_equal(got, _floored_block_ids(days, block))
            assert got.dtype == np.int64
    all_missing = pd.Series([pd.NaT] * 3, dtype="datetime64[us, UTC]")
    np.testing.assert_array_equal(block_ids(all_missing, 2), np.zeros(3, dtype=np.int64))
