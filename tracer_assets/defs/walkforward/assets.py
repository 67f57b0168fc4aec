"""Walk-forward assets: a backfill over the fold partitions runs the walk-forward (one fold re-runs
alone), the winners become governed parameters, and a monthly report documents them."""

import dagster as dg
import pandas as pd

from tracer_assets.defs.common import table_result
from tracer_assets.defs.resources import TracerResource
from tracer_assets.defs.walkforward.partitions import MONTHLY, months_of
from tracer_assets.research.governance import adoption_rows
from tracer_assets.research.walkforward import SUMMARY_COLUMNS, WalkForwardResult, run_months

_RESULTS: dict[tuple, WalkForwardResult] = {}


def result_for_run(context: dg.AssetExecutionContext, tracer: TracerResource) -> WalkForwardResult:
    """The run's walk-forward over its fold partitions, computed once (both tables read it)."""
    months = months_of(context)
    key = (context.run_id, tracer.settings.lake.lake_root, tuple(months))
    if key not in _RESULTS:
        _RESULTS.clear()
        try:
            _RESULTS[key] = run_months(
                tracer.lake, tracer.settings, tracer.universe.symbols, months, run_id=context.run_id
            )
        except ValueError as exc:  # no bars, or a fold with no in-sample data
            raise dg.Failure(description=f"walk-forward {months[0]}..{months[-1]}: {exc}") from None
    return _RESULTS[key]


@dg.asset(
    **MONTHLY,
    kinds={"pandas", "parquet"},
    deps=["bars", "price_features", "narrative_scores"],
    description="One row per fold (monthly out-of-sample window): the grid point chosen in sample (purged, "
    "embargoed), its in-sample objective and deflated Sharpe probability (below walkforward_adopt_min_dsr the "
    "fold stands aside), its out-of-sample objective, configurations tried, out-of-sample trades.",
)
def walk_forward_folds(context: dg.AssetExecutionContext, tracer: TracerResource) -> dg.MaterializeResult:
    result = result_for_run(context, tracer)
    folds = result.folds
    counts = {}
    for row in folds.itertuples(index=False):
        day = f"{row.oos_start:%Y-%m-%d}"
        tracer.lake.write_partition("walk_forward_folds", day, folds[folds["fold_id"] == row.fold_id])
        counts[day] = 1
    gap = (folds["is_objective"] - folds["oos_objective"]).round(3)
    degradation = [None if pd.isna(x) else float(x) for x in gap]
    return table_result("walk_forward_folds", folds, counts, is_minus_oos_sharpe=degradation)


# what the tables chosen from the folds share: the monthly partitions, their kinds, their one input
FROM_FOLDS = {**MONTHLY, "kinds": {"pandas", "parquet"}, "deps": [walk_forward_folds]}


@dg.asset(
    **FROM_FOLDS,
    description="The run's out-of-sample folds stitched into one book: Sharpe with a block-bootstrap interval, "
    "Deflated Sharpe probability, PBO (CSCV over every configuration), hit rate, trades, configurations.",
)
def walk_forward_summary(context: dg.AssetExecutionContext, tracer: TracerResource) -> dg.MaterializeResult:
    result = result_for_run(context, tracer)
    summary = pd.DataFrame([result.summary], columns=SUMMARY_COLUMNS)
    day = f"{result.summary['oos_start']:%Y-%m-%d}"
    tracer.lake.write_partition(
        "walk_forward_summary", day, summary, part="to_" + months_of(context)[-1].replace("-", "_")
    )
    headline = {
        k: float(result.summary[k])
        for k in ("oos_sharpe", "deflated_sharpe_prob", "pbo")
        if pd.notna(result.summary[k])
    }
    return table_result("walk_forward_summary", summary, {day: 1}, **headline)


@dg.asset(
    **FROM_FOLDS,
    description="Versioned thresholds: each fold's in-sample winner adopted from its out-of-sample start (a "
    "stand-aside version when it fails the in-sample DSR hurdle: no signals while in force), plus rollbacks "
    "(tracer params rollback); signals and narrative_pressure use the version in force.",
)
def governed_params(context: dg.AssetExecutionContext, tracer: TracerResource) -> dg.MaterializeResult:
    lake = tracer.lake
    folds = lake.read("walk_forward_folds", f"{months_of(context)[0]}-01", f"{months_of(context)[-1]}-01")
    rows = adoption_rows(folds, context.run_id)
    for day, frame in rows.items():
        lake.write_partition("governed_params", day, frame, part="adopt")
    adopted = pd.concat([f for f in rows.values() if len(f)] or [pd.DataFrame()], ignore_index=True)
    versions = adopted["version"].tolist() if len(adopted) else []
    return table_result("governed_params", adopted, {d: len(f) for d, f in rows.items()}, versions=versions)
