"""The paper book against the backtest engine on the same signals (issue 15's acceptance).

Both trade by ``backtest.trade_rules`` (entry and exit fill, horizon, sizing at the decision,
cancelled entries, ``CostModel``), so with risk limits that do not bind the paper PnL equals the
engine's to the cent, with the same trades. Where limits bind, the paper book is the engine's book
with the risk engine's decisions applied: ``risk_replayed_signals`` reads the ``risk_events`` rows back
into the signals (a blocked signal opens nothing, a reduced one opens the notional it was reduced to)
and the engine on those gives the paper PnL again, so the difference is fully accounted for by
``risk_events``. Drift trims (``risk_events`` rows without a signal) and kill switches that block
exits are not replayed; ``trims`` counts the former.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tracer_assets.backtest.signal_pnl import bar_panel, run_panel, signal_targets
from tracer_assets.execution.risk import BLOCKED, REDUCED
from tracer_assets.settings import BacktestSettings, ExecutionSettings


@dataclass
class BookPnl:
    pnl: float  # final equity less the initial cash
    trades: int  # positions opened (entries filled)
    equity: pd.Series  # per instant, after that instant's fills


def backtest_settings_for(execution: ExecutionSettings, backtest: BacktestSettings) -> BacktestSettings:
    """The backtest settings with the paper book's costs and cash: one ``CostModel`` for both."""
    return backtest.model_copy(
        update={
            "backtest_fee_bps": execution.execution_fee_bps,
            "backtest_slippage_bps": execution.execution_slippage_bps,
            "backtest_slippage_range_frac": execution.execution_slippage_range_frac,
            "backtest_initial_cash": execution.execution_initial_cash,
            "backtest_fill": "next_open",
        }
    )


def backtest_book(
    signals: pd.DataFrame,
    bars: pd.DataFrame,
    start: pd.Timestamp,
    end: pd.Timestamp,
    execution: ExecutionSettings,
    backtest: BacktestSettings,
) -> BookPnl:
    """The backtest engine's book of ``signals`` over [start, end), with the paper book's costs and cash."""
    settings = backtest_settings_for(execution, backtest)
    decisions = signals["decision_ts"] if len(signals) else ()
    panel = bar_panel(bars, start, end, decisions)
    result = run_panel(panel, signal_targets(signals, panel), settings)
    equity = pd.Series(result.equity[:, 0], index=panel.ts)
    cash = settings.backtest_initial_cash
    return BookPnl(float(equity.iloc[-1] - cash) if len(equity) else 0.0, len(result.trades), equity)


def paper_book(frames: dict[str, pd.DataFrame], cash: float) -> BookPnl:
    """The paper ledger's book: PnL from its last ``portfolio`` row, trades from its entry fills."""
    port, orders, fills = frames["portfolio"], frames["orders"], frames["fills"]
    equity = pd.Series(port["equity"].to_numpy(), index=pd.DatetimeIndex(port["ts"]))
    entries = set(orders.loc[orders["leg"] == "entry", "order_id"]) if len(orders) else set()
    trades = int(fills["order_id"].isin(entries).sum()) if len(fills) else 0
    return BookPnl(float(equity.iloc[-1] - cash) if len(equity) else 0.0, trades, equity)


def trims(frames: dict[str, pd.DataFrame]) -> int:
    """Drift trims sent (reductions of held positions, not of a signal's entry)."""
    orders = frames["orders"]
    return int(((orders["leg"] == "trim") & (orders["status"] != "blocked")).sum()) if len(orders) else 0


def risk_replayed_signals(signals: pd.DataFrame, frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The signals with the risk engine's decisions, read from ``risk_events`` alone: ``blocked``
    where a signal has a blocked row, and ``notional`` (the entry order's signed notional) where it has
    a reduced row; everything else trades as the backtest would trade it."""
    events, orders = frames["risk_events"], frames["orders"]
    out = signals.copy()
    out["blocked"] = False
    out["notional"] = np.nan
    if not len(events):
        return out
    with_signal = events[events["signal_id"].astype(str) != ""]
    blocked = set(with_signal.loc[with_signal["action"] == BLOCKED, "signal_id"])
    reduced = set(with_signal.loc[with_signal["action"] == REDUCED, "signal_id"]) - blocked
    entries = orders[(orders["leg"] == "entry") & (orders["status"] != "blocked")]
    signed = entries["notional"].where(entries["side"] == "buy", -entries["notional"])
    notional = pd.Series(signed.to_numpy(), index=entries["signal_id"].to_numpy())
    notional = notional[notional.index.isin(reduced)]
    out["blocked"] = out["signal_id"].isin(blocked)
    out["notional"] = out["signal_id"].map(notional).astype(float)
    return out
