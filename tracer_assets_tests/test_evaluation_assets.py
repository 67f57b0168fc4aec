"""The evaluation assets on hand-built observations: weekly tables, CSVs and plots beside the
snapshot, reproducible re-materialization, and the nightly self-check as a Dagster asset check."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import brier_score_loss

from tracer_assets.defs.evaluation.assets import (
    calibration_bins,
    eval_metrics,
    eval_metrics_all_time,
    eval_win_rates,
)
from tracer_assets.defs.evaluation.self_check import hit_rate_self_check, hit_rate_trend
from tracer_assets.defs.resources import TracerResource
from tracer_assets.evaluation.observations import combine_observations
from tracer_assets.lake import Lake

WEEK = "2024-03-04"
MONDAY = pd.Timestamp(WEEK, tz="UTC")
WEEKLY_ASSETS = [eval_metrics, calibration_bins, eval_metrics_all_time, eval_win_rates]


@pytest.fixture
def env(tracer_env, monkeypatch):
    monkeypatch.setenv("TRACER_EVAL_BOOTSTRAP_RESAMPLES", "200")
    return Lake(tracer_env / "lake")


def observations(seed: int = 3, n_questions: int = 80, n_signals: int = 50, start=MONDAY) -> pd.DataFrame:
    """Questions priced by the market and by us (same ids, two leads) plus signals, over one week."""
    rng = np.random.default_rng(seed)
    truth = rng.uniform(0.05, 0.95, n_questions)
    outcome = (rng.uniform(size=n_questions) < truth).astype(int)
    resolved = start + pd.to_timedelta(rng.integers(1, 7 * 24, n_questions), unit="h")
    frames = []
    for lead in (24, 168):
        for predictor, noise in (("market", 0.05), ("internal", 0.15)):
            frames.append(
                pd.DataFrame(
                    {
                        "kind": "market",
                        "observation_id": [f"{predictor}{lead}-{i}" for i in range(n_questions)],
                        "cohort": f"crypto:lead{lead}h",
                        "predictor": predictor,
                        "question_id": [f"q{i}" for i in range(n_questions)],
                        "symbol": "BTC/USD",
                        "asset_class": "crypto",
                        "direction": "yes",
                        "source_model": predictor,
                        "lead_hours": lead,
                        "resolved_ts": resolved,
                        "predicted_prob": np.clip(truth + rng.normal(0, noise, n_questions), 0.01, 0.99),
                        "outcome": outcome,
                    }
                )
            )
    frames.append(
        pd.DataFrame(
            {
                "kind": "signal",
                "observation_id": [f"s{i}" for i in range(n_signals)],
                "cohort": "crypto:long",
                "predictor": "internal",
                "question_id": [f"s{i}" for i in range(n_signals)],
                "symbol": "ETH/USD",
                "asset_class": "crypto",
                "direction": rng.choice(["long", "short"], n_signals),
                "strength": rng.uniform(0, 3, n_signals),
                "source_model": "lexicon",
                "lead_hours": 24,
                "resolved_ts": start + pd.to_timedelta(rng.integers(1, 7 * 24, n_signals), unit="h"),
                "predicted_prob": rng.uniform(0.5, 0.75, n_signals),
                "outcome": rng.integers(0, 2, n_signals),
            }
        )
    )
    obs = pd.concat(frames, ignore_index=True)
    obs["decision_ts"] = obs["resolved_ts"] - pd.to_timedelta(obs["lead_hours"], unit="h")
    obs["event_ts"] = obs["resolved_ts"]
    obs["available_ts"] = obs["resolved_ts"] + pd.Timedelta(hours=1)
    return combine_observations(obs)


def store(lake: Lake, obs: pd.DataFrame) -> None:
    days = sorted(set(obs["available_ts"].dt.strftime("%Y-%m-%d")))
    lake.write_partitions("eval_observations", obs, days, by="available_ts")


def materialize_week(assets=WEEKLY_ASSETS, week: str = WEEK) -> dg.ExecuteInProcessResult:
    result = dg.materialize(assets, partition_key=week, resources={"tracer": TracerResource()})
    assert result.success
    return result


def metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    (event,) = [e for e in result.get_asset_materialization_events() if e.asset_key.path[-1] == asset]
    return event.materialization.metadata


def test_weekly_assets_write_tables_csvs_and_offline_plots(env):
    obs = observations()
    store(env, obs)
    result = materialize_week()
    folder = env.root / "artifacts" / "evaluation" / f"week={WEEK}"
    for table in ("eval_metrics", "calibration_bins", "eval_metrics_all_time", "eval_win_rates"):
        lake_rows = env.read(table, WEEK, WEEK)
        assert len(lake_rows) > 0, table
        csv = pd.read_csv(folder / f"{table}.csv")
        assert len(csv) == len(lake_rows) and list(csv.columns) == list(lake_rows.columns), table
    for kind in ("signal", "market"):
        for suffix in ("", "_quantile"):
            html = (folder / f"reliability_{kind}{suffix}.html").read_text()
            assert "cdn.plot.ly" not in html and 'src="../plotly.min.js"' in html
    # one shared copy of plotly's JavaScript for every week, none in the week's folder
    assert (folder.parent / "plotly.min.js").stat().st_size > 1_000_000
    assert not (folder / "plotly.min.js").exists()
    assert (folder / "brier_over_time_all.html").exists() and (
        folder / "brier_over_time_lead_hours.html"
    ).exists()

    meta = metadata(result, "calibration_bins")
    assert Path(meta["reliability_market"].value) == (folder / "reliability_market.html").resolve()
    meta = metadata(result, "eval_metrics")
    assert (
        "market Brier" in meta["market_vs_internal"].value
        and "| market | internal |" in meta["headline"].value
    )


def test_market_brier_is_reported_beside_ours_on_the_same_questions(env):
    obs = observations()
    store(env, obs)
    materialize_week([eval_metrics])
    metrics = env.read("eval_metrics", WEEK, WEEK)
    both = metrics[(metrics["kind"] == "market") & (metrics["cohort_dim"] == "all")].set_index("predictor")
    market = obs[(obs["kind"] == "market") & (obs["predictor"] == "market")]
    internal = obs[(obs["kind"] == "market") & (obs["predictor"] == "internal")]
    bs_market = brier_score_loss(market["outcome"], market["predicted_prob"])
    bs_internal = brier_score_loss(internal["outcome"], internal["predicted_prob"])
    assert both.loc["market", "brier"] == pytest.approx(bs_market)
    assert both.loc["internal", "brier"] == pytest.approx(bs_internal)
    assert both.loc["internal", "n_paired"] == len(internal)
    assert both.loc["internal", "bss_vs_market"] == pytest.approx(1 - bs_internal / bs_market)


def test_rematerializing_a_week_gives_identical_numbers(env):
    obs = observations()
    store(env, obs)
    materialize_week()
    first = {t: env.read(t, WEEK, WEEK) for t in ("eval_metrics", "calibration_bins", "eval_win_rates")}
    first["eval_metrics_all_time"] = env.read("eval_metrics_all_time", WEEK, WEEK)
    # the same observations stored in another row order, and a re-run: the same numbers
    store(env, obs.sample(frac=1.0, random_state=7))
    materialize_week()
    for table, before in first.items():
        pd.testing.assert_frame_equal(env.read(table, WEEK, WEEK), before, obj=table)
    assert first["eval_metrics"]["brier_lo"].notna().any()  # intervals, not just points, are identical


def test_a_late_observation_of_the_week_is_read_within_the_slack(env):
    obs = observations()
    late = obs[obs["kind"] == "signal"].head(1).copy()
    late["observation_id"] = "late"
    late["resolved_ts"] = late["event_ts"] = MONDAY + pd.Timedelta(days=6, hours=23)
    late["available_ts"] = MONDAY + pd.Timedelta(days=8)  # known on Tuesday of the next week
    store(env, pd.concat([obs, late], ignore_index=True))
    materialize_week([eval_metrics])
    metrics = env.read("eval_metrics", WEEK, WEEK)
    signal_all = metrics[(metrics["kind"] == "signal") & (metrics["cohort_dim"] == "all")]
    assert signal_all["n"].item() == (obs["kind"] == "signal").sum() + 1


# ---- the nightly self-check ---------------------------------------------------------------------------

NIGHT = "2024-04-01"


def signals_with_hit_rates(recent_rate: float, baseline_rate: float) -> pd.DataFrame:
    """Signals resolved over the 5 weeks before NIGHT's end: the last 7 days hit ``recent_rate``."""
    end = pd.Timestamp(NIGHT, tz="UTC") + pd.Timedelta(days=1)
    rows = []
    for start_day, days, rate, n in ((7, 7, recent_rate, 40), (35, 28, baseline_rate, 120)):
        offsets = np.linspace(0.05, days - 0.05, n)
        hits = np.arange(n) < round(rate * n)
        for i, (offset, hit) in enumerate(zip(offsets, hits, strict=True)):
            resolved = end - pd.Timedelta(days=start_day) + pd.Timedelta(days=float(offset))
            rows.append(
                {
                    "kind": "signal",
                    "observation_id": f"o{start_day}-{i}",
                    "predictor": "internal",
                    "question_id": f"o{start_day}-{i}",
                    "lead_hours": 24,
                    "resolved_ts": resolved.floor("h"),
                    "predicted_prob": 0.65,
                    "outcome": int(hit),
                }
            )
    obs = pd.DataFrame(rows)
    obs["decision_ts"] = obs["resolved_ts"] - pd.Timedelta(hours=24)
    obs["event_ts"] = obs["available_ts"] = obs["resolved_ts"]
    return combine_observations(obs)


def run_night(lake: Lake, obs: pd.DataFrame) -> dg.ExecuteInProcessResult:
    store(lake, obs)
    result = dg.materialize(
        [hit_rate_trend, hit_rate_self_check], partition_key=NIGHT, resources={"tracer": TracerResource()}
    )
    assert result.success  # a failed self-check is a check result, never a crashed run
    return result


def test_a_drop_beyond_the_threshold_fails_the_check_with_a_plain_explanation(env, monkeypatch):
    monkeypatch.setenv("TRACER_EVAL_SELFCHECK_MAX_DROP", "0.10")
    result = run_night(env, signals_with_hit_rates(recent_rate=0.40, baseline_rate=0.70))
    (check,) = result.get_asset_check_evaluations()
    assert check.passed is False
    text = check.metadata["explanation"].value
    assert text.startswith("Self-check failed.")
    assert "fell to 40%" in text and "from 70%" in text and "limit is 10 points" in text
    assert check.description == text
    trend = env.read("hit_rate_trend", NIGHT, NIGHT)
    assert trend["window_n"].item() == 40 and trend["baseline_n"].item() == 120
    assert trend["drop"].item() == pytest.approx(0.30)
    assert metadata(result, "hit_rate_trend")["last_night"].value == text


def test_a_steady_hit_rate_passes_and_the_trend_appends_night_by_night(env):
    result = run_night(env, signals_with_hit_rates(recent_rate=0.65, baseline_rate=0.70))
    (check,) = result.get_asset_check_evaluations()
    assert check.passed is True and "held up" in check.metadata["explanation"].value
    dg.materialize([hit_rate_trend], partition_key="2024-03-31", resources={"tracer": TracerResource()})
    assert env.partitions("hit_rate_trend") == ["2024-03-31", NIGHT]


def test_no_observations_yet_is_not_a_failure(env):
    result = dg.materialize(
        [hit_rate_trend, hit_rate_self_check], partition_key=NIGHT, resources={"tracer": TracerResource()}
    )
    (check,) = result.get_asset_check_evaluations()
    assert check.passed is True and "No resolved predictions yet" in check.metadata["explanation"].value
