"""Narrative pressure: decay arithmetic, point-in-time, counts, and agreement with a brute-force sum."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from tracer_assets.sentiment.pressure import (
    PRESSURE_COLUMNS,
    decay_weight,
    hourly_decision_times,
    narrative_pressure,
    pressure_lookback,
)
from tracer_assets.settings import TracerSettings


@pytest.fixture(autouse=True)
def _isolated(tracer_env):
    """No TRACER_* variable or .env file of the machine (e.g. a real Perplexity key) leaks in."""
    return tracer_env


T0 = pd.Timestamp("2024-03-01 00:00", tz="UTC")


def scores(rows) -> pd.DataFrame:
    """(symbol, hours after T0 when available, polarity, confidence, novelty)."""
    df = pd.DataFrame(rows, columns=["symbol", "hours", "polarity", "confidence", "novelty"])
    df["available_ts"] = T0 + pd.to_timedelta(df.pop("hours"), unit="h")
    df["event_ts"] = df["available_ts"]
    return df


def at(symbol: str, *hours: float) -> pd.DataFrame:
    return pd.DataFrame({"symbol": symbol, "decision_ts": [T0 + pd.Timedelta(hours=h) for h in hours]})


def test_decay_weight_is_a_true_half_life():
    assert decay_weight(0.0, 12.0) == 1.0
    assert decay_weight(12.0, 12.0) == pytest.approx(0.5)
    assert decay_weight(36.0, 12.0) == pytest.approx(0.125)
    assert decay_weight(-1.0, 12.0) == 0.0  # not yet available
    assert np.allclose(decay_weight(np.array([6.0, 24.0]), 12.0), [2**-0.5, 0.25])


def test_pressure_arithmetic():
    s = TracerSettings(pressure_half_life_hours=10.0)
    sc = scores([("X", 0, 0.8, 0.5, 1.0), ("X", 10, -0.5, 1.0, 0.5), ("Y", 0, 1.0, 1.0, 1.0)])
    out = narrative_pressure(sc, at("X", 0, 10, 20), s.sentiment)
    assert list(out.columns) == PRESSURE_COLUMNS
    first = 0.8 * 0.5
    second = -0.5 * 1.0 * 0.5
    assert out["pressure"].tolist() == pytest.approx(
        [first, first * 0.5 + second, first * 0.25 + second * 0.5]
    )
    assert out["n_narratives"].tolist() == [1, 2, 2]
    assert (out["event_ts"] == out["decision_ts"]).all() and (out["available_ts"] == out["decision_ts"]).all()


def test_point_in_time_a_later_narrative_is_invisible():
    s = TracerSettings(pressure_half_life_hours=12.0)
    base = scores([("X", 0, 1.0, 1.0, 1.0)])
    more = scores([("X", 0, 1.0, 1.0, 1.0), ("X", 5.5, -1.0, 1.0, 1.0)])
    t = at("X", 0, 5, 5.499)
    assert (
        narrative_pressure(base, t, s.sentiment)["pressure"].tolist()
        == narrative_pressure(more, t, s.sentiment)["pressure"].tolist()
    )
    # available exactly at the decision time counts (available_ts <= t)
    assert narrative_pressure(more, at("X", 5.5), s.sentiment)["pressure"][0] == pytest.approx(
        2 ** (-5.5 / 12) - 1
    )
    before = narrative_pressure(more, at("X", -1), s.sentiment)
    assert (
        before["pressure"][0] == 0.0
        and before["n_narratives"][0] == 0
        and pd.isna(before["last_narrative_available_ts"][0])
    )


def test_combined_columns_take_precedence_and_novelty_defaults_to_one():
    s = TracerSettings(pressure_half_life_hours=12.0)
    sc = scores([("X", 0, 0.5, 0.5, 1.0)]).drop(columns=["novelty"])
    sc["combined_polarity"] = [-1.0]
    sc["combined_confidence"] = [0.25]
    assert narrative_pressure(sc, at("X", 0), s.sentiment)["pressure"][0] == pytest.approx(-0.25)
    sc["combined_polarity"] = [np.nan]  # a null combined value falls back to the model's
    assert narrative_pressure(sc, at("X", 0), s.sentiment)["pressure"][0] == pytest.approx(0.125)


def test_matches_brute_force_over_a_long_span():
    """Half-life of 1 h over 120 days: exponents far beyond float range, still exact."""
    rng = np.random.default_rng(3)
    n = 400
    hours = np.sort(rng.uniform(0, 24 * 120, n))
    sc = scores(
        [
            ("X", h, p, c, v)
            for h, p, c, v in zip(
                hours, rng.uniform(-1, 1, n), rng.uniform(0, 1, n), rng.uniform(0, 1, n), strict=True
            )
        ]
    )
    s = TracerSettings(pressure_half_life_hours=1.0, pressure_count_half_lives=6.0)
    t_hours = np.concatenate([rng.uniform(0, 24 * 121, 300), hours[:20]])
    out = narrative_pressure(sc, at("X", *t_hours), s.sentiment)
    w = (sc["polarity"] * sc["confidence"] * sc["novelty"]).to_numpy()
    lam = math.log(2) / 1.0
    for t, got, count in zip(t_hours, out["pressure"], out["n_narratives"], strict=True):
        age = t - hours
        live = age >= 0
        expect = float(np.sum(w[live] * np.exp(-lam * age[live])))
        assert got == pytest.approx(expect, rel=1e-9, abs=1e-12)
        assert count == int(np.sum(live & (age < 6.0)))


def test_datetime_index_applies_to_every_symbol_and_hourly_grid():
    s = TracerSettings()
    sc = scores([("X", 0, 1.0, 1.0, 1.0), ("Y", 2, -1.0, 1.0, 1.0)])
    times = pd.date_range(T0, periods=4, freq="h")
    out = narrative_pressure(sc, times, s.sentiment)
    assert len(out) == 8 and set(out["symbol"]) == {"X", "Y"}
    grid = hourly_decision_times(["Y", "X"], T0 + pd.Timedelta(minutes=30), T0 + pd.Timedelta(hours=3))
    assert grid["decision_ts"].min() == T0 + pd.Timedelta(hours=1)
    assert len(grid) == 4  # hours 1 and 2, two symbols
    out2 = narrative_pressure(sc, grid, s.sentiment)
    assert out2.loc[out2["symbol"] == "Y", "pressure"].tolist() == [0.0, -1.0]


def test_symbols_without_narratives_get_zero_and_empty_scores_are_fine():
    s = TracerSettings()
    out = narrative_pressure(scores([("X", 0, 1.0, 1.0, 1.0)]), at("Z", 1, 2), s.sentiment)
    assert out["pressure"].tolist() == [0.0, 0.0] and out["n_narratives"].tolist() == [0, 0]
    empty = narrative_pressure(scores([]), at("X", 1), s.sentiment)
    assert empty["pressure"].tolist() == [0.0]


def test_naive_decision_times_are_rejected():
    with pytest.raises(ValueError, match="tz-aware"):
        narrative_pressure(
            scores([("X", 0, 1.0, 1.0, 1.0)]),
            pd.date_range("2024-03-01", periods=2, freq="h"),
            TracerSettings().sentiment,
        )


def test_lookback_covers_the_count_window_and_bounds_truncation_error():
    s = TracerSettings(pressure_half_life_hours=6.0, pressure_lookback_half_lives=10.0)
    assert pressure_lookback(s.sentiment) == pd.Timedelta(hours=60)
    # a narrative just beyond the lookback weighs under 2^-10
    assert decay_weight(60.0, 6.0) <= 2**-10
    wide = TracerSettings(
        pressure_half_life_hours=6.0, pressure_lookback_half_lives=2.0, pressure_count_half_lives=4.0
    )
    assert pressure_lookback(wide.sentiment) == pd.Timedelta(hours=24)


def test_windows_equal_separate_calls_on_their_rows():
    """Each window computes exactly what a call on its own decision and score rows gives, LLM
    corrections included, and rows come back in the order of the windows."""
    rng = np.random.default_rng(7)
    n = 60
    sc = scores(
        [
            (s, float(h), float(p), 0.8, 1.0)
            for s, h, p in zip(
                rng.choice(["AAA", "BBB"], n), rng.uniform(0, 96, n), rng.normal(0, 1, n), strict=True
            )
        ]
    )
    sc["llm_polarity"] = rng.normal(0, 1, n)
    sc["llm_obtained_ts"] = sc["available_ts"] + pd.to_timedelta(rng.uniform(-2, 6, n), unit="h")
    sc["combined_polarity"] = (sc["polarity"] + sc["llm_polarity"]) / 2
    dec = pd.concat([at("AAA", *range(0, 96, 5)), at("BBB", *range(1, 96, 7))], ignore_index=True)
    settings = TracerSettings().sentiment
    hours = (dec["decision_ts"] - T0) / pd.Timedelta(hours=1)
    avail = (sc["available_ts"] - T0) / pd.Timedelta(hours=1)
    windows = [
        (
            np.flatnonzero((hours >= lo) & (hours < lo + 48)),
            np.flatnonzero((avail > lo - 24) & (avail < lo + 48)),
        )
        for lo in (48, 0)
    ]
    got = narrative_pressure(sc, dec, settings, windows=windows)
    alone = pd.concat(
        [narrative_pressure(sc.iloc[s], dec.iloc[d], settings) for d, s in windows], ignore_index=True
    )
    pd.testing.assert_frame_equal(got, alone, check_exact=True)
    assert got["decision_ts"].iloc[0] == T0 + pd.Timedelta(hours=50)  # the first window's rows first
    assert (got["pressure"] != 0).sum() > 10
