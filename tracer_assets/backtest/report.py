"""One range's backtest: Tracer's signals and the baselines, as the three lake tables and the curves
the tear sheet draws. Pure pandas/numpy; the caller supplies the price-only signal sets."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats as sps

from tracer_assets.backtest.baselines import buy_and_hold_target, placebo_target_blocks
from tracer_assets.backtest.signal_pnl import (
    BarPanel,
    bar_panel,
    daily_equity,
    equity_table,
    run_panel,
    signal_targets,
    slippage_paid,
    trades_table,
)
from tracer_assets.backtest.stats import return_stats, trade_stats
from tracer_assets.lake.schemas import contract_columns
from tracer_assets.settings import BacktestSettings

TRACER = "tracer"
BUY_AND_HOLD = "buy_and_hold"
PLACEBO = "placebo"
PRICE_ONLY = "price_only"
# The placebo's draws go through the engine in blocks of at most this many bar x column cells (about
# 26 bytes each, at least one draw a block): all 200 draws at once held ~0.7 GiB for a year's range.
PLACEBO_BLOCK_CELLS = 2_000_000


@dataclass
class BacktestReport:
    trades: pd.DataFrame
    equity: pd.DataFrame
    summary: pd.DataFrame
    daily: dict[str, pd.Series] = field(default_factory=dict)  # strategy -> end-of-day equity
    placebo_band: pd.DataFrame | None = None  # p05, p50, p95 end-of-day equity across draws


def strategy_stats(
    daily: pd.Series, trades: pd.DataFrame, exposure: np.ndarray, settings: BacktestSettings
) -> dict[str, float]:
    """Return, risk and trade figures of one strategy run (closed trades for the trade figures)."""
    closed = trades[~trades["is_open"]] if len(trades) else trades
    traded = (trades["units"].abs() * trades["entry_price"]).sum() + (
        closed["units"].abs() * closed["exit_price"]
    ).sum()
    fees = float(trades["fees"].sum()) if len(trades) else 0.0
    slippage = float(trades["slippage"].sum()) if "slippage" in trades and len(trades) else float("nan")
    out = {
        **return_stats(daily, settings.backtest_periods_per_year),
        **trade_stats(closed["pnl"].to_numpy() if len(closed) else np.array([])),
        "n_trades": int(len(trades)),
        "n_open_trades": int(trades["is_open"].sum()) if len(trades) else 0,
        "turnover": float(traded / daily.mean()) if len(daily) else float("nan"),
        "exposure": float(np.nanmean(exposure)) if len(exposure) else float("nan"),
        "fees_paid": fees,
        "slippage_paid": slippage,
        "costs_paid": fees + (slippage if np.isfinite(slippage) else 0.0),
        "final_equity": float(daily.iloc[-1]) if len(daily) else float("nan"),
    }
    return out


def _exposure(result, account: int = 0, cols=None) -> np.ndarray:
    equity = result.equity[:, account]
    value = result.position_value if cols is None else result.position_value[:, cols]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.abs(value).sum(axis=1) / equity


def _run_signals(signals: pd.DataFrame, panel: BarPanel, settings: BacktestSettings, name: str, end):
    targets = signal_targets(signals, panel)
    result = run_panel(panel, targets, settings)
    trades = trades_table(result, panel, settings, name, end, signals, targets.openings)
    daily = daily_equity(result.equity[:, 0], panel, settings.backtest_initial_cash)
    return result, trades, daily


def backtest_range(
    bars: pd.DataFrame,
    signals: pd.DataFrame,
    settings: BacktestSettings,
    start: pd.Timestamp,
    end: pd.Timestamp,
    price_only_signals: list[pd.DataFrame] | None = None,
) -> BacktestReport:
    """Backtest the signals decided in [start, end) on the range's bars, with every baseline."""
    decisions = signals["decision_ts"] if len(signals) else ()
    panel = bar_panel(bars, start, end, decisions)
    if not panel.n_bars:  # no bars in the range (a provider outage): empty tables, not an error
        return BacktestReport(
            *(empty_table(t) for t in ("backtest_trades", "backtest_equity", "backtest_summary"))
        )
    sig = (
        signals[(signals["decision_ts"] >= start) & (signals["decision_ts"] < end)]
        if len(signals)
        else signals
    )
    rows, trades_out, equity_out, daily = [], [], [], {}

    result, trades, daily[TRACER] = _run_signals(sig, panel, settings, TRACER, end)
    tracer_row = {
        "strategy": TRACER,
        "draw": 0,
        **strategy_stats(daily[TRACER], trades, _exposure(result), settings),
    }
    trades_out.append(trades)
    equity_out.append(equity_table(result, panel, settings, TRACER))

    bh = run_panel(panel, buy_and_hold_target(panel), settings)
    bh_trades = trades_table(bh, panel, settings, BUY_AND_HOLD, end)
    daily[BUY_AND_HOLD] = daily_equity(bh.equity[:, 0], panel, settings.backtest_initial_cash)
    rows.append(
        {
            "strategy": BUY_AND_HOLD,
            "draw": 0,
            **strategy_stats(daily[BUY_AND_HOLD], bh_trades, _exposure(bh), settings),
        }
    )
    trades_out.append(bh_trades)
    equity_out.append(_portfolio_only(equity_table(bh, panel, settings, BUY_AND_HOLD)))

    for d, po_signals in enumerate(price_only_signals or []):
        po, po_trades, po_daily = _run_signals(po_signals, panel, settings, PRICE_ONLY, end)
        name = PRICE_ONLY if d == 0 else f"{PRICE_ONLY}_{d}"
        daily[name] = po_daily
        rows.append(
            {
                "strategy": PRICE_ONLY,
                "draw": d,
                **strategy_stats(po_daily, po_trades, _exposure(po), settings),
            }
        )
        po_trades["strategy"] = name
        trades_out.append(po_trades)
        equity_table_po = _portfolio_only(equity_table(po, panel, settings, name))
        equity_out.append(equity_table_po)

    placebo_rows, band = _placebo(trades, panel, settings)
    if placebo_rows:
        sharpes = np.array([r["sharpe"] for r in placebo_rows], dtype=float)
        sharpes = sharpes[np.isfinite(sharpes)]
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a figure undefined in every draw stays NaN
            median = {k: float(np.nanmedian([r[k] for r in placebo_rows])) for k in placebo_rows[0]}
        rows.append({"strategy": PLACEBO, "draw": 0, **median, "placebo_draws": len(placebo_rows)})
        if len(sharpes) and np.isfinite(tracer_row["sharpe"]):
            tracer_row["placebo_sharpe_percentile"] = float(
                sps.percentileofscore(sharpes, tracer_row["sharpe"], kind="mean")
            )
        tracer_row["placebo_sharpe_p05"] = float(np.percentile(sharpes, 5)) if len(sharpes) else np.nan
        tracer_row["placebo_sharpe_p95"] = float(np.percentile(sharpes, 95)) if len(sharpes) else np.nan
        tracer_row["placebo_draws"] = len(placebo_rows)
        equity_out.append(_band_rows(band[band.index >= start], PLACEBO, settings.backtest_initial_cash))
    summary = pd.DataFrame([tracer_row, *rows])
    for c in ("placebo_sharpe_percentile", "placebo_sharpe_p05", "placebo_sharpe_p95", "placebo_draws"):
        if c not in summary:
            summary[c] = np.nan
    summary["n_trades"] = summary["n_trades"].round().astype("int64")
    summary.insert(0, "range_start", start)
    summary.insert(1, "range_end", end)
    summary["event_ts"] = start
    summary["available_ts"] = end
    trades_all = (
        pd.concat([t for t in trades_out if len(t)], ignore_index=True)
        if any(len(t) for t in trades_out)
        else trades
    )
    return BacktestReport(trades_all, pd.concat(equity_out, ignore_index=True), summary, daily, band)


def empty_table(table: str) -> pd.DataFrame:
    """No rows, the table's contract columns."""
    return pd.DataFrame(
        {c: pd.Series(dtype=object) for c in [*contract_columns(table), "event_ts", "available_ts"]}
    )


def _portfolio_only(equity: pd.DataFrame) -> pd.DataFrame:
    return equity[equity["scope"] == "portfolio"].reset_index(drop=True)


def _placebo(trades: pd.DataFrame, panel: BarPanel, settings: BacktestSettings):
    """Per-draw stats of the random-timing placebo and the band of its end-of-day equity. The draws
    run through the engine in blocks of at most ``PLACEBO_BLOCK_CELLS`` bar x column cells, so a
    long range's memory stays bounded (each draw is its own account: the figures do not depend on
    the blocks)."""
    mine = trades[trades["strategy"] == TRACER] if len(trades) else trades
    if mine.empty:
        return [], None
    n_sym = len(panel.symbols)
    block = max(PLACEBO_BLOCK_CELLS // max(panel.n_bars * n_sym, 1), 1)
    blocks = placebo_target_blocks(
        mine, panel, settings.backtest_placebo_draws, settings.backtest_seed, block
    )
    rows, curves = [], []
    for target, price_col, account in blocks:
        result = run_panel(panel, target, settings, account=account, price_col=price_col)
        all_trades = result.trades
        draw_of_trade = all_trades["column"].to_numpy() // n_sym
        all_trades["slippage"] = slippage_paid(all_trades, panel, settings)
        for d in range(result.equity.shape[1]):
            dt = all_trades[draw_of_trade == d]
            daily = daily_equity(result.equity[:, d], panel, settings.backtest_initial_cash)
            curves.append(daily)
            cols = np.arange(d * n_sym, (d + 1) * n_sym)
            rows.append(strategy_stats(daily, dt, _exposure(result, d, cols), settings))
        del result, all_trades  # freed before the next block's arrays are allocated
    stacked = pd.concat(curves, axis=1)
    band = pd.DataFrame({q: stacked.quantile(q / 100.0, axis=1) for q in (5, 50, 95)}).rename(
        columns=lambda q: f"p{q:02d}"
    )
    return rows, band


def _band_rows(band: pd.DataFrame, name: str, cash: float) -> pd.DataFrame:
    """The placebo's median end-of-day equity as portfolio rows (the tear sheet also draws the band)."""
    return pd.DataFrame(
        {
            "ts": band.index,
            "scope": "portfolio",
            "symbol": "ALL",
            "asset_class": "all",
            "equity": band["p50"].to_numpy(),
            "pnl": band["p50"].to_numpy() - cash,
            "position_value": np.nan,
            "exposure": np.nan,
            "available_ts": band.index,
            "strategy": f"{name}_median",
            "event_ts": band.index,
        }
    )
