"""P&L of Tracer's signals: a signal opens a position of ``size`` (fraction of equity) in its
direction, held for ``horizon_hours`` or until an opposite signal on the symbol reverses it; a
same-direction signal while the position is open extends the hold. Fills and costs come from the
engine; the range's bars are the whole world (a trade still open at the range's end is marked at its
last close and flagged ``is_open``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tracer_assets.backtest.costs import CostModel
from tracer_assets.backtest.engine import EngineResult, simulate
from tracer_assets.lake import new_id
from tracer_assets.settings import BacktestSettings

PRICE_FIELDS = ("open", "high", "low", "close")


def _ns(times) -> np.ndarray:
    """Epoch nanoseconds (lake frames hold microseconds, computed frames may hold nanoseconds)."""
    return pd.DatetimeIndex(times).as_unit("ns").asi8


@dataclass(frozen=True)
class BarPanel:
    """Bars of a range on one grid: rows are the union of bar open times, columns the symbols.

    A symbol's cells are NaN where it has no bar (a stock outside its session): not tradable then.
    """

    ts: pd.DatetimeIndex
    symbols: list[str]
    asset_class: list[str]
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    bar_length: pd.Timedelta

    @property
    def n_bars(self) -> int:
        return len(self.ts)

    def symbol_rows(self, col: int) -> np.ndarray:
        return np.flatnonzero(~np.isnan(self.close[:, col]))

    def row_closing_by(self, col: int, when: pd.Series) -> np.ndarray:
        """Row of the symbol's last bar that closed at or before each time (-1 if none)."""
        rows = self.symbol_rows(col)
        closes = _ns(self.ts[rows] + self.bar_length)
        pos = np.searchsorted(closes, _ns(when), side="right") - 1
        return np.where(pos >= 0, rows[np.clip(pos, 0, None)], -1)

    def row_closing_after(self, col: int, when: pd.Series) -> np.ndarray:
        """Row of the symbol's first bar that closes at or after each time (n_bars if none)."""
        rows = self.symbol_rows(col)
        closes = _ns(self.ts[rows] + self.bar_length)
        pos = np.searchsorted(closes, _ns(when), side="left")
        return np.where(pos < len(rows), rows[np.clip(pos, 0, len(rows) - 1)], self.n_bars)


def bar_panel(bars: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> BarPanel:
    """The range's bars (opening in [start, end)) pivoted to (time x symbol) arrays."""
    b = bars[(bars["ts"] >= start) & (bars["ts"] < end)] if len(bars) else bars
    if b.empty:
        empty = np.empty((0, 0))
        return BarPanel(
            pd.DatetimeIndex([], tz="UTC"), [], [], empty, empty, empty, empty, pd.Timedelta(hours=1)
        )
    b = b.sort_values(["ts", "symbol"]).drop_duplicates(["symbol", "ts"], keep="last")
    symbols = sorted(b["symbol"].astype(str).unique())
    classes = b.groupby("symbol")["asset_class"].first()
    ts = pd.DatetimeIndex(sorted(b["ts"].unique()))
    arrays = {
        f: b.pivot(index="ts", columns="symbol", values=f).reindex(index=ts, columns=symbols).to_numpy(float)
        for f in PRICE_FIELDS
    }
    length = (b["available_ts"] - b["ts"]).median()
    return BarPanel(ts, symbols, [str(classes[s]) for s in symbols], **arrays, bar_length=length)


def cost_model(settings: BacktestSettings) -> CostModel:
    return CostModel(
        fee_bps=settings.backtest_fee_bps,
        slippage_bps=settings.backtest_slippage_bps,
        slippage_range_frac=settings.backtest_slippage_range_frac,
    )


@dataclass(frozen=True)
class SignalTargets:
    target: np.ndarray  # (T, S)
    openings: pd.DataFrame  # col, row, signal position (iloc in the signals frame)


def signal_targets(signals: pd.DataFrame, panel: BarPanel) -> SignalTargets:
    """Target weights per (bar, symbol) from the signals (see the module doc)."""
    target = np.full((panel.n_bars, len(panel.symbols)), np.nan)
    openings: list[tuple[int, int, int]] = []
    if signals.empty or not panel.n_bars:
        return SignalTargets(target, pd.DataFrame(openings, columns=["col", "row", "signal"]))
    sig = signals.reset_index(drop=True)
    for col, symbol in enumerate(panel.symbols):
        mine = sig[sig["symbol"].astype(str) == symbol].sort_values("decision_ts", kind="stable")
        if mine.empty:
            continue
        rows = panel.row_closing_by(col, mine["decision_ts"])
        exit_at = mine["decision_ts"] + pd.to_timedelta(mine["horizon_hours"], unit="h")
        exits = panel.row_closing_after(col, exit_at)
        held, exit_row = 0, -1
        for i, row, ex, direction, size in zip(
            mine.index, rows, exits, mine["direction"], mine["size"], strict=True
        ):
            if row < 0:
                continue
            if held and exit_row <= row:
                target[exit_row, col] = 0.0
                held = 0
            sign = 1 if direction == "long" else -1
            if held == sign:
                exit_row = max(exit_row, ex)  # a renewed view keeps the position longer
                continue
            target[row, col] = sign * float(size)
            openings.append((col, int(row), int(i)))
            held, exit_row = sign, ex
        if held and exit_row < panel.n_bars:
            target[exit_row, col] = 0.0
    return SignalTargets(target, pd.DataFrame(openings, columns=["col", "row", "signal"]))


def run_panel(panel: BarPanel, target: np.ndarray, settings: BacktestSettings, account=None, price_col=None):
    """The engine over the panel with the settings' costs, cash and fill timing (one portfolio by default)."""
    n_cols = target.shape[1]
    return simulate(
        panel.open,
        panel.high,
        panel.low,
        panel.close,
        target,
        cost=cost_model(settings),
        cash=settings.backtest_initial_cash,
        price_col=np.arange(n_cols) if price_col is None else price_col,
        account=np.zeros(n_cols, dtype=np.int64) if account is None else account,
        fill=settings.backtest_fill,
    )


def trades_table(
    result: EngineResult,
    panel: BarPanel,
    settings: BacktestSettings,
    strategy: str,
    end: pd.Timestamp,
    signals: pd.DataFrame | None = None,
    openings: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The engine's trades with times, symbols, costs and (for Tracer) the opening signal."""
    t = result.trades.copy()
    cols = t["column"].to_numpy()
    t["symbol"] = [panel.symbols[c] for c in cols]
    t["asset_class"] = [panel.asset_class[c] for c in cols]
    close_fill = settings.backtest_fill == "close"
    fill_ts = panel.ts + panel.bar_length if close_fill else panel.ts
    entry_rows = t["entry_bar"].to_numpy()
    exit_rows = t["exit_bar"].to_numpy()
    last_close_ts = panel.ts[-1] + panel.bar_length if panel.n_bars else end
    t["entry_ts"] = pd.Series(fill_ts[entry_rows], index=t.index)
    exit_ts = pd.Series(fill_ts[np.clip(exit_rows, 0, None)], index=t.index)
    t["exit_ts"] = exit_ts.where(exit_rows >= 0, last_close_ts)
    t["direction"] = np.where(t["units"] > 0, "long", "short")
    t["slippage"] = slippage_paid(t, panel, settings)
    units = t["units"].abs().to_numpy()
    t["notional"] = units * t["entry_price"]
    t["return_pct"] = np.where(t["notional"] > 0, t["pnl"] / t["notional"] * 100.0, np.nan)
    t["holding_hours"] = (t["exit_ts"] - t["entry_ts"]) / pd.Timedelta(hours=1)
    for c, dtype in (
        ("signal_id", object),
        ("strength", float),
        ("size", float),
        ("decision_ts", "datetime64[us, UTC]"),
    ):
        t[c] = pd.Series([None] * len(t) if dtype is object else np.nan, index=t.index, dtype=dtype)
    if signals is not None and openings is not None and len(openings) and len(t):
        sig = signals.reset_index(drop=True)
        lag = 0 if close_fill else 1
        for c, grp in openings.sort_values("row").groupby("col"):
            mask = cols == c
            pos = (
                np.searchsorted(
                    grp["row"].to_numpy(), t.loc[mask, "entry_bar"].to_numpy() - lag, side="right"
                )
                - 1
            )
            chosen = sig.iloc[grp["signal"].to_numpy()[np.clip(pos, 0, None)]]
            for f in ("signal_id", "strength", "size", "decision_ts"):
                t.loc[mask, f] = chosen[f].to_numpy()
    t["strategy"] = strategy
    t["trade_id"] = [
        new_id("backtest_trade", strategy, s, e.isoformat(), u)
        for s, e, u in zip(t["symbol"], t["entry_ts"], t["units"], strict=True)
    ]
    t["event_ts"] = t["entry_ts"]
    t["available_ts"] = t["exit_ts"]
    t["decision_ts"] = t["decision_ts"].fillna(t["entry_ts"])
    return t.drop(columns=["column"])


def slippage_paid(
    trades: pd.DataFrame, panel: BarPanel, settings: BacktestSettings, n_symbols: int | None = None
) -> np.ndarray:
    """Cost of slippage per trade: units x |fill - reference price| at entry and (if closed) exit.

    Engine columns map to symbols modulo ``n_symbols`` (the placebo's draws repeat the symbols)."""
    if trades.empty:
        return np.array([])
    ref = panel.close if settings.backtest_fill == "close" else panel.open
    cols = trades["column"].to_numpy() % (n_symbols or len(panel.symbols))
    exit_rows = trades["exit_bar"].to_numpy()
    entry_ref = ref[trades["entry_bar"].to_numpy(), cols]
    exit_ref = np.where(exit_rows >= 0, ref[np.clip(exit_rows, 0, None), cols], trades["exit_price"])
    units = trades["units"].abs().to_numpy()
    return units * (np.abs(trades["entry_price"] - entry_ref) + np.abs(trades["exit_price"] - exit_ref))


def equity_table(
    result: EngineResult, panel: BarPanel, settings: BacktestSettings, strategy: str
) -> pd.DataFrame:
    """Portfolio equity per bar, and each symbol's PnL and position, as long rows."""
    if not panel.n_bars:
        return pd.DataFrame()
    equity = result.equity[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        gross = np.abs(result.position_value).sum(axis=1) / equity
        per_symbol = np.abs(result.position_value) / equity[:, None]
    close_ts = panel.ts + panel.bar_length
    frames = [
        pd.DataFrame(
            {
                "ts": panel.ts,
                "scope": "portfolio",
                "symbol": "ALL",
                "asset_class": "all",
                "equity": equity,
                "pnl": equity - settings.backtest_initial_cash,
                "position_value": result.position_value.sum(axis=1),
                "exposure": gross,
                "available_ts": close_ts,
            }
        )
    ]
    for col, symbol in enumerate(panel.symbols):
        frames.append(
            pd.DataFrame(
                {
                    "ts": panel.ts,
                    "scope": "symbol",
                    "symbol": symbol,
                    "asset_class": panel.asset_class[col],
                    "equity": np.nan,
                    "pnl": result.column_pnl[:, col],
                    "position_value": result.position_value[:, col],
                    "exposure": per_symbol[:, col],
                    "available_ts": close_ts,
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    out["strategy"] = strategy
    out["event_ts"] = out["ts"]
    return out


def daily_equity(equity: np.ndarray, panel: BarPanel, cash: float) -> pd.Series:
    """End-of-day (UTC) equity, starting from the initial cash the day before the first bar."""
    s = pd.Series(equity, index=panel.ts + panel.bar_length)
    daily = s.groupby(panel.ts.floor("D")).last()
    start = (
        pd.Series([cash], index=[daily.index[0] - pd.Timedelta(days=1)]) if len(daily) else pd.Series([cash])
    )
    return pd.concat([start, daily])
