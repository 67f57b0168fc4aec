"""Evaluation end to end on the sim world: markets priced by us beside the market, observations
frozen at each lead, weekly metrics, calibration bins and reliability plots for signals and markets,
the market's Brier beside ours, the resolution job, and reproducible weekly numbers."""

from __future__ import annotations

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from tracer_assets.demo import range_tags
from tracer_assets.evaluation.lead_time import lead_hours_list
from tracer_assets.lake import Lake
from tracer_assets.settings import TracerSettings
from tracer_assets_tests.conftest import isolated_session
from tracer_assets_tests.pipeline_util import run_range

FIRST, LAST = "2024-03-04", "2024-03-15"
WEEKS = ["2024-03-04", "2024-03-11"]
WEEKLY_TABLES = ("eval_metrics", "calibration_bins", "eval_metrics_all_time", "eval_win_rates")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("eval_pipeline")
    with isolated_session(tmp, TRACER_EVAL_BOOTSTRAP_RESAMPLES="200"):
        instance = dg.DagsterInstance.ephemeral()
        results = run_range(FIRST, LAST, instance=instance)
        lake = Lake(tmp / "lake")
        yield {"lake": lake, "results": results, "instance": instance, "settings": TracerSettings()}


def test_markets_carry_our_probability_beside_the_market_price(run):
    markets = run["lake"].read("polymarket_markets")
    open_ = markets[~markets["closed"]]
    assert len(open_) > 100
    # every open sim question has a strike and fresh features: all priced, gap = ours - market
    assert open_["internal_prob"].between(0, 1).all()
    np.testing.assert_allclose(open_["gap"], open_["internal_prob"] - open_["yes_price"])
    assert (open_["underlying_ts"] <= open_["available_ts"]).all()  # point-in-time
    assert markets["closed"].any() and markets.loc[markets["closed"], "internal_prob"].isna().all()
    assert set(markets["gate_status"]) >= {"passed", "rejected", "closed: not gated"}
    rejected = markets[markets["gate_status"] == "rejected"]
    assert (rejected["gate_reason"] != "").all()
    assert set(markets["outcome_type"]) == {"binary"} and not markets["neg_risk"].any()


def test_observations_freeze_both_predictors_at_every_lead_before_the_resolution_day(run):
    obs = run["lake"].read("eval_observations")
    market = obs[obs["kind"] == "market"]
    assert set(market["lead_hours"]) == set(lead_hours_list(run["settings"].evaluation))
    pairs = {
        p: set(zip(g["question_id"], g["lead_hours"], strict=True)) for p, g in market.groupby("predictor")
    }
    assert pairs["market"] == pairs["internal"] and len(pairs["market"]) > 50
    resolution_day = (market["resolved_ts"] - pd.Timedelta(microseconds=1)).dt.floor("D")
    assert (market["decision_ts"] <= resolution_day).all()
    assert (
        market["decision_ts"] <= market["resolved_ts"] - pd.to_timedelta(market["lead_hours"], unit="h")
    ).all()
    # the frozen price is the market's own price in that snapshot
    snaps = run["lake"].read("polymarket_markets").set_index(["market_id", "available_ts"])
    m = market[market["predictor"] == "market"]
    frozen = snaps.loc[list(zip(m["question_id"], m["decision_ts"], strict=True)), "yes_price"].to_numpy()
    np.testing.assert_allclose(m["predicted_prob"], frozen)
    assert (
        obs.loc[obs["kind"] == "signal", "lead_hours"] == run["settings"].signals.signal_horizon_hours
    ).all()


def test_weekly_metrics_bins_and_plots_exist_for_signals_and_markets(run):
    lake = run["lake"]
    metrics = lake.read("eval_metrics")
    headline = metrics[metrics["cohort_dim"] == "all"]
    assert set(headline["kind"]) == {"signal", "market"}
    bins = lake.read("calibration_bins")
    assert set(bins["kind"]) == {"signal", "market"} and set(bins["strategy"]) == {"uniform", "quantile"}
    for week in WEEKS:
        folder = lake.root / "artifacts" / "evaluation" / f"week={week}"
        for name in ("reliability_signal.html", "reliability_market.html", "brier_over_time_all.html"):
            assert (folder / name).stat().st_size > 0, f"{week}/{name}"
        assert {p.name for p in folder.glob("*.csv")} == {f"{t}.csv" for t in WEEKLY_TABLES}
    assert len(lake.read("eval_win_rates")) > 0 and len(lake.read("hit_rate_trend")) > 0


def test_the_market_brier_is_reported_beside_ours(run):
    metrics = run["lake"].read("eval_metrics")
    rows = metrics[(metrics["kind"] == "market") & (metrics["cohort_dim"] == "all")]
    for week, g in rows.groupby("week"):
        by = g.set_index("predictor")
        market, internal = by.loc["market"], by.loc["internal"]
        assert market["n"] == internal["n"] == internal["n_paired"] > 0
        assert np.isfinite(internal["bss_vs_market"])
        assert internal["bss_vs_market"] == pytest.approx(1 - internal["brier"] / market["brier"])
        print(
            f"week {week}: market Brier {market['brier']:.4f} vs internal {internal['brier']:.4f} "
            f"(n={int(internal['n'])}, BSS {internal['bss_vs_market']:+.3f})"
        )
    events = [
        e
        for e in run["results"][1].get_asset_materialization_events()
        if e.asset_key.path[-1] == "eval_metrics"
    ]
    assert len(events) == len(WEEKS)  # one materialization per week of the range
    assert "market Brier" in events[-1].materialization.metadata["market_vs_internal"].value
    all_time = run["lake"].read("eval_metrics_all_time", WEEKS[-1], WEEKS[-1])
    everything = all_time[(all_time["kind"] == "market") & (all_time["cohort_dim"] == "all")]
    assert (
        everything.set_index("predictor").loc["internal", "n"]
        == rows.loc[rows["predictor"] == "internal", "n"].sum()
    )


def test_the_self_check_judges_the_newest_night(run):
    from tracer_assets.defs.evaluation.self_check import hit_rate_self_check, hit_rate_trend
    from tracer_assets.defs.resources import TracerResource

    result = dg.materialize(
        [hit_rate_trend, hit_rate_self_check],
        selection=dg.AssetSelection.checks(hit_rate_self_check),
        instance=run["instance"],
        resources={"tracer": TracerResource()},
    )
    (check,) = result.get_asset_check_evaluations()
    assert check.metadata["night"].value == LAST
    assert check.metadata["explanation"].value  # a sentence, whatever the verdict on 12 days


def test_the_resolution_job_and_weekly_reruns_change_nothing(run):
    from tracer_assets.definitions import ALL_ASSETS, build_definitions

    lake = run["lake"]
    before = {t: lake.read(t) for t in ("polymarket_markets", "eval_observations", *WEEKLY_TABLES)}
    defs = build_definitions()
    job = defs.resolve_job_def("resolution_eval_job")
    day = "2024-03-12"
    assert job.execute_in_process(partition_key=day, instance=run["instance"]).success
    weekly = [a for a in ALL_ASSETS if a.key.path[-1] in WEEKLY_TABLES]
    result = dg.materialize(
        weekly,
        instance=run["instance"],
        resources={"tracer": defs.resources["tracer"]},
        tags=range_tags(*WEEKS),
    )
    assert result.success
    for table, frame in before.items():
        pd.testing.assert_frame_equal(lake.read(table), frame, obj=table)
