"""Placebos through the whole pipeline: break the link between the news and the prices in a known way,
re-run the downstream stages (pressure, signals, observations) on a forked store, and see whether the
real result stands out from what the broken versions give.

Kinds (each a transform of the stored ``narrative_scores``):

* ``shift_<h>h`` -- every story becomes available ``h`` hours later (publication unchanged, so it also
  enters more decayed): an edge that comes from timely news should fade;
* ``swap_symbols`` -- each symbol's stories are given to another symbol of the same asset class;
* ``flip_polarity`` -- every polarity's sign is flipped (the model reads the news backwards);
* ``circular_shift`` -- each symbol's story times are rotated by a random offset within the window,
  keeping their rhythm but not their timing relative to prices.

The swap and the rotation are random (``draws`` draws each, seeded); the shifts and the flip are
deterministic (one draw). Each draw gives a hit rate and the strategy's Sharpe (``research.strategy``);
the summary puts the real figure beside each kind's distribution with an empirical p-value
``(1 + #{placebo >= real}) / (1 + draws)``. A placebo draw that fires no signal counts as a coin flip
on a flat book (hit rate 0.5, Sharpe 0).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from tracer_assets.pipeline import SIGNAL_STAGES, MemoryStore, run_chain
from tracer_assets.research.strategy import signal_trades, summarize
from tracer_assets.settings import TracerSettings
from tracer_assets.universe import Universe

RESULT_COLUMNS = ["kind", "seed", "draw", "hit_rate", "sharpe", "n_signals"]
RANDOM_KINDS = ("swap_symbols", "circular_shift")
REAL = "real"
RERUN_STAGES = ("narrative_pressure", "signals", "eval_observations")
DAY = pd.Timedelta(days=1)
NO_SIGNAL = {"hit_rate": 0.5, "sharpe": 0.0}


def parse_shifts(text: str) -> list[float]:
    """The ``placebo_shift_hours`` setting as hours."""
    try:
        return [float(x) for x in str(text).split(",") if x.strip()]
    except ValueError as exc:
        raise ValueError(f"TRACER_PLACEBO_SHIFT_HOURS: expected comma-separated hours, got {text!r}") from exc


def placebo_kinds(settings: TracerSettings) -> list[str]:
    shifts = [f"shift_{h:g}h" for h in parse_shifts(settings.evidence.placebo_shift_hours)]
    return [*shifts, "swap_symbols", "flip_polarity", "circular_shift"]


def _derangement(items: list[str], rng: np.random.Generator) -> dict[str, str]:
    if len(items) < 2:
        return {i: i for i in items}
    while True:
        perm = list(rng.permutation(items))
        if all(a != b for a, b in zip(items, perm, strict=True)):
            return dict(zip(items, perm, strict=True))


def transform_scores(
    scores: pd.DataFrame,
    kind: str,
    rng: np.random.Generator,
    start: pd.Timestamp,
    end: pd.Timestamp,
    asset_classes: dict[str, str],
) -> pd.DataFrame:
    """``scores`` with the placebo ``kind`` applied (module docstring); [start, end) is the window."""
    out = scores.copy()
    if out.empty:
        return out
    event = pd.to_datetime(out["event_ts"], utc=True)
    available = pd.to_datetime(out["available_ts"], utc=True)
    if kind.startswith("shift_") and kind.endswith("h"):
        out["available_ts"] = available + pd.Timedelta(hours=float(kind[len("shift_") : -1]))
    elif kind == "flip_polarity":
        for col in ("polarity", "combined_polarity", "llm_polarity"):
            if col in out.columns:
                out[col] = -out[col].astype(float)
        out["label"] = out["label"].map({"positive": "negative", "negative": "positive"}).fillna(out["label"])
    elif kind == "swap_symbols":
        symbols = out["symbol"].astype(str)
        mapping: dict[str, str] = {}
        for cls in sorted(set(asset_classes.get(s, "") for s in symbols.unique())):
            members = sorted(s for s in symbols.unique() if asset_classes.get(s, "") == cls)
            mapping |= _derangement(members, rng)
        out["symbol"] = symbols.map(mapping)
    elif kind == "circular_shift":
        span = (end - start).total_seconds()
        lag = available - event
        secs = (event - start).dt.total_seconds().to_numpy(float).copy()
        symbols = out["symbol"].astype(str).to_numpy()
        for symbol in sorted(set(symbols)):
            rows = symbols == symbol
            offset = rng.uniform(DAY.total_seconds(), max(span - DAY.total_seconds(), DAY.total_seconds()))
            secs[rows] = np.floor((secs[rows] + offset) % span)  # whole seconds: the lake keeps microseconds
        new_event = start + pd.to_timedelta(pd.Series(secs, index=out.index), unit="s")
        out["event_ts"] = new_event
        out["available_ts"] = new_event + lag
    else:
        raise ValueError(f"unknown placebo kind {kind!r}")
    return out.reset_index(drop=True)


def _measure(
    store: MemoryStore, settings: TracerSettings, universe: Universe, first: str, last: str, stages
) -> dict:
    result = run_chain(store, settings, first, last, universe=universe, stages=stages)
    start, end = pd.Timestamp(first, tz="UTC"), pd.Timestamp(last, tz="UTC") + DAY
    bars = store.read("bars", start - DAY * settings.signals.signal_lookback_days, end - DAY)
    return summarize(signal_trades(result.signals, bars, end), start, end)


def placebo_study(
    base: MemoryStore,
    settings: TracerSettings,
    universe: Universe,
    first_day: str,
    last_day: str,
    *,
    kinds: list[str] | None = None,
    draws: int | None = None,
    seed: int | None = None,
    on_run: Callable[[str, int], None] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(results, summary) of the placebos over ``first_day..last_day``; ``on_run(what, total)`` is
    called after each run of the chain (the real one, then every draw), for progress.

    ``base`` holds the upstream tables (bars, price_features, narrative_scores, narrative_pressure) of
    the window; it is never written (every run works on a fork). ``results`` has one row per draw
    (``RESULT_COLUMNS``, the real run as kind ``real``), ``summary`` one row per kind.
    """
    ev = settings.evidence
    kinds = kinds if kinds is not None else placebo_kinds(settings)
    draws = draws if draws is not None else ev.placebo_draws
    seed = ev.placebo_seed if seed is None else seed
    start, end = pd.Timestamp(first_day, tz="UTC"), pd.Timestamp(last_day, tz="UTC") + DAY
    days = [d.strftime("%Y-%m-%d") for d in pd.date_range(start, end - DAY, freq="D")]
    classes = {i.symbol: i.asset_class for i in universe.instruments}
    scores = base.read("narrative_scores", first_day, last_day)
    total = 1 + sum(draws if kind in RANDOM_KINDS else 1 for kind in kinds)
    done = on_run or (lambda what, total: None)
    rows = [
        {
            "kind": REAL,
            "seed": seed,
            "draw": 0,
            **_measure(base.fork(), settings, universe, first_day, last_day, SIGNAL_STAGES),
        }
    ]
    done(REAL, total)
    for k, kind in enumerate(kinds):
        for draw in range(draws if kind in RANDOM_KINDS else 1):
            rng = np.random.default_rng([seed, k, draw])
            fork = base.fork()
            fork.write_partitions(
                "narrative_scores",
                transform_scores(scores, kind, rng, start, end, classes),
                days,
                by="event_ts",
            )
            rows.append(
                {
                    "kind": kind,
                    "seed": seed,
                    "draw": draw,
                    **_measure(fork, settings, universe, first_day, last_day, RERUN_STAGES),
                }
            )
            done(f"{kind} #{draw + 1}", total)
    results = pd.DataFrame(rows)
    return results[RESULT_COLUMNS].reset_index(drop=True), summarize_placebos(results)


def _p_value(null: pd.Series, real: float) -> float:
    null = null.dropna()
    if np.isnan(real) or null.empty:
        return float("nan")
    return float((1 + (null >= real).sum()) / (1 + len(null)))


def summarize_placebos(results: pd.DataFrame) -> pd.DataFrame:
    """Per placebo kind: draws, mean and 95th percentile of hit rate and Sharpe, the real figures, the
    empirical p-values and whether the real figure is above the 95th percentile."""
    real = results[results["kind"] == REAL].iloc[0]
    out = []
    for kind, g in results[results["kind"] != REAL].groupby("kind", sort=False):
        row = {"kind": kind, "draws": len(g)}
        for metric in ("hit_rate", "sharpe"):
            # a placebo that fired no signal is a coin flip on a flat book
            null = g[metric].astype(float).fillna(NO_SIGNAL[metric])
            p95 = float(np.nanpercentile(null, 95)) if null.notna().any() else float("nan")
            row |= {
                f"{metric}_mean": float(null.mean()),
                f"{metric}_p95": p95,
                f"real_{metric}": float(real[metric]),
                f"{metric}_p_value": _p_value(null, float(real[metric])),
                f"{metric}_above_p95": bool(float(real[metric]) > p95) if not np.isnan(p95) else False,
            }
        out.append(row)
    return pd.DataFrame(out)


UPSTREAM_TABLES = ("bars", "price_features", "narrative_scores", "narrative_pressure")


def window_store(lake, settings: TracerSettings, first_day: str, last_day: str) -> MemoryStore:
    """The upstream tables of ``first_day..last_day`` (plus the lookbacks the signal stages read)
    copied from a lake into a ``MemoryStore``, so placebos never write the lake."""
    mem = MemoryStore()
    lookback = max(settings.signals.signal_lookback_days, settings.market.feature_lookback_days) + 2
    lo = (pd.Timestamp(first_day) - DAY * lookback).strftime("%Y-%m-%d")
    for table in UPSTREAM_TABLES:
        for day in [d for d in lake.partitions(table) if lo <= d <= last_day]:
            mem.write_partition(table, day, lake.read(table, day, day))
    return mem


def sim_base_store(
    settings: TracerSettings, universe: Universe, first_day: str, last_day: str
) -> MemoryStore:
    """The upstream tables of the sim world (``settings``' seed and effect) computed in memory."""
    from tracer_assets.pipeline import UPSTREAM_STAGES

    # warm-up: the signal stage's lookback (earlier features only lengthen the first days' windows)
    warm = (pd.Timestamp(first_day) - DAY * (settings.signals.signal_lookback_days + 2)).strftime("%Y-%m-%d")
    base = MemoryStore()
    run_chain(base, settings, warm, last_day, universe=universe, stages=UPSTREAM_STAGES)
    return base
