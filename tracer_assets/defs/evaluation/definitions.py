"""Evaluation domain definitions: observations, weekly scores, the nightly self-check, and the
resolution sensor with its job."""

import dagster as dg

from tracer_assets.defs.evaluation.assets import (
    calibration_bins,
    eval_metrics,
    eval_metrics_all_time,
    eval_win_rates,
)
from tracer_assets.defs.evaluation.observations import eval_observations
from tracer_assets.defs.evaluation.resolutions import market_resolution_sensor, resolution_eval_job
from tracer_assets.defs.evaluation.self_check import hit_rate_self_check, hit_rate_trend

defs = dg.Definitions(
    assets=[
        eval_observations,
        eval_metrics,
        calibration_bins,
        eval_metrics_all_time,
        eval_win_rates,
        hit_rate_trend,
    ],
    asset_checks=[hit_rate_self_check],
    jobs=[resolution_eval_job],
    sensors=[market_resolution_sensor],
)
