"""Evaluation domain: one row per resolved prediction, by the day it became known."""

import dagster as dg
import pandas as pd

from tracer_assets.defs.common import partition_days, preview, table_result, window
from tracer_assets.defs.market.assets import bars
from tracer_assets.defs.partitions import DAILY
from tracer_assets.defs.polymarket.assets import polymarket_markets
from tracer_assets.defs.resources import TracerResource
from tracer_assets.defs.signals.assets import signals
from tracer_assets.defs.skip import skip_unchanged
from tracer_assets.pipeline import evaluation


@dg.asset(
    **DAILY,
    group_name="evaluation",
    kinds={"pandas", "parquet"},
    deps=[signals, bars, polymarket_markets],
    description="One row per resolved prediction, by the day it became known: signals at their horizon, and "
    "market questions priced by the market and by our internal_prob, frozen at each lead time (eval_lead_hours).",
)
@skip_unchanged
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
        lead_hours=tracer.settings.evaluation.eval_lead_hours,
        markets_resolved=stats["resolved"],
        markets_void=stats["void"],
        markets_scored=stats["scored_questions"],
        market_leads_without_price=stats["not_frozen"],
        by_kind=preview(by_group, rows=20),
    )
