"""Baselines run beside Tracer's signals on the same bars, costs and engine.

- buy and hold: equal weight across the range's symbols from the first bar;
- random-timing placebo: per draw, each symbol's trades (same count, direction, size and holding
  bars) placed at random non-overlapping times; many draws give a distribution;
- price-only: the signal chain re-run with narrative pressure shuffled across time per symbol, so the
  news carries no timing (the chain itself is the caller's; this module only shuffles).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from tracer_assets.backtest.signal_pnl import BarPanel
from tracer_assets.settings import TracerSettings
from tracer_assets.signals import SignalInputs, compute_signals

PRESSURE_STATE = ("pressure", "n_narratives")


def buy_and_hold_target(panel: BarPanel) -> np.ndarray:
    """Equal weight in every symbol, decided at the first bar (each fills at its first tradable open)."""
    target = np.full((panel.n_bars, len(panel.symbols)), np.nan)
    if panel.n_bars:
        target[0, :] = 1.0 / len(panel.symbols)
    return target


def placebo_targets(
    trades: pd.DataFrame, panel: BarPanel, draws: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Targets (T, draws * S), their price columns and accounts (one account per draw).

    ``trades`` are Tracer's engine trades (``column``-less: ``symbol``, ``units``, ``size``,
    ``entry_bar``, ``exit_bar``). A trade holds as many of its symbol's bars as it held (to the last
    bar if open); the draw's trades on a symbol do not overlap.
    """
    return next(placebo_target_blocks(trades, panel, draws, seed, draws))


def placebo_target_blocks(
    trades: pd.DataFrame, panel: BarPanel, draws: int, seed: int, block_draws: int
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``placebo_targets`` in blocks of at most ``block_draws`` draws: (targets, price columns,
    accounts) per block, accounts numbered from 0 within it. The draws are the same whatever
    the block size (one random stream, consumed draw by draw), so a long range need not hold every
    draw's (T, S) arrays at once."""
    n_bars, n_sym = panel.n_bars, len(panel.symbols)
    rng = np.random.default_rng(seed)
    col_of = {s: i for i, s in enumerate(panel.symbols)}
    per_symbol = []
    for symbol, grp in trades.groupby("symbol", sort=True):
        col = col_of[symbol]
        rows = panel.symbol_rows(col)  # placed on the symbol's own bars: a stock's stay in session
        entry = np.searchsorted(rows, grp["entry_bar"].to_numpy())
        exit_ = np.where(
            grp["exit_bar"] >= 0, np.searchsorted(rows, grp["exit_bar"].to_numpy()), len(rows) - 1
        )
        holds = np.maximum(exit_ - entry, 1)
        weights = np.sign(grp["units"].to_numpy()) * grp["size"].fillna(0.0).to_numpy()
        per_symbol.append((col, rows, holds, weights))
    for first in range(0, draws, max(block_draws, 1)):
        block = min(max(block_draws, 1), draws - first)
        target = np.full((n_bars, block * n_sym), np.nan)
        for d in range(block):
            for col, rows, holds, weights in per_symbol:
                k, n = len(holds), len(rows)
                order = rng.permutation(k)
                free = max(n - 1 - int((holds + 1).sum()), 0)
                gaps = np.diff(np.concatenate([[0], np.sort(rng.integers(0, free + 1, size=k))]))
                pos = 0
                c = d * n_sym + col
                for j, gap in zip(order, gaps, strict=True):
                    pos += int(gap)
                    if pos >= n - 1:
                        break
                    target[rows[pos], c] = weights[j]
                    exit_pos = pos + int(holds[j])
                    if exit_pos < n:
                        target[rows[exit_pos], c] = 0.0
                    pos = exit_pos + 1
        yield target, np.tile(np.arange(n_sym), block), np.repeat(np.arange(block), n_sym)


def shuffle_pressure(pressure: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Pressure with each symbol's narrative state (pressure, count, age of the last narrative)
    permuted across its decision times: the same values, no timing."""
    out = pressure.copy()
    if out.empty:
        return out
    has_last = "last_narrative_available_ts" in out.columns
    age = out["decision_ts"] - out["last_narrative_available_ts"] if has_last else None
    cols = [c for c in PRESSURE_STATE if c in out.columns]
    for _, idx in out.groupby("symbol", sort=True).groups.items():
        perm = rng.permutation(len(idx))
        src = np.asarray(idx)[perm]
        for c in cols:
            out.loc[idx, c] = out.loc[src, c].to_numpy()
        if has_last:
            out.loc[idx, "last_narrative_available_ts"] = (
                out.loc[idx, "decision_ts"] - age.loc[src].to_numpy()
            ).to_numpy()
    return out


def price_only_signals(
    inputs: SignalInputs, settings: TracerSettings, start: pd.Timestamp, end: pd.Timestamp
) -> list[pd.DataFrame]:
    """The signal chain (``compute_signals``) re-run once per draw on shuffled pressure."""
    rng = np.random.default_rng(settings.backtest.backtest_seed)
    out = []
    for _ in range(settings.backtest.backtest_price_only_draws):
        shuffled = inputs._replace(pressure=shuffle_pressure(inputs.pressure, rng))
        out.append(compute_signals(*shuffled, settings.signals, start=start, end=end).signals)
    return out
