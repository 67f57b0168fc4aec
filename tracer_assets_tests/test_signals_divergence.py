"""Divergence rule: pressure against the vol-normalised price move, strength in [0, 1]."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tracer_assets.signals import compute_signals
from tracer_assets.signals.divergence import decision_frame, divergence_candidates
from tracer_assets_tests.conftest import settings_factory
from tracer_assets_tests.synthetic_signals import hourly_features, pressure_at

T0 = pd.Timestamp("2024-03-04 00:00", tz="UTC")
N = 30


settings = settings_factory(
    signal_window_hours=12,
    signal_min_pressure=0.5,
    signal_max_aligned_move_z=0.5,
    signal_min_volume_z=-10.0,
    cooldown_hours=0,
)


def world(step: float, pressure_last: float, vol: float = 0.01, symbol: str = "BTC/USD"):
    """Closes moving ``step`` log per bar; pressure zero except at the last decision."""
    closes = 100 * np.exp(step * np.arange(N))
    f = hourly_features(symbol, "crypto", closes, T0, realized_vol=vol)
    p = pressure_at(f, np.r_[np.zeros(N - 1), pressure_last])
    return f, p


def run(f, p, s):
    return compute_signals(f, p, None, None, s.signals)


def test_bullish_divergence_when_pressure_positive_and_price_fell():
    f, p = world(step=-0.002, pressure_last=1.5)
    out = run(f, p, settings()).signals
    assert len(out) == 1
    row = out.iloc[0]
    assert row["direction"] == "long"
    assert row["decision_ts"] == f["available_ts"].iloc[-1]
    expected_z = (-0.002 * 12) / (0.01 * np.sqrt(12))
    assert row["price_move_z"] == pytest.approx(expected_z)
    assert 0.0 < row["strength"] < 1.0


def test_bearish_divergence_is_the_mirror():
    f, p = world(step=+0.002, pressure_last=-1.5)
    out = run(f, p, settings()).signals
    assert out["direction"].tolist() == ["short"]
    f2, p2 = world(step=-0.002, pressure_last=1.5)
    mirror = run(f2, p2, settings()).signals
    assert out["strength"].iloc[0] == pytest.approx(mirror["strength"].iloc[0])


def test_no_signal_when_price_already_moved_with_the_narrative():
    f, p = world(step=+0.004, pressure_last=1.5)  # z = 0.048 / (0.01 * sqrt 12) > 0.5
    s = settings()
    assert run(f, p, s).signals.empty
    # the same move counts as lagging once the threshold allows it: thresholds are settings
    assert len(run(f, p, settings(signal_max_aligned_move_z=2.0)).signals) == 1


def test_pressure_below_the_minimum_gives_nothing():
    f, p = world(step=-0.002, pressure_last=0.4)
    assert run(f, p, settings()).signals.empty
    assert len(run(f, p, settings(signal_min_pressure=0.3)).signals) == 1


def test_move_is_normalised_by_the_symbols_own_volatility():
    # the same +2.4% window move is 'already moved' for a calm symbol and 'lagging' for a wild one
    calm_f, calm_p = world(step=0.002, pressure_last=1.5, vol=0.002, symbol="CALM/USD")
    wild_f, wild_p = world(step=0.002, pressure_last=1.5, vol=0.05, symbol="WILD/USD")
    out = run(pd.concat([calm_f, wild_f]), pd.concat([calm_p, wild_p]), settings()).signals
    assert out["symbol"].tolist() == ["WILD/USD"]


def test_strength_grows_with_pressure_and_with_lag_and_stays_in_unit_interval():
    s = settings()
    strengths = []
    for pressure in (0.6, 1.0, 3.0, 50.0):
        f, p = world(step=-0.002, pressure_last=pressure)
        strengths.append(run(f, p, s).signals["strength"].iloc[0])
    assert strengths == sorted(strengths) and len(set(strengths)) == 4
    assert all(0.0 <= x <= 1.0 for x in strengths)
    lagging = []
    for step in (0.0, -0.002, -0.004):
        f, p = world(step=step, pressure_last=1.0)
        lagging.append(run(f, p, s).signals["strength"].iloc[0])
    assert lagging == sorted(lagging)


def test_strength_formula_matches_the_documented_one():
    s = settings(signal_pressure_scale=2.0, signal_lag_weight=0.3)
    d = pd.DataFrame({"pressure": [1.5], "price_move_z": [-1.0]})
    c = divergence_candidates(d, s.signals)
    expected = 1 - np.exp(-((1.5 - 0.5) / 2.0 + 0.3 * (0.5 + 1.0)))
    assert c["strength"].iloc[0] == pytest.approx(expected)


def test_pressure_is_read_point_in_time():
    f, _ = world(step=-0.002, pressure_last=0.0)
    last = f["available_ts"].iloc[-1]
    late = pd.DataFrame(
        {"symbol": ["BTC/USD"], "decision_ts": [last + pd.Timedelta(minutes=30)], "pressure": [5.0]}
    )
    assert run(f, late, settings()).signals.empty  # a reading from after the decision is not used
    on_time = late.assign(decision_ts=[last])
    assert len(run(f, on_time, settings(signal_max_pressure_age_hours=1.0)).signals) == 1


def test_pressure_that_read_the_future_is_an_error():
    f, p = world(step=-0.002, pressure_last=1.5)
    p.loc[p.index[-1], "last_narrative_available_ts"] = p["decision_ts"].iloc[-1] + pd.Timedelta(hours=1)
    with pytest.raises(ValueError, match="after its decision time"):
        run(f, p, settings())


def test_missing_columns_and_naive_timestamps_are_clear_errors():
    f, p = world(step=-0.002, pressure_last=1.5)
    with pytest.raises(ValueError, match="realized_vol"):
        run(f.drop(columns=["realized_vol"]), p, settings())
    naive = f.assign(available_ts=f["available_ts"].dt.tz_localize(None))
    with pytest.raises(ValueError, match="naive"):
        run(naive, p, settings())


def test_no_volatility_history_is_held_back_not_lost():
    f, p = world(step=-0.002, pressure_last=1.5)
    f["realized_vol"] = np.nan
    res = run(f, p, settings())
    assert res.signals.empty
    assert res.held_back["reason"].tolist() == ["insufficient_history"]


def test_decision_range_uses_earlier_rows_only_as_lookback():
    f, p = world(step=-0.002, pressure_last=1.5)
    s = settings()
    start = f["available_ts"].iloc[-1]
    d = decision_frame(f, p, s.signals, start=start)
    assert len(d) == 1 and np.isfinite(d["price_move_z"].iloc[0])
    res = compute_signals(f, p, None, None, s.signals, start=start)
    assert res.n_decisions == 1 and len(res.signals) == 1


def test_optional_pressure_columns_may_be_missing():
    f, p = world(step=-0.002, pressure_last=1.5)
    out = run(f, p[["symbol", "decision_ts", "pressure"]], settings()).signals
    assert len(out) == 1
