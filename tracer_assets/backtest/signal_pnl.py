"""P&L of Tracer's signals, by the rules paper execution trades them (``trade_rules``): a signal
opens a position of ``size`` x equity (at its decision) in its direction, held for ``horizon_hours``
or until an opposite signal on the symbol reverses it; a same-direction signal while the position is
open extends the hold. The engine runs in event time on the paper broker's clock, so with risk limits
that do not bind, its PnL equals the paper book's. The range's bars are the whole world (a trade still
open at the range's end is marked at its last close and flagged ``is_open``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tracer_assets.backtest import trade_rules
from tracer_assets.backtest.costs import CostModel
from tracer_assets.backtest.engine import EngineResult, simulate
from tracer_assets.lake import new_id
from tracer_assets.settings import BacktestSettings

PRICE_FIELDS = ("open", "high", "low", "close")


@dataclass(frozen=True)
class BarPanel:
    """Bars of a range in event time: rows are the instants of the range (``trade_rules.event_grid``),
    columns the symbols. ``open/high/low`` of a row are the bars opening at that instant, ``close`` the
    bars closing then; a cell is NaN where the symbol has no bar opening (or closing) then, so a stock
    outside its session is not tradable.
    """

    ts: pd.DatetimeIndex
    symbols: list[str]
    asset_class: list[str]
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray

    @property
    def n_bars(self) -> int:
        return len(self.ts)

    def symbol_rows(self, col: int) -> np.ndarray:
        """Rows where the symbol's bars close (the instants a decision on it can be taken)."""
        return np.flatnonzero(~np.isnan(self.close[:, col]))

    def rows_at_or_after(self, when) -> np.ndarray:
        """Row of the first instant at or after each time (``n_bars`` if none)."""
        idx = pd.DatetimeIndex(pd.to_datetime(when, utc=True)).as_unit("us")
        return np.searchsorted(self.ts.asi8, idx.asi8, side="left")


def bar_panel(bars: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, instants=()) -> BarPanel:
    """The range's bars (opening in [start, end)) on the range's instants (plus ``instants``, the
    signals' decision times, so each decision has its row)."""
    b = bars[(bars["ts"] >= start) & (bars["ts"] < end)] if len(bars) else bars
    if b.empty:
        empty = np.empty((0, 0))
        return BarPanel(pd.DatetimeIndex([], tz="UTC"), [], [], empty, empty, empty, empty)
    b = b.sort_values(["ts", "symbol"]).drop_duplicates(["symbol", "ts"], keep="last")
    symbols = sorted(b["symbol"].astype(str).unique())
    classes = b.groupby("symbol")["asset_class"].first()
    ts = trade_rules.event_grid(start, end, b["ts"], b["available_ts"], instants)
    opens = b.assign(ts=pd.to_datetime(b["ts"], utc=True).dt.as_unit("us"))
    arrays = {
        f: opens.pivot(index="ts", columns="symbol", values=f)
        .reindex(index=ts, columns=symbols)
        .to_numpy(float)
        for f in ("open", "high", "low")
    }
    closes = b.assign(ts=pd.to_datetime(b["available_ts"], utc=True).dt.as_unit("us"))
    closes = closes[closes["ts"] < end].drop_duplicates(["symbol", "ts"], keep="last")
    arrays["close"] = (
        closes.pivot(index="ts", columns="symbol", values="close")
        .reindex(index=ts, columns=symbols)
        .to_numpy(float)
    )
    return BarPanel(ts, symbols, [str(classes[s]) for s in symbols], **arrays)


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
    close_first: np.ndarray | None = None  # (T, S): close before this row's target applies
    notional: np.ndarray | None = None  # (T, S): the target is a signed notional, not a fraction


def signal_targets(signals: pd.DataFrame, panel: BarPanel) -> SignalTargets:
    """Target weights per (instant, symbol) from the signals, by ``trade_rules`` (see the module doc).

    Signals may carry what a risk engine decided (``execution.parity.risk_replayed_signals``):
    ``notional`` (where finite, the entry's signed notional as reduced; a fraction ``size`` of equity
    otherwise) and ``blocked`` (no new position; a reversal still closes the old one).
    """
    shape = (panel.n_bars, len(panel.symbols))
    target = np.full(shape, np.nan)
    close_first = np.zeros(shape, dtype=bool)
    notional = np.zeros(shape, dtype=bool)
    openings: list[tuple[int, int, int]] = []
    if signals.empty or not panel.n_bars:
        return SignalTargets(
            target, pd.DataFrame(openings, columns=["col", "row", "signal"]), close_first, notional
        )
    sig = signals.reset_index(drop=True)
    sig = trade_rules.tradable_signals(sig.assign(_pos=np.arange(len(sig))))
    for col, symbol in enumerate(panel.symbols):
        mine = sig[sig["symbol"].astype(str) == symbol]
        if mine.empty:
            continue
        rows = panel.rows_at_or_after(mine["decision_ts"])
        exits = panel.rows_at_or_after(trade_rules.exit_due(mine["decision_ts"], mine["horizon_hours"]))
        fixed = mine["notional"].abs() if "notional" in mine else pd.Series(np.nan, index=mine.index)
        blocked = mine["blocked"] if "blocked" in mine else pd.Series(False, index=mine.index)
        held, exit_row = 0, -1
        for i, row, ex, direction, size, amount, no_entry in zip(
            mine["_pos"], rows, exits, mine["direction"], mine["size"], fixed, blocked, strict=True
        ):
            if row >= panel.n_bars:
                continue
            sign = 1 if direction == "long" else -1
            if held and exit_row <= row:  # the horizon ended first: exit (at this very instant, first)
                target[exit_row, col] = 0.0
                close_first[row, col] |= exit_row == row
                held = 0
            if held == sign:
                exit_row = max(exit_row, ex)  # a renewed view keeps the position longer
                continue
            if no_entry:  # blocked: nothing opens, but a reversal's exit was still sent
                if held:
                    target[row, col] = 0.0
                    held = 0
                continue
            if held:
                close_first[row, col] = True  # a reversal: the old side closes before the new opens
            notional[row, col] = bool(np.isfinite(amount))
            target[row, col] = sign * float(amount if notional[row, col] else size)
            openings.append((col, int(row), int(i)))
            held, exit_row = sign, ex
        if held and exit_row < panel.n_bars:
            target[exit_row, col] = 0.0
    return SignalTargets(
        target, pd.DataFrame(openings, columns=["col", "row", "signal"]), close_first, notional
    )


def run_panel(
    panel: BarPanel,
    target: np.ndarray | SignalTargets,
    settings: BacktestSettings,
    account=None,
    price_col=None,
    cost: CostModel | None = None,
):
    """The engine in event time over the panel with the settings' costs (or ``cost``), cash and fill
    timing (one portfolio by default). ``target`` is a (T, C) array of fractions, or the signals'
    targets (with their closes-first and notional cells)."""
    close_first = notional_targets = None
    if isinstance(target, SignalTargets):
        target, close_first, notional_targets = target.target, target.close_first, target.notional
    n_cols = target.shape[1]
    return simulate(
        panel.open,
        panel.high,
        panel.low,
        panel.close,
        target,
        cost=cost or cost_model(settings),
        cash=settings.backtest_initial_cash,
        price_col=np.arange(n_cols) if price_col is None else price_col,
        account=np.zeros(n_cols, dtype=np.int64) if account is None else account,
        fill=settings.backtest_fill,
        instants=True,
        close_first=close_first,
        notional_targets=notional_targets,
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
    fill_ts = panel.ts  # event time: a row's opens and closes both happen at its instant
    entry_rows = t["entry_bar"].to_numpy()
    exit_rows = t["exit_bar"].to_numpy()
    last_close_ts = panel.ts[-1] if panel.n_bars else end
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
        for c, grp in openings.sort_values("row").groupby("col"):
            mask = cols == c
            pos = (
                np.searchsorted(grp["row"].to_numpy(), t.loc[mask, "entry_bar"].to_numpy(), side="right") - 1
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
    close_ts = panel.ts
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
    s = pd.Series(equity, index=panel.ts)
    daily = s.groupby(panel.ts.floor("D")).last()
    start = (
        pd.Series([cash], index=[daily.index[0] - pd.Timedelta(days=1)]) if len(daily) else pd.Series([cash])
    )
    return pd.concat([start, daily])
