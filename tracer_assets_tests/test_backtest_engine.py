"""The backtest engine: costs, fill timing, sessions, shorts, the last bar, portfolio accounting."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tracer_assets.backtest.costs import CostModel
from tracer_assets.backtest.engine import simulate
from tracer_assets.backtest.stats import trade_stats

NAN = np.nan


def bars(opens, closes=None, spread=0.0):
    o = np.asarray(opens, dtype=float)
    c = o + 1.0 if closes is None else np.asarray(closes, dtype=float)
    return o, np.maximum(o, c) + spread, np.minimum(o, c) - spread, c


def test_long_fills_at_the_next_open_and_closes_at_the_open_after_the_exit_signal():
    o, h, lo, c = bars([100, 102, 104, 106, 108])
    target = np.array([0.5, NAN, 0.0, NAN, NAN])
    r = simulate(o, h, lo, c, target, cash=1000.0)
    t = r.trades.iloc[0]
    assert (t.entry_bar, t.exit_bar, t.entry_price, t.exit_price) == (1, 3, 102.0, 106.0)
    assert t.units == pytest.approx(1000.0 * 0.5 / 102.0)
    assert t.pnl == pytest.approx(t.units * 4.0)
    assert r.equity[-1, 0] == pytest.approx(1000.0 + t.pnl)


def test_fill_at_the_signal_bars_close_option():
    o, h, lo, c = bars([100, 102, 104, 106], closes=[101, 103, 105, 107])
    r = simulate(o, h, lo, c, np.array([1.0, NAN, 0.0, NAN]), cash=1000.0, fill="close")
    t = r.trades.iloc[0]
    assert (t.entry_bar, t.exit_bar, t.entry_price, t.exit_price) == (0, 2, 101.0, 105.0)


def test_fees_cost_exactly_bps_of_both_fills():
    o, h, lo, c = bars([100, 100, 110, 110])
    target = np.array([1.0, NAN, 0.0, NAN])
    free = simulate(o, h, lo, c, target, cash=1000.0).trades.iloc[0]
    paid = simulate(o, h, lo, c, target, cash=1000.0, cost=CostModel(fee_bps=25)).trades.iloc[0]
    expected_fees = 25e-4 * paid.units * (100.0 + 110.0)
    assert paid.fees == pytest.approx(expected_fees)
    assert paid.pnl == pytest.approx(paid.units * 10.0 - expected_fees)
    # sizing leaves room for the entry fee, so fewer units than without fees
    assert paid.units == pytest.approx(1000.0 / (100.0 * (1 + 25e-4)))
    assert free.pnl > paid.pnl


def test_slippage_moves_both_fills_against_the_trader_by_bps_plus_range_fraction():
    o = np.array([100.0, 100.0, 110.0, 110.0])
    h, lo, c = o + 2.0, o - 2.0, o  # every bar's range is 4
    cost = CostModel(slippage_bps=10, slippage_range_frac=0.25)
    t = simulate(o, h, lo, c, np.array([0.5, NAN, 0.0, NAN]), cash=1000.0, cost=cost).trades.iloc[0]
    assert t.entry_price == pytest.approx(100.0 * 1.001 + 0.25 * 4)
    assert t.exit_price == pytest.approx(110.0 * 0.999 - 0.25 * 4)
    assert t.pnl == pytest.approx(t.units * (t.exit_price - t.entry_price))
    assert t.fees == 0.0


def test_a_short_gains_when_the_price_falls_and_pays_slippage_on_the_buy_back():
    o, h, lo, c = bars([100, 100, 90, 90], closes=[100, 100, 90, 90])
    cost = CostModel(slippage_bps=10)
    t = simulate(o, h, lo, c, np.array([-1.0, NAN, 0.0, NAN]), cash=1000.0, cost=cost).trades.iloc[0]
    assert t.units < 0
    assert t.entry_price == pytest.approx(100.0 * 0.999)  # a sale receives less
    assert t.exit_price == pytest.approx(90.0 * 1.001)  # the buy-back pays more
    assert t.pnl == pytest.approx(-t.units * (t.entry_price - t.exit_price))
    assert t.pnl > 0


def test_an_opposite_target_closes_and_reverses_at_the_same_fill():
    o, h, lo, c = bars([100, 101, 102, 103, 104])
    r = simulate(o, h, lo, c, np.array([1.0, -1.0, NAN, NAN, NAN]), cash=1000.0)
    first, second = r.trades.iloc[0], r.trades.iloc[1]
    assert first.exit_bar == second.entry_bar == 2
    assert first.units > 0 > second.units
    assert bool(second.is_open)


def test_a_signal_on_the_last_bar_does_not_fill():
    o, h, lo, c = bars([100, 101, 102])
    r = simulate(o, h, lo, c, np.array([NAN, NAN, 1.0]), cash=1000.0)
    assert r.trades.empty
    assert r.equity[-1, 0] == 1000.0


def test_a_stock_order_waits_outside_the_session_and_fills_at_the_next_open():
    # rows 2-4 are outside the session (no bar); a signal at the session's last close (row 1)
    o = np.array([100, 101, NAN, NAN, NAN, 105, 106])
    c = np.array([100.5, 101.5, NAN, NAN, NAN, 105.5, 106.5])
    h, lo = np.fmax(o, c) + 1, np.fmin(o, c) - 1
    r = simulate(o, h, lo, c, np.array([NAN, 1.0, NAN, NAN, NAN, NAN, NAN]), cash=1000.0)
    t = r.trades.iloc[0]
    assert t.entry_bar == 5 and t.entry_price == 105.0
    # equity is marked at the last close while the market is shut
    assert np.all(r.equity[:5, 0] == 1000.0)


def test_whole_units_only_when_asked():
    o, h, lo, c = bars([30, 30, 30])
    frac = simulate(o, h, lo, c, np.array([1.0, NAN, NAN]), cash=100.0).trades.iloc[0]
    whole = simulate(o, h, lo, c, np.array([1.0, NAN, NAN]), cash=100.0, integer_units=True).trades.iloc[0]
    assert frac.units == pytest.approx(100 / 30)
    assert whole.units == 3.0


def test_a_portfolio_shares_cash_and_its_equity_is_cash_plus_every_columns_pnl():
    rng = np.random.default_rng(3)
    n, s = 200, 3
    c = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, (n, s)), axis=0))
    o = np.vstack([c[:1], c[:-1]])
    h, lo = np.fmax(o, c) * 1.002, np.fmin(o, c) * 0.998
    target = np.full((n, s), np.nan)
    idx = rng.choice(n, size=(30, s))
    for col in range(s):
        target[idx[:, col], col] = rng.choice([-0.3, 0.0, 0.3], size=30)
    cost = CostModel(fee_bps=5, slippage_bps=3, slippage_range_frac=0.1)
    r = simulate(o, h, lo, c, target, cash=10_000.0, account=np.zeros(s, dtype=int), cost=cost)
    assert r.equity.shape == (n, 1)
    assert np.allclose(r.equity[:, 0], 10_000.0 + r.column_pnl.sum(axis=1))
    closed = r.trades[~r.trades["is_open"]]
    realised = closed["pnl"].sum() + r.trades.loc[r.trades["is_open"], "pnl"].sum()
    assert r.equity[-1, 0] == pytest.approx(10_000.0 + realised)
    exposure = r.exposure(np.zeros(s, dtype=int))[:, 0]
    assert 0.25 < exposure.max() < 1.0  # 3 x 0.3 when opened, drifting with the prices


def test_a_grid_runs_each_column_as_its_own_account():
    o, h, lo, c = bars(np.linspace(100, 120, 50))
    one = np.full(50, np.nan)
    one[5] = 1.0
    grid = np.column_stack([one, -one, np.full(50, np.nan)])
    r = simulate(o, h, lo, c, grid, cash=1000.0)
    assert r.equity.shape == (50, 3)
    assert r.equity[-1, 0] > 1000.0 > r.equity[-1, 1]
    assert r.equity[-1, 2] == 1000.0


def test_trade_stats_hit_rate_win_loss_and_profit_factor():
    s = trade_stats(np.array([10.0, -5.0, 20.0, -15.0, 0.0]))
    assert s["hit_rate"] == pytest.approx(2 / 5)
    assert s["avg_win"] == 15.0 and s["avg_loss"] == -10.0
    assert s["profit_factor"] == pytest.approx(30 / 20)


def test_bad_arguments_are_refused():
    o, h, lo, c = bars([100, 101])
    with pytest.raises(ValueError, match="fill"):
        simulate(o, h, lo, c, np.array([1.0, NAN]), fill="tomorrow")
    with pytest.raises(ValueError, match="slippage_range_frac"):
        CostModel(slippage_range_frac=2.0)


def test_engine_time_index_is_positional():
    # the engine is index-free: a DataFrame's columns work as arrays
    df = pd.DataFrame({"o": [1.0, 2.0, 3.0], "c": [1.5, 2.5, 3.5]})
    r = simulate(df["o"], df["c"] + 1, df["o"] - 1, df["c"], np.array([1.0, NAN, NAN]), cash=10.0)
    assert r.trades.iloc[0].entry_price == 2.0
