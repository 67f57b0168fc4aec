"""``tracer backtest``: the SMA-cross backtest on a user's OHLCV CSV (JSON or a table)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from tracer_assets.backtest.costs import CostModel
from tracer_assets.backtest.engine import simulate
from tracer_assets.backtest.stats import periods_per_year, return_stats
from tracer_assets.backtest.strategies import sma, sma_cross_target

OHLCV = ("open", "high", "low", "close", "volume")
TIME_COLUMNS = ("date", "datetime", "time", "timestamp", "ts", "")
STRATEGIES = ("sma-cross",)


class InputError(ValueError):
    """Bad CSV or arguments: reported as one line, exit status 2."""


def read_ohlcv_csv(path: str | Path) -> pd.DataFrame:
    """OHLCV bars indexed by time from a CSV with a date/time column (names case-insensitive)."""
    try:
        raw = pd.read_csv(path)
    except FileNotFoundError as exc:
        raise InputError(f"no such file: {path}") from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a readable CSV ({str(exc).splitlines()[0]})") from exc
    lower = {str(c).strip().lower(): c for c in raw.columns}
    unnamed = [c for c in raw.columns if str(c).lower().startswith("unnamed")]
    time_col = next((lower[n] for n in TIME_COLUMNS if n in lower), unnamed[0] if unnamed else None)
    missing = [n.capitalize() for n in OHLCV if n not in lower]
    if time_col is None:
        missing.insert(0, "a date/time column")
    if missing:
        raise InputError(f"{path}: missing column(s): {', '.join(missing)}")
    try:
        index = pd.DatetimeIndex(pd.to_datetime(raw[time_col], format="mixed"), name="time")
    except (ValueError, TypeError) as exc:
        raise InputError(f"{path}: column {time_col!r} has values that are not dates/times") from exc
    bars = pd.DataFrame({n.capitalize(): pd.to_numeric(raw[lower[n]], errors="coerce") for n in OHLCV})
    bars.index = index
    if bars.empty:
        raise InputError(f"{path}: no rows")
    if index.isna().any():
        raise InputError(f"{path}: empty date/time at row {int(np.flatnonzero(index.isna())[0]) + 2}")
    if index.has_duplicates:
        raise InputError(f"{path}: duplicate time {index[index.duplicated()][0]}")
    if not index.is_monotonic_increasing:
        bad = int(np.flatnonzero(np.diff(index.asi8) < 0)[0]) + 1
        raise InputError(f"{path}: times are not sorted (row {bad + 2}: {index[bad]})")
    prices = bars[["Open", "High", "Low", "Close"]]
    if prices.isna().any().any():
        row, col = np.argwhere(prices.isna().to_numpy())[0]
        raise InputError(f"{path}: NaN or non-numeric {prices.columns[col]} at row {row + 2}")
    if (prices <= 0).any().any():
        raise InputError(f"{path}: prices must be positive")
    return bars


def sma_cross_backtest(
    bars: pd.DataFrame, fast: int, slow: int, cash: float, commission: float
) -> tuple[dict, pd.DataFrame]:
    """Run the SMA cross on ``bars`` with backtesting.py's conventions (whole units, all in)."""
    close = bars["Close"].to_numpy(dtype=float)
    target = sma_cross_target(sma(close, fast), sma(close, slow))
    result = simulate(
        bars["Open"],
        bars["High"],
        bars["Low"],
        close,
        target,
        cost=CostModel(fee_bps=commission * 1e4),
        cash=cash,
        integer_units=True,
    )
    equity = pd.Series(result.equity[:, 0], index=bars.index)
    closed = result.trades[~result.trades["is_open"]]
    stats = return_stats(equity, periods_per_year(bars.index))
    times = bars.index
    trades = [
        {
            "entry_time": times[int(t.entry_bar)].isoformat(),
            "exit_time": times[int(t.exit_bar)].isoformat(),
            "entry_price": float(t.entry_price),
            "exit_price": float(t.exit_price),
            "size": int(t.units),
            "pnl": round(float(t.pnl), 6),
        }
        for t in closed.itertuples()
    ]
    summary = {
        "n_trades": len(trades),
        "final_equity": round(float(equity.iloc[-1]), 2),
        "return_pct": round(float(equity.iloc[-1] / cash - 1.0) * 100.0, 4),
        "sharpe": None if np.isnan(stats["sharpe"]) else round(stats["sharpe"], 4),
        "max_drawdown_pct": None
        if np.isnan(stats["max_drawdown"])
        else round(stats["max_drawdown"] * 100.0, 4),
        "trades": trades,
    }
    return summary, pd.DataFrame(trades)


def _check_args(args: argparse.Namespace) -> None:
    if args.fast < 1 or args.slow < 1:
        raise InputError("--fast and --slow must be positive")
    if args.fast >= args.slow:
        raise InputError(f"--fast ({args.fast}) must be smaller than --slow ({args.slow})")
    if not args.cash > 0:
        raise InputError("--cash must be positive")
    if not 0.0 <= args.commission < 0.1:
        raise InputError("--commission must be a fraction in [0, 0.1), e.g. 0.002 for 0.2%")


def run(args: argparse.Namespace) -> int:
    try:
        _check_args(args)
        bars = read_ohlcv_csv(args.csv)
        if len(bars) <= args.slow:
            raise InputError(f"{args.csv}: {len(bars)} rows, need more than --slow ({args.slow})")
        summary, trades = sma_cross_backtest(bars, args.fast, args.slow, args.cash, args.commission)
    except InputError as exc:
        print(f"tracer backtest: {exc}", file=sys.stderr)
        return 2
    if args.format == "json":
        print(json.dumps(summary))
        return 0
    head = {k: v for k, v in summary.items() if k != "trades"}
    print("  ".join(f"{k}={v}" for k, v in head.items()))
    print(trades.to_markdown(index=False, tablefmt="simple") if len(trades) else "(no closed trades)")
    return 0


def _one_line_error(message: str):
    """Argument errors exit 2 with one line (argparse's usage block is noise in a script's log)."""
    print(f"tracer backtest: {message}", file=sys.stderr)
    raise SystemExit(2)


def register(subparsers) -> None:
    """Add ``backtest`` to the ``tracer`` command's subparsers."""
    p = subparsers.add_parser("backtest", help="backtest a strategy on an OHLCV CSV")
    p.error = _one_line_error  # type: ignore[method-assign]
    p.add_argument("--csv", required=True, help="CSV with a date/time column and Open,High,Low,Close,Volume")
    p.add_argument("--strategy", choices=STRATEGIES, default="sma-cross")
    p.add_argument("--fast", type=int, required=True, help="fast SMA window (bars)")
    p.add_argument("--slow", type=int, required=True, help="slow SMA window (bars), > --fast")
    p.add_argument("--cash", type=float, default=10_000.0, help="starting cash (default 10000)")
    p.add_argument("--commission", type=float, default=0.0, help="fraction per fill, e.g. 0.002")
    p.add_argument("--format", choices=["json", "table"], default="table")
    p.set_defaults(func=run)
