"""How a signal becomes trades: the one definition paper execution and the backtest engine share.

Both the paper broker (``execution/sim.py``) and the backtest of Tracer's signals
(``backtest/signal_pnl.py`` on the engine's event-time mode) call these rules, so with risk limits
that do not bind the two give the same trades and the same PnL to the cent.

- **Signals that trade:** size > 0 (a zero size is a view, not a trade), taken in
  (``decision_ts``, ``signal_id``) order.
- **Instants:** time is the sorted set of instants in [start, end): every hour, every bar's open and
  close, every decision. At an instant the closes that happen then are marked first, then the
  decisions of that instant are taken, then the orders that can fill then fill.
- **Entry and exit fill:** an order decided at ``d`` fills at the open of the symbol's first bar
  opening at or after ``d`` (a bar opening at ``d`` itself counts: decisions precede that
  instant's fills). Stocks have bars only inside XNYS sessions, so an order decided outside a session
  waits for the next session's open. An order with no such bar before the range's end never fills.
- **Horizon exit:** a position is closed at its horizon end, ``decision_ts + horizon_hours``; the
  exit is decided at the first instant at or after it (and fills by the rule above). A later signal in
  the same direction before that instant extends the horizon; an opposite one closes and reverses at
  the same fill; a signal at the very instant of the exit opens a new position after the exit.
- **A pending entry** (decided, not yet filled) is cancelled by its own exit or a reversal decided at
  or before its fill bar's open: it never fills.
- **Sizing:** an entry's notional is ``direction x size x equity`` at its decision instant, equity
  being cash plus holdings marked at the last closes known then; the quantity is that notional over the
  fill price, the fee (``CostModel.fee``) is paid on top.
- **Costs:** ``CostModel.fill_price`` on the fill bar's open, high and low, and ``CostModel.fee``.
"""

from __future__ import annotations

import pandas as pd

from tracer_assets.backtest.costs import CostModel

HOUR = pd.Timedelta(hours=1)


def tradable_signals(signals: pd.DataFrame, start=None, end=None) -> pd.DataFrame:
    """The signals that trade, decided in [start, end), in the order they are taken."""
    if not len(signals):
        return signals
    sig = signals.copy()
    sig["decision_ts"] = pd.to_datetime(sig["decision_ts"], utc=True)
    keep = sig["size"].astype(float) > 0
    if start is not None:
        keep &= sig["decision_ts"] >= start
    if end is not None:
        keep &= sig["decision_ts"] < end
    return sig[keep].sort_values(["decision_ts", "signal_id"], kind="stable")


def event_grid(start: pd.Timestamp, end: pd.Timestamp, *times) -> pd.DatetimeIndex:
    """The instants of [start, end): every hour plus the given times (bar opens, closes, decisions)."""
    grid = pd.date_range(start, end, freq="h", inclusive="left").as_unit("us")
    for t in times:
        if len(t):
            grid = grid.append(pd.DatetimeIndex(pd.to_datetime(t, utc=True)).as_unit("us"))
    grid = grid.unique().sort_values()
    return grid[(grid >= start) & (grid < end)]


def exit_due(decision_ts, horizon_hours):
    """The horizon end of a signal (scalar or Series)."""
    return decision_ts + pd.to_timedelta(horizon_hours, unit="h")


def fills_on_bar(bar_open_ts: pd.Timestamp, decided_ts: pd.Timestamp) -> bool:
    """True when a bar opening at ``bar_open_ts`` may fill an order decided at ``decided_ts``."""
    return bar_open_ts >= decided_ts


def fill_price(cost: CostModel, side: int, bar_open: float, bar_high: float, bar_low: float) -> float:
    """The fill price of a market order of ``side`` (+1 buy, -1 sell) on its fill bar."""
    return float(cost.fill_price(side, bar_open, bar_high, bar_low))


def entry_notional(direction: int, size: float, equity: float) -> float:
    """Signed notional of an entry: ``size`` of the equity at the decision, in ``direction``."""
    return direction * float(size) * equity


def fill_qty(notional: float, price: float) -> float:
    """Signed quantity of an entry of ``notional`` filled at ``price`` (the fee is paid on top)."""
    return notional / price
