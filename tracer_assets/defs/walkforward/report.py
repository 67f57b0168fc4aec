"""The monthly governance report asset: thresholds in force with their walk-forward evidence, cohorts,
drift since last month and version tags, as an HTML page attached to the materialization."""

import dagster as dg
import pandas as pd

from tracer_assets.defs.common import table_result
from tracer_assets.defs.resources import TracerResource
from tracer_assets.defs.walkforward.assets import governed_params, walk_forward_folds, walk_forward_summary
from tracer_assets.defs.walkforward.partitions import MONTHLY, months_of
from tracer_assets.research.governance_report import build_report, report_inputs, report_row, write_report


@dg.asset(
    **MONTHLY,
    kinds={"html", "parquet"},
    deps=[walk_forward_folds, walk_forward_summary, governed_params, "eval_observations", "price_features"],
    description="Monthly governance: thresholds in force with their out-of-sample evidence, cohort tables, "
    "drift since last month (hit rate, calibration, features) and version tags; HTML with plots.",
)
def governance_report(context: dg.AssetExecutionContext, tracer: TracerResource) -> dg.MaterializeResult:
    rows, pages = [], {}
    for month in months_of(context):
        report = build_report(tracer.settings, report_inputs(tracer.lake, month))
        path = write_report(report, tracer.lake)
        row = report_row(report, path)
        tracer.lake.write_partition("governance_report", f"{month}-01", row)
        rows.append(row)
        pages[month] = report
    last = pages[months_of(context)[-1]]
    out = pd.concat(rows, ignore_index=True)
    return table_result(
        "governance_report",
        out,
        {f"{m}-01": 1 for m in pages},
        report=dg.MetadataValue.path(str(out["report_path"].iloc[-1])),
        in_force=dg.MetadataValue.json(last.in_force),
        cohorts=dg.MetadataValue.md(last.cohorts.to_markdown(index=False, floatfmt=".3f") or "_none_"),
        drift=dg.MetadataValue.md(last.drift.to_markdown(index=False, floatfmt=".3f")),
        version_tags=dg.MetadataValue.json(last.tags),
    )
