"""The pre-trade risk checks: anomalies, loss limit, rate limit and open positions block; caps reduce
an order to fit (or block it when the room left is below the smallest order); drift is trimmed."""

from __future__ import annotations

import pandas as pd
import pytest

from tracer_assets.execution.risk import Book, MarketCheck, check_entry, drift_trims
from tracer_assets.settings import RiskSettings

TS = pd.Timestamp("2025-01-06 10:00", tz="UTC")
CLASSES = {"BTC/USD": "crypto", "ETH/USD": "crypto", "AAPL": "stock", "MSFT": "stock"}


def _check(notional, exposure=None, risk=None, **kw):
    args = {"orders_last_hour": 0, "day_return": 0.0, "market": MarketCheck()}
    args.update(kw)
    return check_entry(
        risk or RiskSettings(),
        ts=TS,
        symbol="BTC/USD",
        signal_id="s1",
        notional=notional,
        book=Book(100_000.0, exposure or {}, CLASSES),
        **args,
    )


@pytest.mark.parametrize(
    ("kw", "rule"),
    [
        ({"market": MarketCheck(gap=0.2)}, "price_gap"),
        ({"market": MarketCheck(volume_ratio=50.0)}, "volume_spike"),
        ({"day_return": -0.05}, "daily_loss"),
        ({"orders_last_hour": 20}, "order_rate"),
    ],
)
def test_blocking_rules(kw, rule):
    d = _check(5_000.0, **kw)
    assert d.notional == 0 and [(e["rule"], e["action"]) for e in d.events] == [(rule, "blocked")]


def test_an_ordinary_order_passes_untouched():
    d = _check(5_000.0)
    assert d.notional == 5_000.0 and d.events == []


def test_max_open_positions_blocks_a_new_symbol_only():
    risk = RiskSettings(risk_max_open_positions=2)
    held = {"AAPL": 1_000.0, "MSFT": 1_000.0}
    assert _check(1_000.0, held, risk).events[0]["rule"] == "max_open_positions"
    assert (
        _check(1_000.0, {**held, "BTC/USD": 500.0}, RiskSettings(risk_max_open_positions=3)).notional
        == 1_000.0
    )


def test_position_cap_reduces_to_the_headroom():
    risk = RiskSettings(risk_max_position=0.1, risk_cap_headroom=0.9)
    d = _check(50_000.0, risk=risk)
    assert d.notional == pytest.approx(9_000.0)
    assert [(e["rule"], e["action"]) for e in d.events] == [("position_cap", "reduced")]


def test_short_orders_reduce_against_the_net_cap():
    risk = RiskSettings(risk_max_position=0.5, risk_max_net_exposure=0.2, risk_cap_headroom=1.0)
    d = _check(-30_000.0, {"AAPL": -10_000.0}, risk)
    assert d.notional == pytest.approx(-10_000.0)
    assert d.events[-1]["rule"] == "net_cap"


def test_class_and_gross_caps_block_when_no_room_is_left():
    risk = RiskSettings(risk_max_class_exposure={"crypto": 0.1, "stock": 0.5}, risk_cap_headroom=1.0)
    d = _check(5_000.0, {"ETH/USD": 10_000.0}, risk)
    assert d.notional == 0 and d.events[0]["rule"] == "class_cap"
    gross = RiskSettings(risk_max_gross_exposure=0.3, risk_cap_headroom=1.0)
    d = _check(5_000.0, {"AAPL": 15_000.0, "MSFT": -14_950.0}, gross)
    assert d.notional == 0 and d.events[0]["rule"] == "gross_cap"


def test_drift_trims_bring_positions_back_under_the_caps():
    risk = RiskSettings(risk_max_position=0.1, risk_drift_trigger=0.95, risk_cap_headroom=0.9)
    trims, events = drift_trims(risk, TS, Book(100_000.0, {"BTC/USD": 9_800.0, "AAPL": -5_000.0}, CLASSES))
    assert trims == {"BTC/USD": pytest.approx(9_000.0 - 9_800.0)}
    assert events[0]["rule"] == "position_cap_drift" and events[0]["action"] == "reduced"
    assert drift_trims(risk, TS, Book(100_000.0, {"BTC/USD": 9_400.0}, CLASSES)) == ({}, [])
