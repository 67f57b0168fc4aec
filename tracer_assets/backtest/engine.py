"""The backtest engine: target positions per bar -> fills, cash, trades, equity and exposure.

Layout: ``T`` bars by ``P`` price columns (symbols) and ``C`` strategy columns. Each strategy column
trades one price column (``price_col``) from one account (``account``): a parameter grid is many
columns on the same prices, each its own account; a portfolio is many price columns sharing one
account. ``target[t, c]`` is decided at bar ``t``'s close: NaN keeps the position, 0 goes flat, and a
signed fraction ``w`` holds a position worth ``w`` of the account's equity (opening only from flat:
an opposite sign closes and reverses, the same sign keeps the open trade).

Fills happen at the next tradable bar's open (default) or at the decision bar's close, priced by
:class:`~tracer_assets.backtest.costs.CostModel` (slippage against the trader) with its fee on the
filled notional. A bar whose open is NaN is not tradable (a stock outside its session): the order
waits for the next session's open. An order decided on the last bar never fills. Accounting is
margin-style (cash moves by realised PnL and fees; equity = cash + open PnL at the close), which is
backtesting.py's and gives the same equity as spending cash on shares.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numba
import numpy as np
import pandas as pd

from tracer_assets.backtest.costs import CostModel

FILL_NEXT_OPEN = 0
FILL_CLOSE = 1
FILL_TIMINGS = {"next_open": FILL_NEXT_OPEN, "close": FILL_CLOSE}

TRADE_FIELDS = ("column", "entry_bar", "exit_bar", "units", "entry_price", "exit_price", "fees", "pnl")


@numba.njit(cache=True)
def _py_floordiv(a: float, b: float) -> float:
    """Python's float ``a // b`` (fmod-based), so integer sizing matches Python to the last unit."""
    mod = np.fmod(a, b)
    div = (a - mod) / b
    if mod != 0.0 and ((b < 0.0) != (mod < 0.0)):
        div -= 1.0
    if div == 0.0:
        return 0.0
    floordiv = np.floor(div)
    if div - floordiv > 0.5:
        floordiv += 1.0
    return floordiv


@numba.njit(cache=True)
def _simulate(
    close,
    buy_px,
    sell_px,
    target,
    price_col,
    account,
    acct_order,
    acct_start,
    cash0,
    fee_rate,
    fill_close,
    integer_units,
):
    n_bars = close.shape[0]
    n_cols = target.shape[1]
    n_accounts = len(acct_start) - 1
    realized = np.zeros(n_cols)
    cash = np.full(n_accounts, cash0)
    units = np.zeros(n_cols)
    entry_px = np.zeros(n_cols)
    entry_bar = np.full(n_cols, -1)
    entry_fee = np.zeros(n_cols)
    pending = np.full(n_cols, np.nan)
    last_close = np.full(close.shape[1], np.nan)
    equity = np.empty((n_bars, n_accounts))
    col_value = np.zeros((n_bars, n_cols))
    col_pnl = np.zeros((n_bars, n_cols))
    max_trades = n_cols * (n_bars // 2 + 2)
    trades = np.empty((max_trades, 8))
    n_trades = 0
    for t in range(n_bars):
        for p in range(close.shape[1]):
            if not np.isnan(close[t, p]):
                last_close[p] = close[t, p]
        if fill_close:
            for c in range(n_cols):
                if not np.isnan(target[t, c]):
                    pending[c] = target[t, c]
        for c in range(n_cols):
            w = pending[c]
            if np.isnan(w):
                continue
            p = price_col[c]
            if np.isnan(buy_px[t, p]):
                continue  # not tradable now (outside the session): wait for the next open
            pending[c] = np.nan
            a = account[c]
            pos = units[c]
            if pos != 0.0 and (w == 0.0 or (w > 0.0) != (pos > 0.0)):
                exit_px = sell_px[t, p] if pos > 0.0 else buy_px[t, p]
                exit_fee = abs(pos) * exit_px * fee_rate
                gross = pos * (exit_px - entry_px[c])
                cash[a] += gross - exit_fee
                realized[c] += gross - entry_fee[c] - exit_fee
                trades[n_trades, 0] = c
                trades[n_trades, 1] = entry_bar[c]
                trades[n_trades, 2] = t
                trades[n_trades, 3] = pos
                trades[n_trades, 4] = entry_px[c]
                trades[n_trades, 5] = exit_px
                trades[n_trades, 6] = entry_fee[c] + exit_fee
                trades[n_trades, 7] = gross - entry_fee[c] - exit_fee
                n_trades += 1
                units[c] = 0.0
                pos = 0.0
            if pos == 0.0 and w != 0.0:
                px = buy_px[t, p] if w > 0.0 else sell_px[t, p]
                # sizing base: the account's equity with its other open trades marked at this price
                base = cash[a]
                for j in range(acct_start[a], acct_start[a + 1]):
                    k = acct_order[j]
                    if units[k] != 0.0:
                        kp = price_col[k]
                        mark = buy_px[t, kp] if fill_close == 0 and not np.isnan(buy_px[t, kp]) else np.nan
                        if fill_close or np.isnan(mark):
                            mark = last_close[kp]
                        base += units[k] * (mark - entry_px[k])
                if base <= 0.0:
                    continue
                adj = px + abs(w) * px * fee_rate / abs(w)
                n = _py_floordiv(base * abs(w), adj) if integer_units else base * abs(w) / adj
                if n <= 0.0:
                    continue
                n = n if w > 0.0 else -n
                fee = abs(n) * px * fee_rate
                cash[a] -= fee
                units[c] = n
                entry_px[c] = px
                entry_bar[c] = t
                entry_fee[c] = fee
        if not fill_close:
            for c in range(n_cols):
                if not np.isnan(target[t, c]):
                    pending[c] = target[t, c]  # fills at the next tradable open (never, on the last bar)
        for a in range(n_accounts):
            equity[t, a] = cash[a]
        for c in range(n_cols):
            col_pnl[t, c] = realized[c]
            if units[c] != 0.0:
                p = price_col[c]
                open_pnl = units[c] * last_close[p] - units[c] * entry_px[c]
                equity[t, account[c]] += open_pnl
                col_value[t, c] = units[c] * last_close[p]
                col_pnl[t, c] += open_pnl - entry_fee[c]
    # trades still open at the end: marked at the last close, exit_bar -1
    for c in range(n_cols):
        if units[c] != 0.0:
            p = price_col[c]
            trades[n_trades, 0] = c
            trades[n_trades, 1] = entry_bar[c]
            trades[n_trades, 2] = -1
            trades[n_trades, 3] = units[c]
            trades[n_trades, 4] = entry_px[c]
            trades[n_trades, 5] = last_close[p]
            trades[n_trades, 6] = entry_fee[c]
            trades[n_trades, 7] = units[c] * (last_close[p] - entry_px[c]) - entry_fee[c]
            n_trades += 1
    return equity, col_value, col_pnl, trades[:n_trades]


@dataclass
class EngineResult:
    """Arrays from one engine run (bars are row positions of the inputs)."""

    equity: np.ndarray  # (T, accounts)
    position_value: np.ndarray  # (T, columns): signed units x close
    column_pnl: np.ndarray  # (T, columns): realised + open PnL net of fees; sums to equity - cash
    trade_array: np.ndarray  # (n, len(TRADE_FIELDS)); open trades have exit_bar -1

    @cached_property
    def trades(self) -> pd.DataFrame:
        """The trades as a frame (TRADE_FIELDS plus ``is_open``), built on first use."""
        ints = ("column", "entry_bar", "exit_bar")
        arr = self.trade_array
        data = {f: arr[:, i].astype(np.int64) if f in ints else arr[:, i] for i, f in enumerate(TRADE_FIELDS)}
        data["is_open"] = arr[:, 2] < 0
        return pd.DataFrame(data, copy=False)

    def exposure(self, account: np.ndarray) -> np.ndarray:
        """Gross position value over equity per bar and account."""
        gross = np.zeros_like(self.equity)
        for a in range(self.equity.shape[1]):
            gross[:, a] = np.abs(self.position_value[:, account == a]).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.equity > 0, gross / self.equity, np.nan)


def simulate(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    target: np.ndarray,
    *,
    cost: CostModel | None = None,
    cash: float = 10_000.0,
    price_col: np.ndarray | None = None,
    account: np.ndarray | None = None,
    fill: str = "next_open",
    integer_units: bool = False,
) -> EngineResult:
    """Run the engine; prices are (T, P) (or (T,)), ``target`` (T, C) (or (T,)); see the module doc.

    ``account`` defaults to one account per column (a grid); pass zeros for one shared portfolio.
    ``integer_units`` buys whole units only (backtesting.py's sizing).
    """
    cost = cost or CostModel()
    if fill not in FILL_TIMINGS:
        raise ValueError(f"fill must be one of {sorted(FILL_TIMINGS)}, got {fill!r}")
    prices = [np.asarray(x, dtype=np.float64) for x in (open_, high, low, close)]
    prices = [x.reshape(-1, 1) if x.ndim == 1 else x for x in prices]
    o, h, lo, c = prices
    target = np.asarray(target, dtype=np.float64)
    target = target.reshape(-1, 1) if target.ndim == 1 else target
    n_cols = target.shape[1]
    price_col = np.zeros(n_cols, dtype=np.int64) if price_col is None else np.asarray(price_col, np.int64)
    if price_col.shape != (n_cols,) or price_col.max(initial=0) >= c.shape[1]:
        raise ValueError("price_col must name one price column per target column")
    account = np.arange(n_cols, dtype=np.int64) if account is None else np.asarray(account, np.int64)
    n_accounts = int(account.max()) + 1 if n_cols else 0
    acct_order = np.argsort(account, kind="stable")
    acct_start = np.searchsorted(account[acct_order], np.arange(n_accounts + 1))
    ref = c if fill == "close" else o
    tradable = ~np.isnan(ref)
    buy_px = np.where(tradable, cost.fill_price(np.ones_like(ref), ref, h, lo), np.nan)
    sell_px = np.where(tradable, cost.fill_price(-np.ones_like(ref), ref, h, lo), np.nan)
    # the fee is linear in notional: the engine applies CostModel.fee's rate inside the loop
    fee_rate = cost.fee(1.0)
    equity, value, pnl, trades = _simulate(
        c,
        buy_px,
        sell_px,
        target,
        price_col,
        account,
        acct_order,
        acct_start,
        float(cash),
        fee_rate,
        FILL_TIMINGS[fill],
        integer_units,
    )
    return EngineResult(equity, value, pnl, trades)
