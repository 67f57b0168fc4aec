"""Evaluation domain: resolved predictions as observations, weekly and all-time scores per cohort,
calibration bins, plots beside the weekly snapshot, and the nightly hit-rate self-check.

Weekly tables are pure functions of the lake's observations (and the settings): re-materializing a
week rewrites the same numbers. Files for week W go to ``<lake>/artifacts/evaluation/week=W/``.
"""

import dagster as dg
import pandas as pd

from tracer_assets.defs.common import (
    DAILY_FRESHNESS,
    WEEKLY_FRESHNESS,
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
from tracer_assets.evaluation.self_check import self_check
from tracer_assets.pipeline import evaluation
from tracer_assets.pipeline.window import concat


@dg.asset(
    **DAILY,
    group_name="evaluation",
    kinds={"pandas", "parquet"},
    deps=[signals, bars, polymarket_markets],
    description="One row per resolved prediction, by the day it became known: signals at their horizon, and "
    "market questions priced by the market and by our internal_prob, frozen at each lead time (eval_lead_hours).",
)
def eval_observations(context: dg.AssetExecutionContext, tracer: TracerResource) -> dg.MaterializeResult:
    obs, stats = evaluation.eval_observations(tracer.lake, tracer.settings, tracer.universe, *window(context))
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


def weekly_tables(context, tracer: TracerResource, table: str) -> tuple[pd.DataFrame, dict]:
    """Compute ``table`` for each week of the run, write its partition and its CSV beside the snapshot;
    returns the weeks' rows and the last week's files."""
    frames, paths = [], {}
    for week in context.partition_keys:
        rows = evaluation.WEEKLY_TABLES[table](tracer.lake, tracer.settings, week)
        tracer.lake.write_partition(table, week, rows)
        paths = {"csv": write_csv(rows, week_dir(tracer.settings, week) / f"{table}.csv")}
        frames.append(rows)
    return concat(frames), paths


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
    df, paths = weekly_tables(context, tracer, "eval_metrics")
    for week in context.partition_keys:  # each week's Brier history up to it, beside its snapshot
        history = tracer.lake.read("eval_metrics", None, week)
        paths |= brier_plots(history, week_dir(tracer.settings, week), week, tracer.settings.eval_plotlyjs)
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
    df, paths = weekly_tables(context, tracer, "calibration_bins")
    for week in context.partition_keys:
        bins = df[df["week"] == week] if len(df) else df
        paths |= reliability_plots(bins, week_dir(tracer.settings, week), week, tracer.settings.eval_plotlyjs)
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
    by_week = evaluation.eval_metrics_all_time(tracer.lake, s, list(context.partition_keys))
    paths = {}
    for week, metrics in by_week.items():
        tracer.lake.write_partition("eval_metrics_all_time", week, metrics)
        paths = {"csv": write_csv(metrics, week_dir(s, week) / "eval_metrics_all_time.csv")}
    df = concat(list(by_week.values()))
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
    df, paths = weekly_tables(context, tracer, "eval_win_rates")
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
    trends = evaluation.hit_rate_trend(tracer.lake, tracer.settings, partition_days(context))
    for day, trend in trends.items():
        tracer.lake.write_partition("hit_rate_trend", day, trend)
    frames = list(trends.values())
    df = concat(frames)
    _, explanation, _ = self_check(frames[-1] if frames else df, tracer.settings)
    return table_result("hit_rate_trend", df, {d: len(t) for d, t in trends.items()}, last_night=explanation)


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
