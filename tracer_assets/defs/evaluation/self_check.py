"""Evaluation domain: the nightly hit-rate trend and the asset check that judges its newest night."""

import dagster as dg

from tracer_assets.defs.common import DAILY_FRESHNESS, partition_days, table_result
from tracer_assets.defs.evaluation.observations import eval_observations
from tracer_assets.defs.partitions import DAILY
from tracer_assets.defs.resources import TracerResource
from tracer_assets.defs.skip import skip_unchanged
from tracer_assets.evaluation.self_check import self_check
from tracer_assets.pipeline import evaluation
from tracer_assets.pipeline.window import concat


@dg.asset(
    **DAILY,
    group_name="evaluation",
    kinds={"pandas", "parquet"},
    deps=[eval_observations],
    freshness_policy=DAILY_FRESHNESS,
    description="Nightly hit-rate trend per kind and predictor: the last eval_selfcheck_window_days against the "
    "eval_selfcheck_baseline_days before them; the hit_rate_self_check judges the newest night.",
)
@skip_unchanged
def hit_rate_trend(context: dg.AssetExecutionContext, tracer: TracerResource) -> dg.MaterializeResult:
    trends = evaluation.hit_rate_trend(tracer.lake, tracer.settings, partition_days(context))
    with tracer.lake.batch():
        for day, trend in trends.items():
            tracer.lake.write_partition("hit_rate_trend", day, trend)
    frames = list(trends.values())
    df = concat(frames)
    _, explanation, _ = self_check(frames[-1] if frames else df, tracer.settings.evaluation)
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
        tracer.lake.read("hit_rate_trend", latest, latest), tracer.settings.evaluation
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
