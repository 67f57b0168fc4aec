"""The one fill-price and fee model shared by the backtest engine and paper execution.

A market order fills at a reference price (the next bar's open by default, or the signal bar's
close) moved against the trader by slippage:

    fill = ref * (1 + side * slippage_bps / 1e4) + side * slippage_range_frac * (high - low)

where ``side`` is +1 for a buy and -1 for a sell and (high, low) is the fill bar's range. The fee is
``fee_bps / 1e4`` of the filled notional. Paper trading and backtests both call these two functions,
so a paper fill and a backtest fill of the same order can never drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CostModel:
    """Fees and slippage of one market (fractions in basis points; range fraction in [0, 1])."""

    fee_bps: float = 0.0
    slippage_bps: float = 0.0
    slippage_range_frac: float = 0.0

    def __post_init__(self) -> None:
        if self.fee_bps < 0 or self.slippage_bps < 0:
            raise ValueError("fee_bps and slippage_bps must be >= 0")
        if not 0.0 <= self.slippage_range_frac <= 1.0:
            raise ValueError("slippage_range_frac must be in [0, 1]")

    def fill_price(self, side, ref_price, high=None, low=None):
        """Price paid (side +1) or received (side -1) for a market order at ``ref_price``."""
        side = np.sign(np.asarray(side, dtype=float))
        ref = np.asarray(ref_price, dtype=float)
        price = ref * (1.0 + side * self.slippage_bps / 1e4)
        if high is not None and low is not None and self.slippage_range_frac:
            price = price + side * self.slippage_range_frac * (
                np.asarray(high, dtype=float) - np.asarray(low, dtype=float)
            )
        return float(price) if np.ndim(price) == 0 else price

    def fee(self, notional):
        """Fee on a filled notional (always >= 0)."""
        fee = np.abs(np.asarray(notional, dtype=float)) * self.fee_bps / 1e4
        return float(fee) if np.ndim(fee) == 0 else fee
