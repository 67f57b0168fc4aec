"""Evaluation domain: resolved predictions as observations, weekly and all-time scores per cohort,
calibration bins, plots beside the weekly snapshot, and the nightly hit-rate self-check.

Weekly tables are pure functions of the lake's observations (and the settings): re-materializing a
week rewrites the same numbers. Files for week W go to ``<lake>/artifacts/evaluation/week=W/``.
"""

import math

import dagster as dg
import pandas as pd

from tracer_assets.defs.common import (
    DAILY_FRESHNESS,
    DAY,
    WEEKLY_FRESHNESS,
    clip_to_now,
    partition_days,
    preview,
    table_result,
    window,
)
from tracer_assets.defs.evaluation.artifacts import (
    brier_plots,
    headline_md,
    market_vs_internal,
    path_metadata,
    reliability_plots,
    week_dir,
    write_csv,
)
from tracer_assets.defs.evaluation.resolutions import market_resolution_sensor, resolution_eval_job
from tracer_assets.defs.market.assets import bars
from tracer_assets.defs.partitions import DAILY, WEEKLY
from tracer_assets.defs.polymarket.assets import polymarket_markets
from tracer_assets.defs.resources import TracerResource
from tracer_assets.defs.signals.assets import signals
from tracer_assets.evaluation.lead_time import lead_hours_list
from tracer_assets.evaluation.metrics import (
    cohort_win_rates,
    parse_week,
    prepare_observations,
    rolling_metrics,
    weekly_calibration_bins,
    weekly_metrics,
)
from tracer_assets.evaluation.observations import (
    combine_observations,
    market_observations,
    signal_observations,
)
from tracer_assets.evaluation.self_check import hit_rate_trend as compute_hit_rate_trend
from tracer_assets.evaluation.self_check import self_check
from tracer_assets.lake import Lake
from tracer_assets.settings import TracerSettings


def observations_for_range(
    lake: Lake,
    settings: TracerSettings,
    asset_classes: dict[str, str],
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Observations that became known in [start, end): signals whose horizon passed, and resolved
    market questions priced at every lead time by the market and by us. Returns (rows, market counts)."""
    s = settings
    sig_lookback = DAY * (math.ceil(s.signal_horizon_hours / 24) + 1)
    sigs = lake.read("signals", start - sig_lookback, end - DAY)
    bars_df = lake.read("bars", start - sig_lookback, end - DAY)
    obs_sig = signal_observations(sigs, bars_df, source_model=s.polarity_model)
    leads = lead_hours_list(s)
    # the frozen price may be the longest lead (plus the day cut-off) before the end
    mkt_lookback = DAY * (math.ceil(max(leads) / 24) + 2)
    snaps = lake.read("polymarket_markets", start - mkt_lookback, end - DAY)
    obs_mkt, stats = market_observations(snaps, leads, asset_classes, s.eval_score_rejected_markets)
    obs = combine_observations(obs_sig, obs_mkt)
    obs = obs[(obs["available_ts"] >= start) & (obs["available_ts"] < end)].reset_index(drop=True)
    return obs, stats


@dg.asset(
    **DAILY,
    group_name="evaluation",
    kinds={"pandas", "parquet"},
    deps=[signals, bars, polymarket_markets],
    description="One row per resolved prediction, by the day it became known: signals at their horizon, and "
    "market questions priced by the market and by our internal_prob, frozen at each lead time (eval_lead_hours).",
)
def eval_observations(context: dg.AssetExecutionContext, tracer: TracerResource) -> dg.MaterializeResult:
    start, end = window(context)
    classes = {i.symbol: i.asset_class for i in tracer.universe.instruments}
    obs, stats = observations_for_range(tracer.lake, tracer.settings, classes, start, end)
    counts = tracer.lake.write_partitions(
        "eval_observations", obs, partition_days(context), by="available_ts"
    )
    by_group = (
        obs.groupby(["kind", "predictor"]).size().rename("n").reset_index() if len(obs) else pd.DataFrame()
    )
    return table_result(
        "eval_observations",
        obs,
        counts,
        signals=int((obs["kind"] == "signal").sum()) if len(obs) else 0,
        lead_hours=tracer.settings.eval_lead_hours,
        markets_resolved=stats["resolved"],
        markets_void=stats["void"],
        markets_scored=stats["scored_questions"],
        market_leads_without_price=stats["not_frozen"],
        by_kind=preview(by_group, rows=20),
    )


def week_observations(tracer: TracerResource, week: str) -> pd.DataFrame:
    """Observations that may belong to ``week`` (by resolved_ts): a prediction resolved late on Sunday
    can become known days later, so read ``eval_week_slack_days`` past the week's end; the weekly
    functions drop other weeks' rows."""
    monday = parse_week(week)
    return tracer.lake.read(
        "eval_observations", monday, monday + DAY * (6 + tracer.settings.eval_week_slack_days)
    )


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


@dg.asset(
    **WEEKLY,
    group_name="evaluation",
    kinds={"pandas", "parquet", "plotly"},
    deps=[eval_observations],
    freshness_policy=WEEKLY_FRESHNESS,
    description="Weekly n, Brier, log-loss, hit rate, Murphy decomposition, bootstrap intervals and the skill of "
    "our probability vs the market's (bss_vs_market) per kind, predictor and cohort; Brier-over-time plots.",
)
def eval_metrics(context: dg.AssetExecutionContext, tracer: TracerResource) -> dg.MaterializeResult:
    s = tracer.settings
    frames, paths = [], {}
    for week in context.partition_keys:
        metrics = weekly_metrics(week_observations(tracer, week), week, s)
        tracer.lake.write_partition("eval_metrics", week, metrics)
        folder = week_dir(tracer.lake, week)
        paths = {"csv": write_csv(metrics, folder / "eval_metrics.csv")}
        history = tracer.lake.read("eval_metrics", None, week)
        paths |= brier_plots(history, folder, week, s.eval_plotlyjs)
        frames.append(metrics)
    df = _concat(frames)
    return table_result(
        "eval_metrics",
        df,
        {w: int((df["week"] == w).sum()) if len(df) else 0 for w in context.partition_keys},
        headline=dg.MetadataValue.md(headline_md(df)),
        market_vs_internal=market_vs_internal(df),
        **path_metadata(paths),
    )


@dg.asset(
    **WEEKLY,
    group_name="evaluation",
    kinds={"pandas", "parquet", "plotly"},
    deps=[eval_observations],
    freshness_policy=WEEKLY_FRESHNESS,
    description="Reliability bins (uniform and quantile) per kind and predictor for the week, as a lake table, "
    "a CSV and reliability diagrams beside the weekly snapshot.",
)
def calibration_bins(context: dg.AssetExecutionContext, tracer: TracerResource) -> dg.MaterializeResult:
    s = tracer.settings
    frames, paths = [], {}
    for week in context.partition_keys:
        bins = weekly_calibration_bins(week_observations(tracer, week), week, s)
        tracer.lake.write_partition("calibration_bins", week, bins)
        folder = week_dir(tracer.lake, week)
        paths = {"csv": write_csv(bins, folder / "calibration_bins.csv")}
        paths |= reliability_plots(bins, folder, week, s.eval_plotlyjs)
        frames.append(bins)
    df = _concat(frames)
    return table_result("calibration_bins", df, **path_metadata(paths))


@dg.asset(
    **WEEKLY,
    group_name="evaluation",
    kinds={"pandas", "parquet"},
    deps=[eval_observations],
    freshness_policy=WEEKLY_FRESHNESS,
    description="Rolling all-time metrics as of each week's end (every observation known by then), "
    "same columns as eval_metrics with week = 'all-time' and through_week = the partition.",
)
def eval_metrics_all_time(context: dg.AssetExecutionContext, tracer: TracerResource) -> dg.MaterializeResult:
    s = tracer.settings
    frames, paths = [], {}
    # one read for the whole range: rolling_metrics keeps only what was known by each week's end
    history = tracer.lake.read("eval_observations", None, parse_week(context.partition_keys[-1]) + DAY * 7)
    for week in context.partition_keys:
        as_of = parse_week(week) + DAY * 7
        metrics = rolling_metrics(history, as_of, s)
        metrics.insert(1, "through_week", week)
        tracer.lake.write_partition("eval_metrics_all_time", week, metrics)
        paths = {"csv": write_csv(metrics, week_dir(tracer.lake, week) / "eval_metrics_all_time.csv")}
        frames.append(metrics)
    df = _concat(frames)
    labelled = df.assign(week=df["through_week"]) if len(df) else df
    return table_result(
        "eval_metrics_all_time",
        df,
        headline=dg.MetadataValue.md(headline_md(labelled)),
        market_vs_internal=market_vs_internal(labelled),
        **path_metadata(paths),
    )


@dg.asset(
    **WEEKLY,
    group_name="evaluation",
    kinds={"pandas", "parquet"},
    deps=[eval_observations],
    freshness_policy=WEEKLY_FRESHNESS,
    description="Weekly win rate per cohort (asset class, direction, strength bucket, source model, lead time) "
    "with Wilson intervals, hit rate and mean predicted probability.",
)
def eval_win_rates(context: dg.AssetExecutionContext, tracer: TracerResource) -> dg.MaterializeResult:
    s = tracer.settings
    frames, paths = [], {}
    for week in context.partition_keys:
        monday = parse_week(week)
        obs = prepare_observations(week_observations(tracer, week), s)
        obs = obs[(obs["resolved_ts"] >= monday) & (obs["resolved_ts"] < monday + DAY * 7)]
        rates = cohort_win_rates(obs, s)
        rates.insert(0, "week", week)
        tracer.lake.write_partition("eval_win_rates", week, rates)
        paths = {"csv": write_csv(rates, week_dir(tracer.lake, week) / "eval_win_rates.csv")}
        frames.append(rates)
    df = _concat(frames)
    return table_result("eval_win_rates", df, **path_metadata(paths))


@dg.asset(
    **DAILY,
    group_name="evaluation",
    kinds={"pandas", "parquet"},
    deps=[eval_observations],
    freshness_policy=DAILY_FRESHNESS,
    description="Nightly hit-rate trend per kind and predictor: the last eval_selfcheck_window_days against the "
    "eval_selfcheck_baseline_days before them; the hit_rate_self_check judges the newest night.",
)
def hit_rate_trend(context: dg.AssetExecutionContext, tracer: TracerResource) -> dg.MaterializeResult:
    s = tracer.settings
    frames, counts = [], {}
    span = DAY * (s.eval_selfcheck_window_days + s.eval_selfcheck_baseline_days + 1)
    days = partition_days(context)
    # one read for the whole range, then each night's window of partition days (= available_ts days)
    history = tracer.lake.read("eval_observations", pd.Timestamp(days[0], tz="UTC") - span, days[-1])
    known_day = (
        pd.to_datetime(history["available_ts"], utc=True).dt.strftime("%Y-%m-%d") if len(history) else None
    )
    for day in days:
        as_of = clip_to_now(pd.Timestamp(day, tz="UTC") + DAY) - pd.Timedelta(microseconds=1)
        first = (as_of - span).floor("D").strftime("%Y-%m-%d")
        obs = history[(known_day >= first) & (known_day <= day)] if len(history) else history
        trend = compute_hit_rate_trend(
            obs, as_of, s.eval_selfcheck_window_days, s.eval_selfcheck_baseline_days
        )
        tracer.lake.write_partition("hit_rate_trend", day, trend)
        counts[day] = len(trend)
        frames.append(trend)
    df = _concat(frames)
    _, explanation, _ = self_check(frames[-1] if frames else df, s)
    return table_result("hit_rate_trend", df, counts, last_night=explanation)


@dg.asset_check(
    asset=hit_rate_trend,
    name="hit_rate_self_check",
    description="Fails, with a plain explanation, when the newest night's hit rate dropped more than "
    "eval_selfcheck_max_drop below its baseline (groups with enough resolved predictions only).",
)
def hit_rate_self_check(tracer: TracerResource) -> dg.AssetCheckResult:
    parts = tracer.lake.partitions("hit_rate_trend")
    if not parts:
        explanation = "No hit-rate trend written yet: nothing to judge."
        return dg.AssetCheckResult(
            passed=True, description=explanation, metadata={"explanation": explanation}
        )
    latest = parts[-1]
    passed, explanation, meta = self_check(
        tracer.lake.read("hit_rate_trend", latest, latest), tracer.settings
    )
    return dg.AssetCheckResult(
        passed=passed,
        description=explanation,
        metadata={
            "explanation": explanation,
            "night": latest,
            "max_drop": meta["max_drop"],
            "min_n": meta["min_n"],
            "groups_judged": meta["groups_judged"],
            "groups_failed": meta["groups_failed"],
            "groups": dg.MetadataValue.json(meta["groups"]),
        },
    )


CHECKS = [hit_rate_self_check]
JOBS = [resolution_eval_job]
SENSORS = [market_resolution_sensor]
