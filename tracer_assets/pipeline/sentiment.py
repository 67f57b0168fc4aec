"""The sentiment stages: narrative_scores per narrative, and narrative_pressure at every decision time
the signals stage evaluates (each bar close, stock ``:30`` closes included, plus the hourly grid)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tracer_assets.pipeline.governed import governed_segments
from tracer_assets.pipeline.store import Store
from tracer_assets.pipeline.window import DAY, StampIndex, last_day
from tracer_assets.sentiment import pressure as pressure_model
from tracer_assets.settings import TracerSettings


def narrative_scores(
    store: Store,
    settings: TracerSettings,
    start: pd.Timestamp,
    end: pd.Timestamp,
    cache_root: str | Path | None = None,
) -> pd.DataFrame:
    """Scores of the narratives published in [start, end); novelty compares with ``novelty_days`` of
    earlier narratives. ``cache_root`` is the lake root the model caches live under (None: no cache)."""
    from tracer_assets.sentiment.scoring import build_llm_scorer, score_narratives

    todays = store.read("narratives", start, last_day(end))
    # one day more than the window: a story published before midnight may be ingested after it
    history = store.read("narratives", start - DAY * (settings.sentiment.novelty_days + 1), start - DAY)
    providers = settings.providers
    llm = build_llm_scorer(settings.sentiment, providers.perplexity_api_key, providers.perplexity_url)
    try:
        return score_narratives(todays, settings.sentiment, cache_root, history=history, llm=llm)
    finally:
        if llm is not None:
            llm.close()


def decision_times(store: Store, symbols: list[str], start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Every (symbol, decision_ts) in [start, end) at which pressure is kept: the hourly grid of the
    universe and every bar close in ``price_features`` (a stock's ``:30`` closes are off the grid)."""
    grid = pressure_model.hourly_decision_times(symbols, start, end)
    feats = store.read("price_features", start, last_day(end), columns=["symbol", "available_ts"])
    if len(feats):
        closes = pd.to_datetime(feats["available_ts"], utc=True)
        feats = pd.DataFrame({"symbol": feats["symbol"].astype(str), "decision_ts": closes})[
            (closes >= start) & (closes < end)
        ]
        grid = pd.concat([grid, feats], ignore_index=True)
    grid["decision_ts"] = pd.to_datetime(grid["decision_ts"], utc=True)
    grid = grid.drop_duplicates(["symbol", "decision_ts"])
    return grid.sort_values(["decision_ts", "symbol"], kind="stable").reset_index(drop=True)


def pressure_by_day(store: Store, settings: TracerSettings, decisions: pd.DataFrame) -> pd.DataFrame:
    """Decayed pressure at each (symbol, decision_ts), day by day over a fixed lookback per day, so a
    day computed alone equals the same day inside a range (identical inputs, identical floats)."""
    if decisions.empty:
        return pressure_model.narrative_pressure(
            decisions.iloc[:0], decisions[["symbol", "decision_ts"]], settings.sentiment
        ).assign(narrative_ids=pd.Series(dtype=object))
    lookback = pressure_model.pressure_lookback(settings.sentiment)
    days = pd.to_datetime(decisions["decision_ts"], utc=True).dt.floor("D")
    first, last = days.min(), days.max()
    # scores are partitioned by publication day but counted by availability: one day earlier holds the
    # stories published before midnight and ingested after it
    scores = store.read("narrative_scores", (first - lookback).floor("D") - DAY, last)
    # each day sees only its own window of scores (identical inputs, identical floats), found by binary
    # search; the per-row work on the scores is done once for the range
    stamps = StampIndex(scores["available_ts"]) if len(scores) else None
    windows = [
        (rows, stamps.positions(day - lookback, day + DAY, lo_inclusive=False) if stamps else np.arange(0))
        for day, rows in sorted(pd.Series(np.arange(len(days))).groupby(days.to_numpy()).indices.items())
    ]
    pressure = pressure_model.narrative_pressure(
        scores, decisions[["symbol", "decision_ts"]], settings.sentiment, windows=windows
    )
    pressure["narrative_ids"] = counted_narrative_ids(scores, pressure, settings)
    # LLM answers obtained after a decision time are left out of it (sentiment.pressure): count them
    pressure.attrs["llm"] = pressure_model.llm_exclusions(scores, decisions["decision_ts"])
    return pressure


def counted_narrative_ids(
    scores: pd.DataFrame, pressure: pd.DataFrame, settings: TracerSettings
) -> list[str]:
    """Comma-joined ids of the narratives counted in each pressure row (available in the count window)."""
    ids = [""] * len(pressure)
    if scores.empty or pressure.empty:
        return ids
    window_h = pd.Timedelta(
        hours=settings.sentiment.pressure_count_half_lives * settings.sentiment.pressure_half_life_hours
    )
    sc = scores.sort_values(["available_ts", "narrative_id"], kind="stable")  # ties: same order in any run
    by_symbol = {
        sym: (g["available_ts"].to_numpy("datetime64[ns]"), g["narrative_id"].astype(str).to_numpy())
        for sym, g in sc.groupby("symbol")
    }
    for sym, rows in pressure.groupby("symbol").indices.items():
        if sym not in by_symbol:
            continue
        times, nids = by_symbol[sym]
        t = pressure["decision_ts"].to_numpy("datetime64[ns]")[rows]
        hi = times.searchsorted(t, side="right")
        lo = times.searchsorted(t - window_h.to_timedelta64(), side="right")
        for r, a, b in zip(rows, lo, hi, strict=True):
            ids[r] = ",".join(nids[a:b])
    return ids


def narrative_pressure(
    store: Store, settings: TracerSettings, symbols: list[str], start: pd.Timestamp, end: pd.Timestamp
) -> pd.DataFrame:
    """Pressure at every decision time in [start, end) (see ``decision_times``), each with the governed
    parameters in force at it (the pressure half-life is one of them; ``pipeline.governed``)."""
    decisions = decision_times(store, symbols, start, end)
    segments = governed_segments(store, settings, start, end)
    if len(segments) == 1:
        return pressure_by_day(store, segments[0].settings, decisions)
    ts = pd.to_datetime(decisions["decision_ts"], utc=True)
    parts = [
        pressure_by_day(store, seg.settings, decisions[((ts >= seg.start) & (ts < seg.end)).to_numpy()])
        for seg in segments
    ]
    llm = {k: sum(p.attrs.get("llm", {}).get(k, 0) for p in parts) for k in ("llm_late", "llm_excluded")}
    pressure = pd.concat([p for p in parts if len(p)] or parts[:1], ignore_index=True)
    pressure.attrs["llm"] = llm
    return pressure
