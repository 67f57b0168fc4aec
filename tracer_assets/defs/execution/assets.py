"""Execution domain: the paper (or broker) ledger after signals.

``orders`` runs the risk engine and the broker once for the partition range and writes the whole
ledger (the five tables come from one pass and must agree); ``fills``, ``positions``, ``portfolio``
and ``risk_events`` follow it and report what that pass wrote.
"""

import dagster as dg
import pandas as pd

from tracer_assets.defs.common import DAILY_FRESHNESS, DAY, table_result, window
from tracer_assets.defs.partitions import DAILY
from tracer_assets.defs.resources import TracerResource
from tracer_assets.defs.signals.assets import signals
from tracer_assets.defs.skip import skip_unchanged
from tracer_assets.execution.service import execute
from tracer_assets.ops.pause import pause_state

LEDGER_ASSET = {
    "group_name": "execution",
    "kinds": {"pandas", "parquet"},
    "freshness_policy": DAILY_FRESHNESS,
}


@dg.asset(
    **DAILY,
    **LEDGER_ASSET,
    deps=[signals, "bars"],
    description="Orders by submission day (entries, exits, drift trims; blocked ones with status 'blocked'). "
    "Runs the risk engine and the broker (TRACER_TRADING_MODE) and writes the whole ledger.",
)
@skip_unchanged
def orders(context: dg.AssetExecutionContext, tracer: TracerResource) -> dg.MaterializeResult:
    start, end = window(context)
    classes = {i.symbol: i.asset_class for i in tracer.universe.instruments}
    now = pd.Timestamp.now(tz="UTC")
    counts = execute(tracer.lake, tracer.settings, classes, start, end, list(context.partition_keys), now)
    rows = tracer.lake.read("orders", start, end - DAY)
    paused = pause_state(tracer.lake)
    why = f"paused by {paused.who} at {paused.when}: {paused.why}" if paused else "not paused"
    return table_result(
        "orders", rows, trading_mode=tracer.settings.execution.trading_mode, trading_paused=why, **counts
    )


def _report(table: str, description: str):
    @dg.asset(name=table, **DAILY, **LEDGER_ASSET, deps=[orders], description=description)
    @skip_unchanged
    def _asset(context: dg.AssetExecutionContext, tracer: TracerResource) -> dg.MaterializeResult:
        start, end = window(context)
        return table_result(table, tracer.lake.read(table, start, end - DAY))

    return _asset


fills = _report(
    "fills", "Fills (paper: next bar's open with the shared cost model; broker: as it reports them)."
)
positions = _report("positions", "Holdings marked at each bar close (paper) or as the broker reports them.")
portfolio = _report(
    "portfolio", "Equity, cash, gross and net exposure, daily PnL, drawdown and the kill switch over time."
)
risk_events = _report(
    "risk_events", "Every blocked, reduced or halted decision of the risk engine, with why."
)
