"""Performance statistics of an equity curve and a trades table.

Return-based figures come from empyrical-reloaded; the trade-based ones (hit rate, average win and
loss, profit factor) are plain ratios, tested against backtesting.py's own figures.
"""

from __future__ import annotations

import empyrical as ep
import numpy as np
import pandas as pd


def periods_per_year(index: pd.DatetimeIndex) -> float:
    """Bars per year as observed in ``index`` (252-ish for daily stock bars, 365 for daily crypto)."""
    if len(index) < 2:
        return 252.0
    span_days = (index[-1] - index[0]) / pd.Timedelta(days=1)
    return float((len(index) - 1) / span_days * 365.25) if span_days > 0 else 252.0


def _finite(x: float) -> float:
    x = float(x)
    return x if np.isfinite(x) else float("nan")


def return_stats(equity: pd.Series, annualization: float) -> dict[str, float]:
    """Total and annualised return, volatility, Sharpe, Sortino, max drawdown and Calmar of ``equity``."""
    returns = equity.pct_change().dropna()
    if returns.empty:
        keys = ("total_return", "annual_return", "annual_volatility", "sharpe", "sortino", "max_drawdown")
        return {**dict.fromkeys(keys, float("nan")), "calmar": float("nan")}
    return {
        "total_return": _finite(equity.iloc[-1] / equity.iloc[0] - 1.0),
        "annual_return": _finite(ep.annual_return(returns, annualization=annualization)),
        "annual_volatility": _finite(ep.annual_volatility(returns, annualization=annualization)),
        "sharpe": _finite(ep.sharpe_ratio(returns, annualization=annualization)),
        "sortino": _finite(ep.sortino_ratio(returns, annualization=annualization)),
        "max_drawdown": _finite(ep.max_drawdown(returns)),
        "calmar": _finite(ep.calmar_ratio(returns, annualization=annualization)),
    }


def trade_stats(pnl: np.ndarray) -> dict[str, float]:
    """Hit rate, average win and loss, and profit factor of closed trades' PnL."""
    pnl = np.asarray(pnl, dtype=float)
    wins, losses = pnl[pnl > 0], pnl[pnl < 0]
    return {
        "n_trades": int(len(pnl)),
        "hit_rate": float(len(wins) / len(pnl)) if len(pnl) else float("nan"),
        "avg_win": float(wins.mean()) if len(wins) else float("nan"),
        "avg_loss": float(losses.mean()) if len(losses) else float("nan"),
        "profit_factor": float(wins.sum() / -losses.sum()) if len(losses) else float("nan"),
    }
