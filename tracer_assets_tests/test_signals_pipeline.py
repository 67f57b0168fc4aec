"""The signals entry point end to end: lake contract, rationale numbers, digit-free evidence."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

from tracer_assets.lake import Lake
from tracer_assets.lake.schemas import contract_columns
from tracer_assets.signals import SIGNAL_COLUMNS, compute_signals
from tracer_assets.signals.evidence import evidence_lines
from tracer_assets_tests.conftest import settings_factory
from tracer_assets_tests.synthetic_signals import hourly_features, pressure_at, synthetic_universe

START = pd.Timestamp("2024-02-01", tz="UTC")
END = pd.Timestamp("2024-02-22", tz="UTC")


@pytest.fixture(scope="module")
def universe():
    return synthetic_universe(3, 3, START, END, vol_window=48, seed=11)


settings = settings_factory(cooldown_hours=12)


def test_output_meets_the_lake_contract_and_round_trips(universe, tmp_path):
    features, pressure = universe
    res = compute_signals(
        features, pressure, None, None, settings().signals, start=START + pd.Timedelta(days=4)
    )
    sig = res.signals
    assert len(sig) > 5
    assert list(sig.columns) == SIGNAL_COLUMNS
    assert set(contract_columns("signals")) <= set(sig.columns)
    assert (sig["event_ts"] == sig["decision_ts"]).all() and (sig["available_ts"] == sig["decision_ts"]).all()
    assert sig["strength"].between(0, 1).all() and sig["internal_prob"].between(0, 1).all()
    assert set(sig["direction"]) <= {"long", "short"}
    assert sig["signal_id"].is_unique
    lake = Lake(tmp_path)
    day = sig["decision_ts"].iloc[0].normalize()
    part = sig[sig["decision_ts"].dt.normalize() == day]
    lake.write_partition("signals", day, part)
    back = lake.read("signals", day, day)
    assert sorted(back["signal_id"]) == sorted(part["signal_id"])


def test_same_inputs_give_the_same_rows(universe):
    features, pressure = universe
    a = compute_signals(features, pressure, None, None, settings().signals)
    b = compute_signals(
        features.sample(frac=1, random_state=3), pressure.iloc[::-1], None, None, settings().signals
    )
    pdt.assert_frame_equal(a.signals, b.signals)
    pdt.assert_frame_equal(a.held_back, b.held_back)


def test_held_back_rows_and_counts_agree(universe):
    features, pressure = universe
    res = compute_signals(features, pressure, None, None, settings(signal_min_volume_z=0.0).signals)
    assert sum(res.held_back_counts.values()) == len(res.held_back)
    assert res.held_back_counts["participation"] > 0
    assert res.held_back_counts["cooldown"] > 0
    assert set(res.held_back["reason"]) <= set(res.held_back_counts)


def test_every_evidence_line_is_digit_free_and_there_are_two_to_four(universe):
    features, pressure = universe
    sig = compute_signals(features, pressure, None, None, settings().signals).signals
    for raw in sig["evidence"]:
        lines = json.loads(raw)
        assert 2 <= len(lines) <= 4
        assert all(not re.search(r"\d", line) for line in lines), lines


def test_evidence_words_follow_the_facts():
    s = settings()
    row = {
        "direction": "long",
        "pressure": 4.0,
        "price_move_z": -1.2,
        "volume_z": 2.0,
        "trend_1h": 0.0,
        "trend_1d": 1.0,
        "reversal": False,
        "n_narratives": 1,
    }
    lines = evidence_lines(row, s.signals)
    assert (
        lines[0] == "Coverage turned sharply positive while price drifted lower over the last twelve hours."
    )
    assert "well above its usual level" in lines[1]
    assert lines[-1] == "A single fresh story drives the reading."
    short = evidence_lines(row | {"direction": "short", "pressure": -0.6, "price_move_z": 0.1}, s.signals)
    assert short[0].startswith("Coverage turned mildly negative while price barely moved")


def test_rationale_records_every_number_and_the_narratives():
    closes = 100 * np.exp(-0.002 * np.arange(30))
    f = hourly_features("ETH/USD", "crypto", closes, START, realized_vol=0.01, volume_z=0.8)
    p = pressure_at(f, np.r_[np.zeros(29), 1.5], n_narratives=2, narrative_ids="n-1,n-2")
    sig = compute_signals(f, p, None, None, settings().signals).signals
    r = json.loads(sig["rationale"].iloc[0])
    for key in (
        "pressure",
        "price_move_z",
        "price_move_log",
        "realized_vol",
        "volume_z",
        "ret_1h",
        "strength",
    ):
        assert isinstance(r[key], float), key
    assert r["pressure"] == pytest.approx(1.5)
    assert r["realized_vol"] == pytest.approx(0.01) and r["volume_z"] == pytest.approx(0.8)
    assert r["narrative_ids"] == ["n-1", "n-2"] and r["n_narratives"] == 2
    assert r["checks"]["participation"]["volume_z"] == pytest.approx(0.8)
    assert r["size"]["final"] == pytest.approx(sig["size"].iloc[0])
    assert r["internal_prob"] == pytest.approx(sig["internal_prob"].iloc[0])
    assert r["calibration"]["method"] == "prior"
    assert r["thresholds"]["min_pressure"] == settings().signals.signal_min_pressure
    assert sig["size_bucket"].iloc[0] in {"none", "small", "medium", "large"}


def test_empty_inputs_give_empty_frames_with_the_columns():
    f = hourly_features("ETH/USD", "crypto", [100.0] * 20, START)
    res = compute_signals(f, pressure_at(f, 0.0), None, None, settings().signals)
    assert res.signals.empty and list(res.signals.columns) == SIGNAL_COLUMNS
    assert res.held_back.empty and res.n_decisions == 20
    assert res.held_back_counts["stale"] == 0


def test_lake_typed_inputs_give_the_same_rows(universe):
    """Frames read back from Parquet carry microsecond timestamps; results must not change."""
    features, pressure = universe

    def micro(df):
        return df.astype({c: "datetime64[us, UTC]" for c in df.columns if c == "ts" or c.endswith("_ts")})

    a = compute_signals(features, pressure, None, None, settings().signals)
    b = compute_signals(micro(features), micro(pressure), None, None, settings().signals)
    pdt.assert_frame_equal(a.signals, b.signals)


def test_trend_words_name_one_agreeing_timeframe():
    s = settings()
    row = {"direction": "short", "pressure": -1.0, "price_move_z": 0.0, "volume_z": 0.0}
    lines = evidence_lines(row | {"trend_1h": -1.0, "trend_1d": 0.0, "reversal": False}, s.signals)
    assert "already leans the same way as the call, the other is flat" in lines[2]
    lines = evidence_lines(row | {"trend_1h": 1.0, "trend_1d": -1.0, "reversal": False}, s.signals)
    assert "leans against the call" in lines[2]
    assert len(lines) == 3  # no narrative count known: no story line
