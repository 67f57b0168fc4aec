"""The paper broker: caps hold in the ledger, fills use the shared timing and cost model, a range
equals its days, and the kill switch drills (manual, drawdown, stale data) stop every later order."""

from __future__ import annotations

import pandas as pd
import pytest

from tracer_assets.backtest.costs import CostModel
from tracer_assets.execution.controls import KILL, RESUME, append_control, control_row
from tracer_assets.execution.sim import PaperSim, SimState
from tracer_assets.lake import Lake
from tracer_assets.settings import RiskSettings, TracerSettings
from tracer_assets_tests.execution_helpers import (
    START,
    TIGHT,
    asset_classes,
    run_sim,
    sim_bars,
    synthetic_signals,
)
from tracer_assets_tests.ledger_checks import ledger_violations

END = START + pd.Timedelta(days=14)


@pytest.fixture(scope="module")
def world():
    bars = sim_bars("2024-12-20", "2025-01-22")
    return bars, synthetic_signals(bars, 400, seed=3, start=START, end=END)


@pytest.mark.parametrize("caps", [{}, TIGHT], ids=["default caps", "tight caps"])
def test_caps_never_breached_and_every_blocked_order_has_a_risk_event(world, caps):
    bars, signals = world
    risk = RiskSettings(**caps)
    frames = run_sim(signals, bars, START, END, risk).ledger.frames()
    assert ledger_violations(frames, risk) == dict.fromkeys(ledger_violations(frames, risk), 0)
    port, pos = frames["portfolio"], frames["positions"]
    assert (port["gross_exposure"] / port["equity"]).max() <= risk.risk_max_gross_exposure
    marked = pos.merge(port[["ts", "equity"]], on="ts")
    assert (marked["market_value"].abs() / marked["equity"]).max() <= risk.risk_max_position
    blocked = frames["orders"][frames["orders"]["status"] == "blocked"]
    assert blocked["signal_id"].isin(frames["risk_events"]["signal_id"]).all()
    if caps:  # the tight caps bind: orders were reduced and blocked, and the book still held them
        assert len(blocked) > 10
        assert (frames["risk_events"]["action"] == "reduced").sum() > 10
        assert (port["gross_exposure"] / port["equity"]).max() > 0.5 * risk.risk_max_gross_exposure


def test_a_range_equals_its_days_run_one_by_one(world):
    bars, signals = world
    risk = RiskSettings(**TIGHT)
    whole = run_sim(signals, bars, START, START + pd.Timedelta(days=5), risk)
    state, parts = SimState.initial(TracerSettings().execution.execution_initial_cash), []
    for day in pd.date_range(START, periods=5, freq="D"):
        result = run_sim(signals, bars, day, day + pd.Timedelta(days=1), risk, state=state)
        state = SimState.from_json(result.states[day.strftime("%Y-%m-%d")])
        parts.append(result.ledger.frames())
    for table in ("orders", "fills", "portfolio"):
        joined = pd.concat([p[table] for p in parts], ignore_index=True)
        assert len(joined) == len(whole.ledger.frames()[table]), table
    assert joined["equity"].to_numpy() == pytest.approx(
        whole.ledger.frames()["portfolio"]["equity"].to_numpy()
    )


def _one_signal(bars, symbol, at, direction="long", size=0.05, horizon_hours=24):
    sig = synthetic_signals(bars[bars["symbol"] == symbol], 1, seed=0)
    sig["decision_ts"], sig["direction"], sig["size"] = pd.Timestamp(at), direction, size
    sig["event_ts"] = sig["available_ts"] = sig["decision_ts"]
    sig["horizon_hours"] = horizon_hours
    return sig


def test_fill_is_the_next_bars_open_with_the_shared_cost_model(world):
    bars, _ = world
    cost = CostModel(10.0, 5.0, 0.1)
    # a stock signal at the session's last close (Friday) fills at Monday's first open
    aapl = bars[bars["symbol"] == "AAPL"].sort_values("ts")
    fridays = aapl[(aapl["ts"].dt.dayofweek == 4) & (aapl["ts"] >= START)]
    friday_close = fridays[fridays["ts"].dt.date == fridays["ts"].dt.date.iloc[0]]["available_ts"].iloc[-1]
    sig = _one_signal(bars, "AAPL", friday_close, horizon_hours=72)
    frames = run_sim(
        sig,
        bars,
        START,
        END,
        execution_fee_bps=10.0,
        execution_slippage_bps=5.0,
        execution_slippage_range_frac=0.1,
    ).ledger.frames()
    entry = frames["fills"].iloc[0]
    nxt = aapl[aapl["ts"] >= friday_close].iloc[0]
    assert nxt["ts"].dayofweek == 0 and entry["event_ts"] == nxt["ts"]
    assert entry["price"] == pytest.approx(cost.fill_price(1, nxt["open"], nxt["high"], nxt["low"]))
    assert entry["fee"] == pytest.approx(cost.fee(entry["qty"] * entry["price"]))
    assert entry["qty"] * entry["price"] == pytest.approx(
        0.05 * TracerSettings().execution.execution_initial_cash
    )
    # the exit, a horizon later (Monday 21:00, after the close), sells at Tuesday's open sells at that bar's open moved against the seller
    exit_fill = frames["fills"].iloc[1]
    bar = aapl[aapl["ts"] == exit_fill["event_ts"]].iloc[0]
    assert exit_fill["price"] == pytest.approx(cost.fill_price(-1, bar["open"], bar["high"], bar["low"]))
    assert exit_fill["qty"] == pytest.approx(-entry["qty"])


def test_no_fill_without_a_next_bar(world):
    bars, _ = world
    btc = bars[bars["symbol"] == "BTC/USD"]
    last_close = btc["available_ts"].max()
    sig = _one_signal(bars, "BTC/USD", last_close)
    frames = run_sim(sig, bars, START, last_close + pd.Timedelta(hours=2)).ledger.frames()
    assert len(frames["orders"]) == 1 and frames["orders"]["status"].iloc[0] == "submitted"
    assert frames["fills"].empty


def test_equity_is_cash_plus_marked_holdings_from_the_fills(world):
    bars, signals = world
    frames = run_sim(signals, bars, START, END).ledger.frames()
    fills, port = frames["fills"], frames["portfolio"]
    cash = (
        TracerSettings().execution.execution_initial_cash
        - (fills["qty"] * fills["price"] + fills["fee"]).sum()
    )
    assert port["cash"].iloc[-1] == pytest.approx(cash)
    held = fills.groupby("symbol")["qty"].sum()
    closes = (
        bars[bars["available_ts"] <= port["ts"].iloc[-1]]
        .sort_values("available_ts")
        .groupby("symbol")["close"]
        .last()
    )
    assert port["equity"].iloc[-1] == pytest.approx(cash + (held * closes.reindex(held.index)).sum())


def test_drill_manual_kill_switch_mid_run_sends_no_later_order(tmp_path, world):
    bars, signals = world
    lake = Lake(tmp_path / "lake")
    mid = START + pd.Timedelta(days=5, hours=7)
    append_control(lake, control_row(KILL, "ops", "drill", mid))
    frames = run_sim(signals, bars, START, END, lake=lake).ledger.frames()
    orders = frames["orders"]
    before, after = orders[orders["submitted_ts"] < mid], orders[orders["submitted_ts"] >= mid]
    assert (before["status"] != "blocked").sum() > 0
    assert len(after) > 0 and (after["status"] == "blocked").all()
    assert frames["fills"]["event_ts"].max() <= mid + pd.Timedelta(hours=1)  # only what was already sent
    port = frames["portfolio"]
    assert port[port["ts"] >= mid]["kill_switch"].all() and not port[port["ts"] < mid]["kill_switch"].any()
    # it stays tripped until resume-trading; after the resume orders flow again
    append_control(lake, control_row(RESUME, "ops", "drill over", mid + pd.Timedelta(days=2)))
    resumed = run_sim(signals, bars, START, END, lake=lake).ledger.frames()["orders"]
    later = resumed[resumed["submitted_ts"] >= mid + pd.Timedelta(days=2)]
    assert (later["status"] != "blocked").sum() > 0


def test_drill_drawdown_trips_the_kill_switch_and_it_stays_tripped(world):
    bars, signals = world
    result = run_sim(signals, bars, START, END, RiskSettings(risk_max_drawdown=0.002))
    frames = result.ledger.frames()
    halted = frames["risk_events"][frames["risk_events"]["rule"] == "max_drawdown"]
    assert len(halted) == 1 and halted["action"].iloc[0] == "halted"
    trip = halted["ts"].iloc[0]
    later = frames["orders"][frames["orders"]["submitted_ts"] >= trip]
    assert (later["status"] == "blocked").all()
    assert frames["portfolio"][frames["portfolio"]["ts"] >= trip]["kill_switch"].all()
    assert result.controls and result.controls[0]["who"] == "risk_engine"


def test_drill_degraded_inputs_trip_the_staleness_kill_switch(world):
    bars, signals = world
    settings = TracerSettings(lake_root="unused")
    degraded = (START + pd.Timedelta(days=3)).strftime("%Y-%m-%d")
    sim = PaperSim(settings.risk, settings.execution, asset_classes(), pd.DataFrame(), {degraded})
    frames = sim.run(signals, bars, START, END, SimState.initial(1e5)).ledger.frames()
    ev = frames["risk_events"]
    assert (ev[ev["rule"] == "data_staleness"]["action"] == "halted").any()
    later = frames["orders"][frames["orders"]["submitted_ts"] >= pd.Timestamp(degraded, tz="UTC")]
    assert len(later) and (later["status"] == "blocked").all()


def test_a_stale_signal_bar_trips_the_staleness_kill_switch(world):
    bars, _ = world
    aapl = bars[bars["symbol"] == "AAPL"]
    fridays = aapl[(aapl["ts"].dt.dayofweek == 4) & (aapl["ts"] >= START)]
    saturday = fridays["available_ts"].iloc[0].floor("D") + pd.Timedelta(hours=36)
    frames = run_sim(_one_signal(bars, "AAPL", saturday), bars, START, END).ledger.frames()
    assert frames["risk_events"]["rule"].tolist()[:2] == ["data_staleness", "kill_switch"]
    assert frames["fills"].empty


def test_an_exit_due_before_the_entry_could_fill_cancels_it(world):
    bars, _ = world
    aapl = bars[bars["symbol"] == "AAPL"]
    friday = aapl[(aapl["ts"].dt.dayofweek == 4) & (aapl["ts"] >= START)]["available_ts"]
    friday_close = friday[friday.dt.date == friday.dt.date.iloc[0]].iloc[-1]
    frames = run_sim(
        _one_signal(bars, "AAPL", friday_close, horizon_hours=24), bars, START, END
    ).ledger.frames()
    assert frames["orders"]["status"].tolist() == ["canceled"] and frames["fills"].empty
