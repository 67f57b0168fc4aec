"""Signals to positions: horizon exits, renewals, reversals, session waits, baselines, empty ranges."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import tracer_assets.backtest.report as report_module
from tracer_assets.backtest.baselines import placebo_targets, shuffle_pressure
from tracer_assets.backtest.report import backtest_range
from tracer_assets.backtest.signal_pnl import bar_panel, run_panel, signal_targets, trades_table
from tracer_assets.lake.schemas import contract_columns
from tracer_assets.settings import BacktestSettings

START = pd.Timestamp("2024-03-04", tz="UTC")
END = START + pd.Timedelta(days=3)
H = pd.Timedelta(hours=1)


def hourly_bars(symbol="BTC/USD", asset_class="crypto", hours=None, seed=0):
    ts = pd.date_range(START, END - H, freq="h", tz="UTC") if hours is None else hours
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.002, len(ts))))
    open_ = np.r_[100.0, close[:-1]]
    return pd.DataFrame(
        {
            "symbol": symbol,
            "asset_class": asset_class,
            "ts": ts,
            "open": open_,
            "high": np.fmax(open_, close) * 1.001,
            "low": np.fmin(open_, close) * 0.999,
            "close": close,
            "volume": 1.0,
            "event_ts": ts + H,
            "available_ts": ts + H,
        }
    )


def signal(ts, direction="long", symbol="BTC/USD", size=0.1, horizon=24, sid="s"):
    return {
        "signal_id": sid,
        "symbol": symbol,
        "asset_class": "crypto",
        "decision_ts": pd.Timestamp(ts, tz="UTC"),
        "direction": direction,
        "strength": 0.5,
        "size": size,
        "horizon_hours": horizon,
    }


def settings(**kw):
    return BacktestSettings(backtest_fee_bps=0, backtest_slippage_bps=0, backtest_slippage_range_frac=0, **kw)


def run(signals, bars=None, **kw):
    bars = hourly_bars() if bars is None else bars
    panel = bar_panel(bars, START, END)
    tg = signal_targets(pd.DataFrame(signals), panel)
    s = settings(**kw)
    return trades_table(run_panel(panel, tg, s), panel, s, "tracer", END, pd.DataFrame(signals), tg.openings)


def test_a_signal_holds_for_its_horizon_from_the_next_open():
    t = run([signal("2024-03-04 05:00", sid="a")]).iloc[0]
    assert t.entry_ts == pd.Timestamp("2024-03-04 05:00", tz="UTC")  # the bar opening at the decision
    assert t.exit_ts == pd.Timestamp("2024-03-05 05:00", tz="UTC")
    assert t.signal_id == "a" and t.direction == "long" and not t.is_open


def test_a_same_direction_signal_extends_the_hold_and_an_opposite_one_reverses():
    t = run([signal("2024-03-04 05:00", sid="a"), signal("2024-03-04 20:00", sid="b")])
    assert len(t) == 1 and t.iloc[0].exit_ts == pd.Timestamp("2024-03-05 20:00", tz="UTC")
    t = run([signal("2024-03-04 05:00", sid="a"), signal("2024-03-04 10:00", "short", sid="b")])
    assert list(t["direction"]) == ["long", "short"]
    assert t.iloc[0].exit_ts == t.iloc[1].entry_ts == pd.Timestamp("2024-03-04 10:00", tz="UTC")
    assert list(t["signal_id"]) == ["a", "b"]


def test_a_stock_signal_at_the_close_fills_at_the_next_sessions_open():
    days = [pd.date_range(f"2024-03-0{d} 14:30", periods=7, freq="h", tz="UTC") for d in (4, 5, 6)]
    bars = hourly_bars("AAPL", "stock", hours=days[0].append(days[1]).append(days[2]))
    sig = {**signal("2024-03-04 21:30", symbol="AAPL", horizon=48), "asset_class": "stock"}
    t = run([sig], bars=bars).iloc[0]
    assert t.entry_ts == pd.Timestamp("2024-03-05 14:30", tz="UTC")
    assert t.is_open  # 48 h from Monday's close runs past the range's last bar


def test_a_signal_at_a_short_last_bars_close_never_fills_before_it_was_decided():
    # the session's last bar is half an hour (20:30-21:00 UTC): a signal at 21:00 waits for the next
    # session's open, and its 24 h exit (21:00 next day) fills at the open after that
    day = [*pd.date_range("2024-03-04 14:30", periods=7, freq="h", tz="UTC")]
    hours = pd.DatetimeIndex(
        day + [t + pd.Timedelta(days=1) for t in day] + [t + pd.Timedelta(days=2) for t in day]
    )
    bars = hourly_bars("AAPL", "stock", hours=hours)
    last = bars["ts"].dt.strftime("%H:%M") == "20:30"
    bars.loc[last, ["event_ts", "available_ts"]] = bars.loc[last, "ts"] + pd.Timedelta(minutes=30)
    sig = {**signal("2024-03-04 21:00", symbol="AAPL"), "asset_class": "stock"}
    t = run([sig], bars=bars).iloc[0]
    assert t.entry_ts == pd.Timestamp("2024-03-05 14:30", tz="UTC")
    assert t.exit_ts == pd.Timestamp("2024-03-06 14:30", tz="UTC")


def test_an_exit_at_the_instant_of_a_new_same_side_signal_closes_and_reopens():
    # the paper broker exits at the horizon, then takes the new signal: two trades, not one long hold
    t = run([signal("2024-03-04 05:00", sid="a"), signal("2024-03-05 05:00", sid="b")])
    assert list(t["signal_id"]) == ["a", "b"]
    assert t.iloc[0].exit_ts == t.iloc[1].entry_ts == pd.Timestamp("2024-03-05 05:00", tz="UTC")


def test_close_fill_option_enters_at_the_decision_bars_close():
    t = run([signal("2024-03-04 05:00")], backtest_fill="close").iloc[0]
    assert t.entry_ts == pd.Timestamp("2024-03-04 05:00", tz="UTC")
    bars = hourly_bars()
    assert (
        t.entry_price == bars.loc[bars["ts"] == pd.Timestamp("2024-03-04 04:00", tz="UTC"), "close"].iloc[0]
    )


def test_fees_and_slippage_lower_pnl_by_what_they_cost():
    sig = [signal("2024-03-04 05:00")]
    free = run(sig).iloc[0]
    bars = hourly_bars()
    panel = bar_panel(bars, START, END)
    tg = signal_targets(pd.DataFrame(sig), panel)
    s = BacktestSettings(backtest_fee_bps=10, backtest_slippage_bps=5, backtest_slippage_range_frac=0.1)
    paid = trades_table(
        run_panel(panel, tg, s), panel, s, "tracer", END, pd.DataFrame(sig), tg.openings
    ).iloc[0]
    units = paid.units
    gross = units * (paid.exit_price - paid.entry_price)
    assert paid.pnl == pytest.approx(gross - paid.fees)
    assert paid.fees == pytest.approx(10e-4 * units * (paid.entry_price + paid.exit_price))
    assert paid.slippage == pytest.approx(
        units * ((paid.entry_price - free.entry_price) + (free.exit_price - paid.exit_price))
    )
    assert paid.entry_price > free.entry_price and paid.exit_price < free.exit_price


def test_placebo_keeps_count_holds_and_directions_per_draw():
    bars = hourly_bars()
    panel = bar_panel(bars, START, END)
    sigs = [signal("2024-03-04 05:00", sid="a"), signal("2024-03-05 12:00", "short", horizon=6, sid="b")]
    trades = run(sigs)
    trades["entry_bar"] = [panel.ts.get_loc(t) for t in trades["entry_ts"]]
    trades["exit_bar"] = [panel.ts.get_loc(t) for t in trades["exit_ts"]]
    target, price_col, account = placebo_targets(trades, panel, draws=25, seed=1)
    assert target.shape == (panel.n_bars, 25) and (price_col == 0).all() and (account == np.arange(25)).all()
    opens = np.nan_to_num(target, nan=0.0)
    assert ((opens > 0).sum(axis=0) == 1).all() and ((opens < 0).sum(axis=0) == 1).all()
    again, _, _ = placebo_targets(trades, panel, draws=25, seed=1)
    np.testing.assert_array_equal(np.nan_to_num(target, nan=9), np.nan_to_num(again, nan=9))  # seeded


def test_placebo_blocks_give_the_figures_of_one_block(monkeypatch):
    """The placebo's draws run in blocks bounded by cells (memory); any block size, the same report."""
    bars = pd.concat([hourly_bars(), hourly_bars("ETH/USD", seed=1)], ignore_index=True)
    sigs = pd.DataFrame(
        [
            signal("2024-03-04 05:00", sid="a"),
            signal("2024-03-05 12:00", "short", symbol="ETH/USD", horizon=6, sid="b"),
            signal("2024-03-06 02:00", symbol="ETH/USD", horizon=12, sid="c"),
        ]
    )
    panel_cells = bar_panel(bars, START, END).n_bars * 2  # one draw's cells
    reports = []
    for cells in (1, 5 * panel_cells, 10**9):  # one draw a block, blocks of 5 (and a short last), all
        monkeypatch.setattr(report_module, "PLACEBO_BLOCK_CELLS", cells)
        reports.append(backtest_range(bars, sigs, settings(backtest_placebo_draws=12), START, END, []))
    assert reports[0].summary["placebo_draws"].iloc[0] == 12
    for other in reports[1:]:
        pd.testing.assert_frame_equal(reports[0].summary, other.summary)
        pd.testing.assert_frame_equal(reports[0].equity, other.equity)
        pd.testing.assert_frame_equal(reports[0].placebo_band, other.placebo_band)


def test_shuffled_pressure_keeps_each_symbols_values_but_not_their_times():
    ts = pd.date_range(START, periods=50, freq="h", tz="UTC")
    p = pd.DataFrame(
        {
            "symbol": "BTC/USD",
            "decision_ts": ts,
            "pressure": np.arange(50.0),
            "n_narratives": np.arange(50),
            "last_narrative_available_ts": ts - H,
        }
    )
    out = shuffle_pressure(p, np.random.default_rng(0))
    assert sorted(out["pressure"]) == list(np.arange(50.0))
    assert not (out["pressure"].to_numpy() == np.arange(50.0)).all()
    assert (out["decision_ts"] - out["last_narrative_available_ts"] == H).all()  # ages move with values


def test_an_empty_range_gives_empty_tables_with_their_columns():
    report = backtest_range(pd.DataFrame(), pd.DataFrame(), settings(), START, END, [])
    for table, df in (
        ("backtest_trades", report.trades),
        ("backtest_equity", report.equity),
        ("backtest_summary", report.summary),
    ):
        assert df.empty and set(contract_columns(table)) <= set(df.columns)
