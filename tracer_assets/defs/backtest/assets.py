"""Backtest domain: P&L of the signals after costs, beside buy-and-hold, a random-timing placebo and
the price-only chain, with a tear sheet per range under ``<lake>/artifacts/backtest/``."""

import dagster as dg
import pandas as pd

from tracer_assets.backtest.report import TRACER, BacktestReport
from tracer_assets.backtest.tearsheet import write_tearsheet
from tracer_assets.defs.common import DAILY_FRESHNESS, partition_days, table_result, window
from tracer_assets.defs.market.assets import bars, price_features
from tracer_assets.defs.partitions import CADENCE_TAG, daily_partitions, single_run
from tracer_assets.defs.resources import TracerResource
from tracer_assets.defs.sentiment.assets import narrative_pressure, narrative_scores
from tracer_assets.defs.signals.assets import signals
from tracer_assets.defs.skip import skip_unchanged
from tracer_assets.pipeline.backtest import backtest_report

DESCRIPTIONS = {
    "backtest_trades": "Trades of Tracer's signals (and of the buy-and-hold and price-only baselines): entry "
    "and exit time and price, size, fees, slippage, PnL; by decision day.",
    "backtest_equity": "Equity per bar: the portfolio and each symbol for Tracer, the portfolio for each "
    "baseline (the placebo as its median path); by bar day.",
    "backtest_summary": "Per range: return, volatility, Sharpe, Sortino, drawdown, Calmar, turnover, "
    "exposure, hit rate, win/loss, profit factor, costs, for Tracer and every baseline, and where Tracer's "
    "Sharpe falls in the placebo distribution; in the range's last day.",
}


_REPORTS: dict[tuple, BacktestReport] = {}


def report_for_run(context: dg.AssetExecutionContext, tracer: TracerResource) -> BacktestReport:
    """The range's backtest, computed once per run (the three assets of a run share it)."""
    start, end = window(context)
    key = (context.run_id, tracer.settings.lake.lake_root, start, end)
    if key not in _REPORTS:
        _REPORTS.clear()  # one run's report at a time: a later run reads the lake afresh
        _REPORTS[key] = backtest_report(tracer.lake, tracer.settings, start, end)
    return _REPORTS[key]


def _tracer_headline(summary: pd.DataFrame) -> dict:
    if summary.empty:
        return {}
    t = summary.set_index("strategy").loc[TRACER]
    keys = ("sharpe", "total_return", "placebo_sharpe_percentile")
    return {k: float(t[k]) for k in keys if pd.notna(t[k])}


ASSET_KWARGS = {
    "partitions_def": daily_partitions,
    "backfill_policy": single_run,
    "tags": {CADENCE_TAG: "daily"},
    "group_name": "backtest",
    "kinds": {"pandas", "parquet"},
    "deps": [signals, bars, price_features, narrative_scores, narrative_pressure],
    "freshness_policy": DAILY_FRESHNESS,
}


@dg.asset(**ASSET_KWARGS, description=DESCRIPTIONS["backtest_trades"])
@skip_unchanged
def backtest_trades(context: dg.AssetExecutionContext, tracer: TracerResource) -> dg.MaterializeResult:
    report = report_for_run(context, tracer)
    counts = tracer.lake.write_partitions(
        "backtest_trades", report.trades, partition_days(context), by="decision_ts"
    )
    return table_result("backtest_trades", report.trades, counts)


@dg.asset(**ASSET_KWARGS, description=DESCRIPTIONS["backtest_equity"])
@skip_unchanged
def backtest_equity(context: dg.AssetExecutionContext, tracer: TracerResource) -> dg.MaterializeResult:
    report = report_for_run(context, tracer)
    counts = tracer.lake.write_partitions("backtest_equity", report.equity, partition_days(context), by="ts")
    return table_result("backtest_equity", report.equity, counts)


@dg.asset(**ASSET_KWARGS, description=DESCRIPTIONS["backtest_summary"])
@skip_unchanged
def backtest_summary(context: dg.AssetExecutionContext, tracer: TracerResource) -> dg.MaterializeResult:
    start, end = window(context)
    report = report_for_run(context, tracer)
    days = partition_days(context)
    tracer.lake.write_partition("backtest_summary", days[-1], report.summary)
    settings = tracer.settings
    sheet = write_tearsheet(report, tracer.lake, start, end, settings.backtest.backtest_plotlyjs)
    return table_result(
        "backtest_summary",
        report.summary,
        {days[-1]: len(report.summary)},
        tearsheet=dg.MetadataValue.path(str(sheet)),  # an absolute path, or an s3:// URL
        **_tracer_headline(report.summary),
    )
