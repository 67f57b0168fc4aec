"""When and at what price a paper order fills: the one place that decides it.

Same timing as the backtest engine: an order decided at a bar's close fills at the open of the
symbol's next bar (stocks have bars only inside XNYS sessions, so a signal at the close fills at the
next session's open), and an order with no later bar does not fill. Prices and fees come from the
shared ``CostModel``, so paper and backtest fills cannot drift apart.
"""

from __future__ import annotations

import pandas as pd

from tracer_assets.backtest.costs import CostModel


def fills_on_bar(bar_open_ts: pd.Timestamp, decided_ts: pd.Timestamp) -> bool:
    """True when a bar opening at ``bar_open_ts`` is the fill bar (or later) of an order decided then."""
    return bar_open_ts >= decided_ts


def fill(cost: CostModel, side: int, bar_open: float, bar_high: float, bar_low: float) -> float:
    """The fill price of a market order of ``side`` (+1 buy, -1 sell) on its fill bar."""
    return float(cost.fill_price(side, bar_open, bar_high, bar_low))
