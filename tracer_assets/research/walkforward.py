"""Walk-forward selection: every grid point runs in sample, the best is frozen and judged out of sample.

For a set of monthly folds (``research.folds``), the chain's upstream tables (bars, price features,
narrative scores) are copied once into a ``MemoryStore``; for each pressure half-life in the grid the
``narrative_pressure`` stage runs once on a fork, and for each grid point the ``signals`` stage runs on
a fork of that (the pipeline layer the assets call, never a second chain). Every grid point's signals
over the whole span are point-in-time, so slicing them to a fold's in-sample window equals running the
point on that window with its history.

Per fold: each point's purged in-sample signals (decided in [is_start, is_end), resolved by is_end) are
traded by the backtest engine (all points in one vectorised run); the objective is the annualised
Sharpe of daily returns net of costs, among points with at least ``walkforward_min_trades`` trades.
The winner's out-of-sample signals of every fold are stitched and traded as one book; its daily returns
give the out-of-sample Sharpe with a block-bootstrap interval, the Deflated Sharpe probability and,
with every point's out-of-sample returns, the Probability of Backtest Overfitting. The DSR's trials are
the clusters of the grid points' out-of-sample return series (``overfitting.effective_trials``: near
duplicates are one trial), their Sharpe variance that of the cluster-level Sharpes; the raw count (every
grid point a trial, the variance of all their Sharpes) is kept beside it.

Stand-aside rule: a fold adopts its winner only when the winner's in-sample deflated Sharpe probability
(the eligible points' in-sample return series clustered the same way) reaches
``walkforward_adopt_min_dsr``; otherwise the fold stands aside: its out-of-sample month opens no
position (the book holds cash) and ``governed_params`` gets a stand-aside version for it.
"""

from __future__ import annotations

import json
import math
import multiprocessing as mp
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tracer_assets.backtest.engine import simulate
from tracer_assets.backtest.signal_pnl import bar_panel, cost_model, daily_equity, signal_targets
from tracer_assets.evaluation.observations import signal_observations
from tracer_assets.pipeline import MemoryStore, Store
from tracer_assets.pipeline import sentiment as sentiment_stage
from tracer_assets.pipeline import signals as signal_stage
from tracer_assets.research.folds import Fold, fold_for, out_of_sample, purge
from tracer_assets.research.governance import stand_aside_params
from tracer_assets.research.grid import expand_grid, with_params
from tracer_assets.research.overfitting import (
    EffectiveTrials,
    block_bootstrap_sharpe,
    deflated_sharpe_probability,
    effective_trials,
    probability_of_backtest_overfitting,
    sharpe,
)
from tracer_assets.sentiment.pressure import pressure_lookback
from tracer_assets.settings import TracerSettings

DAY = pd.Timedelta(days=1)
DAYS_PER_YEAR = 365.0  # the book trades crypto every day; daily returns are calendar days
UPSTREAM_TABLES = ("bars", "price_features", "narrative_scores")
FOLD_COLUMNS = [
    "fold_id",
    "is_start",
    "is_end",
    "oos_start",
    "oos_end",
    "params",
    "is_objective",
    "is_deflated_sharpe_prob",
    "oos_objective",
    "n_configs_tried",
    "n_oos_trades",
    "event_ts",
    "available_ts",
]
SUMMARY_COLUMNS = [
    "run_id",
    "oos_start",
    "oos_end",
    "oos_sharpe",
    "oos_sharpe_lo",
    "oos_sharpe_hi",
    "deflated_sharpe_prob",
    "deflated_sharpe_prob_raw",
    "n_effective_trials",
    "pbo",
    "oos_hit_rate",
    "n_oos_trades",
    "n_configs_tried",
    "event_ts",
    "available_ts",
]


@dataclass
class WalkForwardResult:
    """Folds table, one summary row, and the stitched out-of-sample book."""

    folds: pd.DataFrame
    summary: dict
    oos_returns: pd.Series
    oos_signals: pd.DataFrame
    oos_observations: pd.DataFrame
    grid: list[dict] = field(default_factory=list)


def _days(start: pd.Timestamp, end: pd.Timestamp) -> list[str]:
    return [d.strftime("%Y-%m-%d") for d in pd.date_range(start.floor("D"), (end - DAY).floor("D"))]


def span_of(folds: list[Fold], settings: TracerSettings) -> tuple[pd.Timestamp, pd.Timestamp]:
    """[first signal time, last OOS end) of a set of folds (in-sample start minus the warm-up)."""
    if not folds:
        raise ValueError("no folds to run")
    start = min(f.is_start for f in folds) - DAY * settings.walkforward.walkforward_warmup_days
    return start, max(f.oos_end for f in folds)


def research_store(
    source: Store, settings: TracerSettings, start: pd.Timestamp, end: pd.Timestamp
) -> MemoryStore:
    """A fresh ``MemoryStore`` holding only the upstream tables the signal stages read for [start, end)."""
    grid = settings.walkforward.walkforward_grid
    longest = max([settings.sentiment.pressure_half_life_hours, *grid.get("pressure_half_life_hours", [])])
    lookback = max(
        pressure_lookback(with_params(settings, {"pressure_half_life_hours": longest}).sentiment),
        DAY * settings.signals.signal_lookback_days,
    )
    horizon = DAY * (math.ceil(settings.signals.signal_horizon_hours / 24) + 2)
    lo, hi = (start - lookback).floor("D"), (end + horizon).floor("D")
    store = MemoryStore()
    for table in UPSTREAM_TABLES:
        for day in source.partitions(table):
            if lo.strftime("%Y-%m-%d") <= day <= hi.strftime("%Y-%m-%d"):
                store.write_partition(table, day, source.read(table, day, day))
    return store


_POOL_JOB: dict = {}  # what forked grid workers read (set just before the pool starts)


def _point_signals(i: int) -> pd.DataFrame:
    """One grid point's signals on its half-life's fork (run in the parent or a forked worker)."""
    forks, settings, points, half_life_of, start, end = _POOL_JOB["args"]
    run = forks[half_life_of[i]].fork()
    params = with_params(settings, points[i])
    return signal_stage.signals(run, params, start, end, check_degraded=False, calibrate=False).signals


def grid_signals(
    store: MemoryStore,
    settings: TracerSettings,
    symbols: list[str],
    points: list[dict],
    start: pd.Timestamp,
    end: pd.Timestamp,
    progress: Callable[[int, int], None] | None = None,
) -> list[pd.DataFrame]:
    """Signals in [start, end) for every grid point, through the pipeline's stages: narrative_pressure
    once per pressure half-life in the grid (on a fork of the upstream tables), signals (first pass:
    which fire and their sizes; calibration changes neither) once per point on a fork of that.
    ``walkforward_workers`` > 1 spreads the points over forked processes."""
    days = _days(start, end)
    default_hl = settings.sentiment.pressure_half_life_hours
    half_life_of = [float(p.get("pressure_half_life_hours", default_hl)) for p in points]
    forks: dict[float, MemoryStore] = {}
    for half_life in sorted(set(half_life_of)):
        fork = store.fork()
        s_hl = with_params(settings, {"pressure_half_life_hours": half_life})
        pressure = sentiment_stage.narrative_pressure(fork, s_hl, symbols, start, end)
        fork.write_partitions("narrative_pressure", pressure, days, by="decision_ts")
        forks[half_life] = fork
    _POOL_JOB["args"] = (forks, settings, points, half_life_of, start, end)
    workers = min(settings.walkforward.walkforward_workers, len(points))
    out: list[pd.DataFrame] = []
    try:
        if workers <= 1 or "fork" not in mp.get_all_start_methods():
            results = map(_point_signals, range(len(points)))
            pool = None
        else:
            pool = ProcessPoolExecutor(workers, mp_context=mp.get_context("fork"))
            results = pool.map(_point_signals, range(len(points)), chunksize=4)
        for done, signals in enumerate(results, start=1):
            out.append(signals)
            if progress is not None:
                progress(done, len(points))
        if pool is not None:
            pool.shutdown()
    finally:
        _POOL_JOB.clear()
    return out


@dataclass
class Books:
    """Daily returns (days x books) and each book's trade entry times."""

    returns: pd.DataFrame
    entries: list[pd.DatetimeIndex]

    def n_trades(self, book: int, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None) -> int:
        """Trades of ``book`` entered in [start, end) (all when no bounds)."""
        t = self.entries[book]
        keep = np.ones(len(t), bool)
        if start is not None:
            keep &= t >= start
        if end is not None:
            keep &= t < end
        return int(keep.sum())


def book_returns(
    signal_sets: list[pd.DataFrame], bars: pd.DataFrame, settings: TracerSettings, start, end
) -> Books:
    """Each signal set traded as its own book by the backtest engine (costs, fills and sizing of the
    backtest settings), bars from ``start`` to its signals' last exit; daily returns from ``start``."""
    bt = settings.backtest
    horizon = pd.Timedelta(hours=settings.signals.signal_horizon_hours) + DAY
    panel = bar_panel(bars, start, end + horizon)
    empty = [pd.DatetimeIndex([], tz="UTC") for _ in signal_sets]
    if not panel.n_bars or not signal_sets:
        return Books(pd.DataFrame(), empty)
    n_sym = len(panel.symbols)
    targets = [signal_targets(s, panel).target for s in signal_sets]
    result = simulate(
        panel.open,
        panel.high,
        panel.low,
        panel.close,
        np.concatenate(targets, axis=1),
        cost=cost_model(bt),
        cash=bt.backtest_initial_cash,
        price_col=np.tile(np.arange(n_sym), len(signal_sets)),
        account=np.repeat(np.arange(len(signal_sets)), n_sym),
        fill=bt.backtest_fill,
    )
    daily = pd.DataFrame(
        {
            i: daily_equity(result.equity[:, i], panel, bt.backtest_initial_cash)
            for i in range(len(signal_sets))
        }
    )
    trades = result.trades
    if len(trades):
        book = trades["column"].to_numpy() // n_sym
        entry = panel.ts[trades["entry_bar"].to_numpy()]
        empty = [entry[book == i].sort_values() for i in range(len(signal_sets))]
    return Books(daily.pct_change().iloc[1:], empty)


def _annual_sharpe(returns: pd.Series, start: pd.Timestamp, end: pd.Timestamp) -> float:
    r = returns[(returns.index >= start) & (returns.index < end)]
    return sharpe(r.to_numpy(), DAYS_PER_YEAR)


@dataclass(frozen=True)
class FoldChoice:
    """A fold's in-sample selection: the winning grid point (None when no point reached
    ``walkforward_min_trades``), its objective, and its in-sample deflated Sharpe probability with the
    eligible points' in-sample return series clustered into ``n_effective_trials`` trials."""

    best: int | None
    objective: float
    is_dsr: float
    n_effective_trials: int

    def stands_aside(self, min_dsr: float) -> bool:
        """True when the fold trades nothing out of sample: no winner, or its in-sample DSR below
        ``min_dsr`` (an undefined DSR is no evidence; ``min_dsr`` 0 turns the rule off)."""
        return self.best is None or (min_dsr > 0 and not self.is_dsr >= min_dsr)


def select_in_sample(
    signal_sets: list[pd.DataFrame], bars: pd.DataFrame, settings: TracerSettings, fold: Fold
) -> FoldChoice:
    """The best grid point on the fold's purged in-sample window: the annualised Sharpe of daily
    returns net of costs among points with at least ``walkforward_min_trades`` trades, and the
    winner's deflated Sharpe probability against those points (clustered, ``effective_trials``).
    Reads no bar after ``is_end``'s day (daily returns up to it; purged signals resolve by it)."""
    purged = [purge(s, fold) for s in signal_sets]
    in_sample = bars[bars["ts"] < fold.is_end] if len(bars) else bars
    books = book_returns(purged, in_sample, settings, fold.is_start, fold.is_end)
    minimum = settings.walkforward.walkforward_min_trades
    objective = np.array(
        [
            _annual_sharpe(books.returns[i], fold.is_start, fold.is_end)
            if len(books.returns) and books.n_trades(i) >= minimum
            else np.nan
            for i in range(len(signal_sets))
        ]
    )
    if not np.isfinite(objective).any():
        return FoldChoice(None, float("nan"), float("nan"), 0)
    best = int(np.nanargmax(objective))
    r = books.returns
    r = r[(r.index >= fold.is_start) & (r.index < fold.is_end)]
    eligible = r[[i for i in range(len(signal_sets)) if np.isfinite(objective[i])]]
    clusters = effective_trials(eligible.to_numpy())
    dsr = deflated_sharpe_probability(
        r[best].to_numpy(), max(clusters.n_clusters, 1), clusters.sharpe_variance
    )
    return FoldChoice(best, float(objective[best]), dsr, clusters.n_clusters)


def walk_forward(
    store: MemoryStore,
    settings: TracerSettings,
    folds: list[Fold],
    symbols: list[str],
    *,
    run_id: str = "walkforward",
    progress: Callable[[int, int], None] | None = None,
) -> WalkForwardResult:
    """Run every fold (see the module docstring) on a store holding the upstream tables."""
    points = expand_grid(settings.walkforward.walkforward_grid)
    start, end = span_of(folds, settings)
    signal_sets = grid_signals(store, settings, symbols, points, start, end, progress)
    return evaluate_grid(signal_sets, store.read("bars"), settings, folds, points, run_id=run_id)


def evaluate_grid(
    signal_sets: list[pd.DataFrame],
    bars: pd.DataFrame,
    settings: TracerSettings,
    folds: list[Fold],
    points: list[dict],
    *,
    run_id: str = "walkforward",
) -> WalkForwardResult:
    """Selection in sample, the stitched out-of-sample book and its statistics, from every grid point's
    signals over the folds' span (``grid_signals``)."""
    choices = [select_in_sample(signal_sets, bars, settings, fold) for fold in folds]
    trials = grid_trials(signal_sets, bars, settings, folds)
    return stitch(signal_sets, bars, settings, folds, points, choices, trials, run_id=run_id)


@dataclass(frozen=True)
class Trials:
    """Every grid point traded over the folds' whole out-of-sample span: the trials of the DSR and PBO."""

    returns: pd.DataFrame
    clusters: EffectiveTrials
    raw_variance: float
    pbo: float


def grid_trials(
    signal_sets: list[pd.DataFrame], bars: pd.DataFrame, settings: TracerSettings, folds: list[Fold]
) -> Trials:
    """Each grid point's out-of-sample book, their clusters (the DSR's trials), the variance of all
    their Sharpes (the raw DSR's) and the PBO over them."""
    first_oos, last_oos = min(f.oos_start for f in folds), max(f.oos_end for f in folds)
    books = book_returns(
        [out_of_sample_span(s, first_oos, last_oos) for s in signal_sets], bars, settings, first_oos, last_oos
    )
    r = books.returns
    r = r[(r.index >= first_oos) & (r.index < last_oos)] if len(r) else r
    sharpes = np.array([sharpe(r[c].to_numpy()) for c in r.columns]) if len(r) else np.array([])
    finite = sharpes[np.isfinite(sharpes)]
    n_blocks = settings.walkforward.walkforward_pbo_blocks
    return Trials(
        r,
        effective_trials(r.to_numpy()) if len(r) else EffectiveTrials(0, 0.0, np.array([])),
        float(np.var(finite, ddof=1)) if len(finite) > 1 else 0.0,
        probability_of_backtest_overfitting(r.to_numpy(), n_blocks)
        if len(r) >= n_blocks and r.shape[1] >= 2
        else float("nan"),
    )


def fold_params(points: list[dict], choice: FoldChoice, min_dsr: float) -> dict:
    """What a fold adopts: the winner's parameters, flagged ``stand_aside`` when it stands aside."""
    winner = points[choice.best] if choice.best is not None else {}
    return stand_aside_params(winner) if choice.stands_aside(min_dsr) else dict(winner)


def stitch(
    signal_sets: list[pd.DataFrame],
    bars: pd.DataFrame,
    settings: TracerSettings,
    folds: list[Fold],
    points: list[dict],
    choices: list[FoldChoice],
    trials: Trials,
    *,
    run_id: str = "walkforward",
) -> WalkForwardResult:
    """The folds' rows and the stitched out-of-sample book: each fold's winner frozen for its month,
    nothing traded in a month that stands aside (``walkforward_adopt_min_dsr``)."""
    wf = settings.walkforward
    rows, chosen_oos = [], []
    for fold, choice in zip(folds, choices, strict=True):
        trades = not choice.stands_aside(wf.walkforward_adopt_min_dsr)
        chosen_oos.append(
            out_of_sample(signal_sets[choice.best], fold) if trades else signal_sets[0].iloc[:0]
        )
        rows.append(
            {
                "fold_id": fold.fold_id,
                "is_start": fold.is_start,
                "is_end": fold.is_end,
                "oos_start": fold.oos_start,
                "oos_end": fold.oos_end,
                "params": json.dumps(
                    fold_params(points, choice, wf.walkforward_adopt_min_dsr), sort_keys=True
                ),
                "is_objective": choice.objective,
                "is_deflated_sharpe_prob": choice.is_dsr,
                "n_configs_tried": len(points),
            }
        )
    nonempty = [s for s in chosen_oos if len(s)]
    oos_signals = pd.concat(nonempty, ignore_index=True) if nonempty else signal_sets[0].iloc[:0]
    first_oos, last_oos = min(f.oos_start for f in folds), max(f.oos_end for f in folds)
    stitched = book_returns([oos_signals], bars, settings, first_oos, last_oos)
    oos_returns = stitched.returns[0] if len(stitched.returns) else pd.Series(dtype=float)
    oos_returns = oos_returns[(oos_returns.index >= first_oos) & (oos_returns.index < last_oos)]
    for row, fold in zip(rows, folds, strict=True):
        row["oos_objective"] = _annual_sharpe(oos_returns, fold.oos_start, fold.oos_end)
        row["n_oos_trades"] = stitched.n_trades(0, fold.oos_start, fold.oos_end)
        row["event_ts"] = fold.oos_start
        row["available_ts"] = fold.oos_end
    folds_df = pd.DataFrame(rows, columns=FOLD_COLUMNS)
    point, lo, hi = block_bootstrap_sharpe(
        oos_returns.to_numpy(),
        block_days=wf.walkforward_block_days,
        resamples=wf.walkforward_bootstrap_resamples,
        seed=wf.walkforward_seed,
        periods_per_year=DAYS_PER_YEAR,
    )
    observations = signal_observations(oos_signals, bars) if len(oos_signals) else pd.DataFrame()
    summary = {
        "run_id": run_id,
        "oos_start": first_oos,
        "oos_end": last_oos,
        "oos_sharpe": point,
        "oos_sharpe_lo": lo,
        "oos_sharpe_hi": hi,
        "deflated_sharpe_prob": deflated_sharpe_probability(
            oos_returns.to_numpy(), max(trials.clusters.n_clusters, 1), trials.clusters.sharpe_variance
        ),
        "deflated_sharpe_prob_raw": deflated_sharpe_probability(
            oos_returns.to_numpy(), len(points), trials.raw_variance
        ),
        "n_effective_trials": trials.clusters.n_clusters,
        "pbo": trials.pbo,
        "oos_hit_rate": float(observations["outcome"].mean()) if len(observations) else float("nan"),
        "n_oos_trades": stitched.n_trades(0, first_oos, last_oos),
        "n_configs_tried": len(points),
        "event_ts": first_oos,
        "available_ts": last_oos,
    }
    return WalkForwardResult(folds_df, summary, oos_returns, oos_signals, observations, points)


def out_of_sample_span(signals: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Signals decided in [start, end)."""
    if signals.empty:
        return signals
    t = pd.to_datetime(signals["decision_ts"], utc=True)
    return signals[((t >= start) & (t < end)).to_numpy()]


def folds_for_months(source: Store, settings: TracerSettings, months: list[str]) -> list[Fold]:
    """The folds whose out-of-sample windows are ``months`` (``YYYY-MM``), in-sample windows clipped to
    the first day of bars in ``source`` (the anchored start)."""
    days = source.partitions("bars")
    if not days:
        raise ValueError("no bars in the store: replay the daily assets before the walk-forward")
    wf = settings.walkforward
    return [
        fold_for(
            month,
            data_start=days[0],
            is_months=wf.walkforward_is_months,
            embargo_days=wf.walkforward_embargo_days,
            anchored=wf.walkforward_anchored,
        )
        for month in months
    ]


def run_months(
    source: Store,
    settings: TracerSettings,
    symbols: list[str],
    months: list[str],
    *,
    run_id: str = "walkforward",
    progress: Callable[[int, int], None] | None = None,
) -> WalkForwardResult:
    """The walk-forward of the out-of-sample ``months`` on the upstream tables of ``source`` (the lake
    or a store), computed in memory: what the fold assets and ``tracer walkforward`` run."""
    folds = folds_for_months(source, settings, months)
    start, end = span_of(folds, settings)
    store = research_store(source, settings, start, end)
    return walk_forward(store, settings, folds, symbols, run_id=run_id, progress=progress)
