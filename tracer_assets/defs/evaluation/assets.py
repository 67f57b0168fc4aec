"""Evaluation domain: resolved predictions as observations, weekly and all-time scores per cohort,
calibration bins and plots beside the weekly snapshot.

Weekly tables are pure functions of the lake's observations (and the settings): re-materializing a
week rewrites the same numbers. Files for week W go to ``<lake>/artifacts/evaluation/week=W/``.
"""

from collections.abc import Callable

import dagster as dg
import pandas as pd

from tracer_assets.defs.common import (
    WEEKLY_FRESHNESS,
    table_result,
)
from tracer_assets.defs.evaluation.observations import eval_observations
from tracer_assets.defs.partitions import WEEKLY
from tracer_assets.defs.resources import TracerResource
from tracer_assets.defs.skip import skip_unchanged
from tracer_assets.evaluation.artifacts import (
    brier_plots,
    headline_md,
    market_vs_internal,
    reliability_plots,
    week_dir,
    write_csv,
)
from tracer_assets.evaluation.brier_history import PLOT_COLUMNS, BrierHistory
from tracer_assets.evaluation.metrics import parse_week
from tracer_assets.lake import LakePath
from tracer_assets.pipeline import evaluation
from tracer_assets.pipeline.window import concat

# what every weekly evaluation asset shares: the weekly partitions, the group, its one input
WEEKLY_EVALUATION = {
    **WEEKLY,
    "group_name": "evaluation",
    "deps": [eval_observations],
    "freshness_policy": WEEKLY_FRESHNESS,
}


def weekly_evaluation_asset(
    *, kinds: set[str], description: str
) -> Callable[[Callable[..., dg.MaterializeResult]], dg.AssetsDefinition]:
    """``@dg.asset`` with ``WEEKLY_EVALUATION``, skipped when unchanged (``skip_unchanged``)."""

    def decorate(fn: Callable[..., dg.MaterializeResult]) -> dg.AssetsDefinition:
        return dg.asset(**WEEKLY_EVALUATION, kinds=kinds, description=description)(skip_unchanged(fn))

    return decorate


def path_metadata(paths: dict[str, LakePath]) -> dict[str, dg.MetadataValue]:
    """Each file's absolute path (local lake) or s3:// URL."""
    return {name: dg.MetadataValue.path(str(path)) for name, path in paths.items()}


def weekly_tables(
    context, tracer: TracerResource, table: str, plots: Callable[..., dict] | None = None
) -> tuple[pd.DataFrame, dict]:
    """Compute ``table`` for each week of the run, write its partition and its CSV (and the files
    ``plots(rows, folder, week, plotlyjs)`` draws) beside the snapshot; returns the weeks' rows and
    the last week's files."""
    frames, paths = [], {}
    for week in context.partition_keys:
        rows = evaluation.WEEKLY_TABLES[table](tracer.lake, tracer.settings, week)
        tracer.lake.write_partition(table, week, rows)
        folder = week_dir(tracer.lake, week)
        paths = {"csv": write_csv(rows, folder / f"{table}.csv")}
        if plots is not None:
            paths |= plots(rows, folder, week, tracer.settings.evaluation.eval_plotlyjs)
        frames.append(rows)
    return concat(frames), paths


@weekly_evaluation_asset(
    kinds={"pandas", "parquet", "plotly"},
    description="Weekly n, Brier, log-loss, hit rate, Murphy decomposition, bootstrap intervals and the skill of "
    "our probability vs the market's (bss_vs_market) per kind, predictor and cohort; Brier-over-time plots.",
)
def eval_metrics(context: dg.AssetExecutionContext, tracer: TracerResource) -> dg.MaterializeResult:
    weeks = list(context.partition_keys)
    # each week's Brier history up to it (its rows included), carried through the range: the weeks
    # before it read once (the plotted columns), then each week's own partition as it is written
    before = parse_week(weeks[0]) - pd.Timedelta(days=1)
    history = BrierHistory()
    history.add(tracer.lake.read("eval_metrics", None, before.strftime("%Y-%m-%d"), columns=PLOT_COLUMNS))

    def history_plots(rows, folder, week, plotlyjs):
        history.add(tracer.lake.read("eval_metrics", week, week, columns=PLOT_COLUMNS))
        return brier_plots(history, folder, week, plotlyjs)

    df, paths = weekly_tables(context, tracer, "eval_metrics", plots=history_plots)
    return table_result(
        "eval_metrics",
        df,
        {w: int((df["week"] == w).sum()) if len(df) else 0 for w in context.partition_keys},
        headline=dg.MetadataValue.md(headline_md(df)),
        market_vs_internal=market_vs_internal(df),
        **path_metadata(paths),
    )


@weekly_evaluation_asset(
    kinds={"pandas", "parquet", "plotly"},
    description="Reliability bins (uniform and quantile) per kind and predictor for the week, as a lake table, "
    "a CSV and reliability diagrams beside the weekly snapshot.",
)
def calibration_bins(context: dg.AssetExecutionContext, tracer: TracerResource) -> dg.MaterializeResult:
    df, paths = weekly_tables(context, tracer, "calibration_bins", plots=reliability_plots)
    return table_result("calibration_bins", df, **path_metadata(paths))


@weekly_evaluation_asset(
    kinds={"pandas", "parquet"},
    description="Rolling all-time metrics as of each week's end (every observation known by then), "
    "same columns as eval_metrics with week = 'all-time' and through_week = the partition.",
)
def eval_metrics_all_time(context: dg.AssetExecutionContext, tracer: TracerResource) -> dg.MaterializeResult:
    s = tracer.settings
    by_week = evaluation.eval_metrics_all_time(tracer.lake, s, list(context.partition_keys))
    paths = {}
    with tracer.lake.batch():
        for week, metrics in by_week.items():
            tracer.lake.write_partition("eval_metrics_all_time", week, metrics)
            paths = {"csv": write_csv(metrics, week_dir(tracer.lake, week) / "eval_metrics_all_time.csv")}
    df = concat(list(by_week.values()))
    labelled = df.assign(week=df["through_week"]) if len(df) else df
    return table_result(
        "eval_metrics_all_time",
        df,
        headline=dg.MetadataValue.md(headline_md(labelled)),
        market_vs_internal=market_vs_internal(labelled),
        **path_metadata(paths),
    )


@weekly_evaluation_asset(
    kinds={"pandas", "parquet"},
    description="Weekly win rate per cohort (asset class, direction, strength bucket, source model, lead time) "
    "with Wilson intervals, hit rate and mean predicted probability.",
)
def eval_win_rates(context: dg.AssetExecutionContext, tracer: TracerResource) -> dg.MaterializeResult:
    df, paths = weekly_tables(context, tracer, "eval_win_rates")
    return table_result("eval_win_rates", df, **path_metadata(paths))
