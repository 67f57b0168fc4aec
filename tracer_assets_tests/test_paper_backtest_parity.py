"""Paper book against backtest engine on the same sim signals (issue 15): equal to the cent when the
risk limits do not bind, and where a cap binds the whole difference is the ``risk_events`` rows."""

from __future__ import annotations

import pandas as pd
import pytest

from tracer_assets.execution import parity
from tracer_assets.settings import RiskSettings, TracerSettings
from tracer_assets_tests.execution_helpers import START, run_sim, sim_bars, synthetic_signals
from tracer_assets_tests.ledger_checks import ledger_violations

END = START + pd.Timedelta(days=12)
FAR = 1e9
NON_BINDING = {
    "risk_max_gross_exposure": FAR,
    "risk_max_net_exposure": FAR,
    "risk_max_position": FAR,
    "risk_max_class_exposure": {"crypto": FAR, "stock": FAR},
    "risk_max_open_positions": 10**9,
    "risk_max_orders_per_hour": 10**9,
    "risk_daily_loss_limit": FAR,
    "risk_max_drawdown": 0.999,
    "risk_max_price_gap": FAR,
    "risk_volume_spike_ratio": FAR,
    "risk_max_data_age_hours": FAR,
}
# binding: the per-asset cap reduces entries and the open-position cap blocks them; drift trims (a
# held position cut back without a signal) are kept out, they are not a signal's decision
BINDING = {**NON_BINDING, "risk_max_position": 0.04, "risk_max_open_positions": 4, "risk_drift_trigger": 1.0}


@pytest.fixture(scope="module")
def world():
    bars = sim_bars("2024-12-20", "2025-01-22")
    signals = synthetic_signals(bars, 350, seed=5, start=START, end=END)
    # a few views with no size ride along: neither book trades them
    signals.loc[signals.index[::40], "size"] = 0.0
    return bars, signals


def _books(bars, signals, frames):
    settings = TracerSettings(lake_root="unused")
    paper = parity.paper_book(frames, settings.execution.execution_initial_cash)
    backtest = parity.backtest_book(signals, bars, START, END, settings.execution, settings.backtest)
    return paper, backtest, settings


def test_paper_pnl_equals_the_backtest_engines_to_the_cent_when_limits_do_not_bind(world):
    bars, signals = world
    frames = run_sim(
        signals,
        bars,
        START,
        END,
        RiskSettings(**NON_BINDING),
        execution_fee_bps=10.0,
        execution_slippage_bps=5.0,
        execution_slippage_range_frac=0.1,
    ).ledger.frames()
    assert frames["risk_events"].empty
    settings = TracerSettings(lake_root="unused")
    execution = settings.execution.model_copy(
        update={
            "execution_fee_bps": 10.0,
            "execution_slippage_bps": 5.0,
            "execution_slippage_range_frac": 0.1,
        }
    )
    paper = parity.paper_book(frames, execution.execution_initial_cash)
    backtest = parity.backtest_book(signals, bars, START, END, execution, settings.backtest)
    assert round(paper.pnl, 2) == round(backtest.pnl, 2) and paper.pnl != 0
    assert paper.trades == backtest.trades > 100
    # not only the end: the two books agree at every instant of the window
    assert (paper.equity - backtest.equity.reindex(paper.equity.index)).abs().max() < 0.005
    # the window exercises the shared rules: stock entries waiting for the session's open, entries
    # cancelled by their exit before they could fill, reversals, horizon exits
    orders, fills = frames["orders"], frames["fills"]
    assert (orders["status"] == "canceled").any()
    waited = fills.merge(orders[["order_id", "submitted_ts"]], on="order_id")
    assert ((waited["event_ts"] - waited["submitted_ts"]) > pd.Timedelta(hours=12)).any()
    assert (orders["leg"] == "exit").sum() > 50


def test_where_a_cap_binds_the_difference_is_the_risk_events(world):
    bars, signals = world
    risk = RiskSettings(**BINDING)
    frames = run_sim(signals, bars, START, END, risk).ledger.frames()
    paper, backtest, settings = _books(bars, signals, frames)
    events, orders = frames["risk_events"], frames["orders"]
    # the caps bind: entries were blocked and reduced, and the books differ
    assert (events["action"] == "blocked").sum() > 10 and (events["action"] == "reduced").sum() > 10
    assert abs(paper.pnl - backtest.pnl) > 1.0 and paper.trades < backtest.trades
    # every blocked order has its risk_events row, and no held position was trimmed
    assert ledger_violations(frames, risk)["blocked_without_event"] == 0
    assert parity.trims(frames) == 0
    # every entry the paper book did not send has a blocked row
    entries = orders[orders["leg"] == "entry"]
    assert set(entries.loc[entries["status"] == "blocked", "signal_id"]) <= set(
        events.loc[events["action"] == "blocked", "signal_id"]
    )
    # and the backtest with those rows applied (blocked: nothing opens; reduced: the reduced notional;
    # every other signal sized as the backtest sizes it, so an unrecorded reduction would show) is the
    # paper book again, to the cent and trade for trade
    replayed = parity.risk_replayed_signals(signals, frames)
    assert replayed["blocked"].any() and replayed["notional"].notna().any()
    again = parity.backtest_book(replayed, bars, START, END, settings.execution, settings.backtest)
    assert round(again.pnl, 2) == round(paper.pnl, 2)
    assert again.trades == paper.trades
