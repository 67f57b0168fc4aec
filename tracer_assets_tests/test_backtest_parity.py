"""Exact parity with backtesting.py on its GOOG daily data: the SMA cross, commission 0 and 0.2%."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from backtesting import Backtest
from backtesting.test import GOOG

from tracer_assets.backtest.costs import CostModel
from tracer_assets.backtest.engine import simulate
from tracer_assets.backtest.stats import trade_stats
from tracer_assets.backtest.strategies import sma, sma_cross_target, sma_grid_targets
from tracer_assets_tests.backtesting_peer import SmaCross


def reference(commission: float, n1: int = 10, n2: int = 20):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Backtest(GOOG, SmaCross, cash=10_000, commission=commission).run(n1=n1, n2=n2)


def ours(commission: float, n1: int = 10, n2: int = 20):
    c = GOOG["Close"].to_numpy(dtype=float)
    target = sma_cross_target(sma(c, n1), sma(c, n2))
    cost = CostModel(fee_bps=commission * 1e4)
    return simulate(
        GOOG["Open"], GOOG["High"], GOOG["Low"], c, target, cost=cost, cash=10_000, integer_units=True
    )


@pytest.mark.parametrize("commission", [0.0, 0.002])
def test_same_trades_and_final_equity_as_backtesting_py(commission):
    ref, mine = reference(commission), ours(commission)
    expected = ref._trades
    got = mine.trades[~mine.trades["is_open"]]
    assert len(got) == len(expected) > 50
    np.testing.assert_array_equal(got["entry_bar"], expected["EntryBar"])
    np.testing.assert_array_equal(got["exit_bar"], expected["ExitBar"])
    np.testing.assert_array_equal(got["units"], expected["Size"])
    np.testing.assert_array_equal(got["entry_price"], expected["EntryPrice"])
    np.testing.assert_array_equal(got["exit_price"], expected["ExitPrice"])
    np.testing.assert_allclose(got["pnl"], expected["PnL"], rtol=0, atol=1e-6)
    assert round(mine.equity[-1, 0], 2) == round(ref["Equity Final [$]"], 2)
    np.testing.assert_allclose(mine.equity[:, 0], ref._equity_curve["Equity"], rtol=0, atol=1e-6)


def test_trade_figures_match_backtesting_pys_stats():
    ref, mine = reference(0.002), ours(0.002)
    s = trade_stats(mine.trades.loc[~mine.trades["is_open"], "pnl"].to_numpy())
    assert s["hit_rate"] * 100 == pytest.approx(ref["Win Rate [%]"])
    # backtesting.py's "Profit Factor" sums trade returns; ours is gross profit / gross loss in cash,
    # the same definition applied to its trades' PnL
    pnl = ref._trades["PnL"]
    assert s["profit_factor"] == pytest.approx(pnl[pnl > 0].sum() / -pnl[pnl < 0].sum())
    assert s["avg_win"] == pytest.approx(pnl[pnl > 0].mean())
    assert s["avg_loss"] == pytest.approx(pnl[pnl < 0].mean())


def test_another_pair_matches_too():
    ref, mine = reference(0.002, 5, 30), ours(0.002, 5, 30)
    assert len(mine.trades[~mine.trades["is_open"]]) == len(ref._trades)
    assert round(mine.equity[-1, 0], 2) == round(ref["Equity Final [$]"], 2)


def test_sma_is_pandas_rolling_mean_bit_for_bit():
    c = GOOG["Close"].to_numpy(dtype=float)
    for n in (1, 2, 10, 20, 50, 200):
        np.testing.assert_array_equal(sma(c, n), pd.Series(c).rolling(n).mean().to_numpy())


def test_the_grid_equals_the_single_runs_column_by_column():
    c = GOOG["Close"].to_numpy(dtype=float)
    pairs = [(5, 20), (10, 20), (10, 50)]
    grid = simulate(
        GOOG["Open"],
        GOOG["High"],
        GOOG["Low"],
        c,
        sma_grid_targets(c, pairs),
        cost=CostModel(fee_bps=20),
        cash=10_000,
        integer_units=True,
    )
    for col, (f, s) in enumerate(pairs):
        assert grid.equity[-1, col] == ours(0.002, f, s).equity[-1, 0]
