"""Sentiment domain: polarity, confidence and novelty per narrative (cached by content and model),
and the decayed narrative pressure per symbol and hour."""

import dagster as dg
import pandas as pd

from tracer_assets.defs.common import DAILY_FRESHNESS, DAY, partition_days, table_result, window
from tracer_assets.defs.narratives.assets import narratives
from tracer_assets.defs.partitions import DAILY
from tracer_assets.defs.resources import TracerResource
from tracer_assets.lake import Lake
from tracer_assets.sentiment import pressure as pressure_model
from tracer_assets.settings import TracerSettings


@dg.asset(
    **DAILY,
    group_name="sentiment",
    kinds={"python", "parquet"},
    deps=[narratives],
    freshness_policy=DAILY_FRESHNESS,
    description="Polarity in [-1, 1], confidence, label and novelty per narrative; available when the narrative is.",
)
def narrative_scores(context: dg.AssetExecutionContext, tracer: TracerResource) -> dg.MaterializeResult:
    from tracer_assets.sentiment.scoring import score_narratives

    s = tracer.settings
    start, end = window(context)
    todays = tracer.lake.read("narratives", start, end - DAY)
    history = tracer.lake.read("narratives", start - DAY * s.novelty_days, start - DAY)
    scores = score_narratives(todays, s, s.lake_root, history=history)
    counts = tracer.lake.write_partitions("narrative_scores", scores, partition_days(context), by="event_ts")
    models = sorted(scores["model"].dropna().unique().tolist()) if len(scores) else []
    stats = scores.attrs.get("sentiment", {})
    return table_result(
        "narrative_scores", scores, counts, models=", ".join(models), cache=dg.MetadataValue.json(stats)
    )


def pressure_by_day(lake: Lake, settings: TracerSettings, decisions: pd.DataFrame) -> pd.DataFrame:
    """Decayed pressure at each (symbol, decision_ts), day by day over a fixed lookback per day, so a
    day computed alone equals the same day inside a range (identical inputs, identical floats)."""
    if decisions.empty:
        return pressure_model.narrative_pressure(
            decisions.iloc[:0], decisions[["symbol", "decision_ts"]], settings
        )
    lookback = pressure_model.pressure_lookback(settings)
    days = pd.to_datetime(decisions["decision_ts"], utc=True).dt.floor("D")
    first, last = days.min(), days.max()
    scores = lake.read("narrative_scores", (first - lookback).floor("D"), last)
    out = []
    for day, dec in decisions.groupby(days, sort=True):
        window_scores = (
            scores[(scores["available_ts"] > day - lookback) & (scores["available_ts"] < day + DAY)]
            if len(scores)
            else scores
        )
        out.append(pressure_model.narrative_pressure(window_scores, dec[["symbol", "decision_ts"]], settings))
    pressure = pd.concat(out, ignore_index=True)
    pressure["narrative_ids"] = counted_narrative_ids(scores, pressure, settings)
    pressure.attrs["llm"] = pressure_model.llm_exclusions(scores, decisions["decision_ts"])
    return pressure


def counted_narrative_ids(
    scores: pd.DataFrame, pressure: pd.DataFrame, settings: TracerSettings
) -> list[str]:
    """Comma-joined ids of the narratives counted in each pressure row (available in the count window)."""
    ids = [""] * len(pressure)
    if scores.empty or pressure.empty:
        return ids
    window_h = pd.Timedelta(hours=settings.pressure_count_half_lives * settings.pressure_half_life_hours)
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


@dg.asset(
    **DAILY,
    group_name="sentiment",
    kinds={"pandas", "parquet"},
    deps=[narrative_scores],
    freshness_policy=DAILY_FRESHNESS,
    description="Decayed narrative pressure per symbol and hour: sum of polarity x confidence x novelty x "
    "2^(-age / half-life) over narratives available by then.",
)
def narrative_pressure(context: dg.AssetExecutionContext, tracer: TracerResource) -> dg.MaterializeResult:
    s = tracer.settings
    start, end = window(context)
    grid = pressure_model.hourly_decision_times(tracer.universe.symbols, start, end)
    pressure = pressure_by_day(tracer.lake, s, grid)
    counts = tracer.lake.write_partitions(
        "narrative_pressure", pressure, partition_days(context), by="decision_ts"
    )
    return table_result(
        "narrative_pressure",
        pressure,
        counts,
        half_life_hours=s.pressure_half_life_hours,
        **pressure.attrs.get("llm", {}),
    )
