"""Confirmation: open market, fresh and healthy inputs, volume participation, trend alignment."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from tracer_assets.signals import compute_signals
from tracer_assets_tests.conftest import settings_factory
from tracer_assets_tests.synthetic_signals import hourly_features, pressure_at

N = 30


settings = settings_factory(
    signal_window_hours=12,
    signal_min_pressure=0.5,
    signal_max_aligned_move_z=0.5,
    signal_min_volume_z=-1.0,
    signal_trend_flat_z=0.25,
    cooldown_hours=0,
)


def world(symbol="BTC/USD", asset_class="crypto", start="2024-03-04", step=-0.002, pressure=1.5, **kw):
    closes = 100 * np.exp(step * np.arange(N))
    f = hourly_features(symbol, asset_class, closes, pd.Timestamp(start, tz="UTC"), **kw)
    p = pressure_at(f, np.r_[np.zeros(N - 1), pressure])
    return f, p


def run(f, p, s=None, degraded=None):
    return compute_signals(f, p, None, None, (s or settings()).signals, degraded)


def test_stock_signal_is_suppressed_on_a_holiday_while_crypto_passes():
    # bars stamped on Independence Day 2024 (a stray provider bar): the exchange is closed
    stock_f, stock_p = world("AAPL", "crypto", start="2024-07-03 10:00")
    stock_f["asset_class"] = "stock"
    assert stock_f["available_ts"].iloc[-1].date() == pd.Timestamp("2024-07-04").date()
    crypto_f, crypto_p = world("BTC/USD", "crypto", start="2024-07-03 10:00")
    res = run(pd.concat([stock_f, crypto_f]), pd.concat([stock_p, crypto_p]))
    assert res.signals["symbol"].tolist() == ["BTC/USD"]
    assert res.held_back[["symbol", "reason"]].values.tolist() == [["AAPL", "closed_market"]]
    assert res.held_back_counts["closed_market"] == 1


def test_stock_signal_passes_inside_a_session_and_overnight_gaps_are_not_stale():
    f, p = world("AAPL", "stock", start="2024-07-08")  # spans several sessions and nights
    res = run(f, p)
    assert res.signals["symbol"].tolist() == ["AAPL"], res.held_back
    checks = json.loads(res.signals["checks"].iloc[0])
    assert checks["market_open"] is True


def test_stale_bar_is_held_back():
    f, p = world()
    f = f.drop(index=[N - 5, N - 4, N - 3, N - 2])  # four missing hours before the last bar
    p = p[p["decision_ts"].isin(f["available_ts"])]
    res = run(f, p, settings(signal_max_bar_gap_hours=3.0))
    assert res.signals.empty
    assert res.held_back["reason"].tolist() == ["stale"]
    assert len(run(f, p, settings(signal_max_bar_gap_hours=6.0)).signals) == 1


def test_stale_narrative_and_stale_pressure_are_held_back():
    f, p = world()
    old = p.copy()
    old["last_narrative_available_ts"] = old["decision_ts"] - pd.Timedelta(hours=30)
    res = run(f, old, settings(signal_max_narrative_age_hours=24))
    assert res.signals.empty and res.held_back["reason"].tolist() == ["stale"]
    # the latest pressure reading is three hours old at the decision
    late = p.iloc[[-4]].assign(pressure=1.5)
    last = f["available_ts"].iloc[-1]
    res = compute_signals(f, late, None, None, settings(signal_max_pressure_age_hours=2).signals, start=last)
    assert res.signals.empty and set(res.held_back["reason"]) == {"stale"}


def test_degraded_flags_hold_back_their_scope():
    f1, p1 = world("BTC/USD")
    f2, p2 = world("ETH/USD")
    f, p = pd.concat([f1, f2]), pd.concat([p1, p2])
    res = run(f, p, degraded={"ETH/USD"})
    assert res.signals["symbol"].tolist() == ["BTC/USD"]
    assert res.held_back[["symbol", "reason"]].values.tolist() == [["ETH/USD", "degraded"]]
    assert run(f, p, degraded={"news_provider"}).signals.empty  # a provider reaches every symbol
    assert len(run(f, p, degraded={"stock"}).signals) == 2  # an asset class only its own
    last = f1["available_ts"].iloc[-1]
    window = pd.DataFrame({"flag": ["bars"], "start_ts": [last - pd.Timedelta(hours=5)], "end_ts": [last]})
    assert len(run(f, p, degraded=window).signals) == 2  # the outage ended before the decision


def test_volume_participation_floor():
    f, p = world(volume_z=-1.5)
    res = run(f, p, settings(signal_min_volume_z=-1.0))
    assert res.signals.empty and res.held_back["reason"].tolist() == ["participation"]
    assert len(run(f, p, settings(signal_min_volume_z=-2.0)).signals) == 1
    f["volume_z"] = np.nan  # no volume history: participation cannot be shown
    assert run(f, p, settings(signal_min_volume_z=-2.0)).held_back["reason"].tolist() == ["participation"]


def test_call_against_both_trends_is_held_back_or_passes_as_a_recorded_reversal():
    # price falls hard every hour (hourly and daily trend down) while coverage is positive
    f, p = world(step=-0.006, pressure=1.5)
    blocked = run(f, p, settings(signal_allow_reversal=False))
    assert blocked.signals.empty and blocked.held_back["reason"].tolist() == ["alignment"]
    weak = run(f, p, settings(signal_allow_reversal=True, signal_reversal_min_strength=0.99))
    assert weak.held_back["reason"].tolist() == ["alignment"]
    passed = run(f, p, settings(signal_allow_reversal=True, signal_reversal_min_strength=0.1)).signals
    assert passed["reversal"].tolist() == [True]
    rationale = json.loads(passed["rationale"].iloc[0])
    assert rationale["reversal"] is True and "both the hourly and the daily" in rationale["reversal_reason"]
    assert rationale["trend_1h"] == -1 and rationale["trend_1d"] == -1


def test_one_contradicting_timeframe_is_not_a_contradiction():
    # daily trend down, last hour flat: not contradicted on two timeframes
    f, p = world(step=-0.002, pressure=1.5)
    out = run(f, p, settings(signal_allow_reversal=False)).signals
    assert len(out) == 1 and not out["reversal"].iloc[0]
    assert out["trend_1d"].iloc[0] == -1 and out["trend_1h"].iloc[0] == 0


def test_every_failed_check_is_listed_and_counted_once():
    f, p = world(volume_z=-5.0)
    res = run(f, p, degraded={"BTC/USD"})
    row = res.held_back.iloc[0]
    assert row["reason"] == "degraded"
    assert row["reasons"].split(",") == ["degraded", "participation"]
    counts = res.held_back_counts
    assert counts["degraded"] == 1 and sum(counts.values()) == 1
