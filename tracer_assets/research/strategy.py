"""The signal strategy scored simply: each signal holds its sized position from the decision close to
the last close known at its horizon (a horizon-hold P&L, no fees), and the strategy's daily return is
the sum of the P&L of the trades that closed that day. Sharpe by empyrical-reloaded (365 days a year,
crypto trades every day). Hit rate = share of resolved signals whose direction was right."""

from __future__ import annotations

import empyrical
import numpy as np
import pandas as pd

from tracer_assets.evaluation.metrics import wilson_interval

TRADING_DAYS = 365


def _close_at(bars: pd.DataFrame, queries: pd.DataFrame, time_col: str) -> pd.DataFrame:
    """Last close (and its available_ts) known at ``queries[time_col]``, per symbol."""
    b = bars[["symbol", "available_ts", "close"]].astype(
        {"available_ts": "datetime64[ns, UTC]", "symbol": str}
    )
    q = queries[["symbol", time_col]].astype({time_col: "datetime64[ns, UTC]", "symbol": str}).reset_index()
    m = pd.merge_asof(
        q.sort_values(time_col),
        b.sort_values("available_ts"),
        left_on=time_col,
        right_on="available_ts",
        by="symbol",
        direction="backward",
    )
    return m.set_index("index")[["close", "available_ts"]].reindex(queries.index)


def signal_trades(signals: pd.DataFrame, bars: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """One row per signal whose horizon passed by ``as_of``: ``exit_ts``, ``ret`` (signed log return of
    the underlying), ``pnl`` (size x ret), ``hit`` (direction right)."""
    cols = ["signal_id", "symbol", "decision_ts", "exit_ts", "ret", "pnl", "hit"]
    if signals.empty or bars.empty:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in cols})
    s = signals.copy()
    s["decision_ts"] = pd.to_datetime(s["decision_ts"], utc=True)
    s["exit_ts"] = s["decision_ts"] + pd.to_timedelta(s["horizon_hours"].astype(int), unit="h")
    entry = _close_at(bars, s, "decision_ts")
    exit_ = _close_at(bars, s, "exit_ts")
    moved = exit_["available_ts"] > s["decision_ts"].astype("datetime64[ns, UTC]")
    ok = (s["exit_ts"] <= pd.Timestamp(as_of)) & entry["close"].notna() & exit_["close"].notna() & moved
    s, entry, exit_ = s[ok], entry[ok], exit_[ok]
    sign = np.where(s["direction"] == "long", 1.0, -1.0)
    ret = sign * np.log(exit_["close"].to_numpy(float) / entry["close"].to_numpy(float))
    size = s["size"].astype(float).to_numpy() if "size" in s.columns else np.ones(len(s))
    return pd.DataFrame(
        {
            "signal_id": s["signal_id"].to_numpy(),
            "symbol": s["symbol"].to_numpy(),
            "decision_ts": s["decision_ts"].to_numpy(),
            "exit_ts": s["exit_ts"].to_numpy(),
            "ret": ret,
            "pnl": size * ret,
            "hit": (ret > 0).astype(float),
        }
    )


def daily_returns(trades: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    """The strategy's return per UTC day in [start, end): P&L of the trades closed that day (0 if none)."""
    days = pd.date_range(
        pd.Timestamp(start).floor("D"), pd.Timestamp(end).floor("D"), freq="D", inclusive="left"
    )
    if trades.empty:
        return pd.Series(0.0, index=days)
    by_day = trades.groupby(pd.to_datetime(trades["exit_ts"], utc=True).dt.floor("D"))["pnl"].sum()
    return by_day.reindex(days, fill_value=0.0).astype(float)


def sharpe(returns: pd.Series) -> float:
    """Annualised Sharpe ratio of daily returns; 0 for a book that never moved (no trades)."""
    if len(returns) < 2 or float(np.std(returns)) == 0.0:
        return 0.0 if len(returns) and not np.any(returns) else float("nan")
    return float(empyrical.sharpe_ratio(returns, annualization=TRADING_DAYS))


def summarize(trades: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, level: float = 0.95) -> dict:
    """n_signals, hit_rate with a Wilson interval, and the strategy's Sharpe over [start, end)."""
    n = len(trades)
    wins = int(trades["hit"].sum()) if n else 0
    lo, hi = wilson_interval(wins, n, level)
    return {
        "n_signals": n,
        "hit_rate": wins / n if n else float("nan"),
        "hit_rate_lo": lo,
        "hit_rate_hi": hi,
        "sharpe": sharpe(daily_returns(trades, start, end)),
    }
