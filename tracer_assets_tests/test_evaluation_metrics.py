"""Scores, Murphy decomposition, weekly/rolling metric tables and cohort win rates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import brier_score_loss, log_loss

from tracer_assets.evaluation.all_time import rolling_metrics
from tracer_assets.evaluation.metrics import (
    METRIC_COLUMNS,
    WIN_RATE_COLUMNS,
    murphy_decomposition,
    score_frame,
    split_scorable,
    weekly_metrics,
    win_rates_by_cohort,
)
from tracer_assets.lake import Lake
from tracer_assets.lake.schemas import contract_columns
from tracer_assets.settings import TracerSettings

WEEK = "2024-03-04"
MONDAY = pd.Timestamp(WEEK, tz="UTC")


@pytest.fixture
def settings(tracer_env) -> TracerSettings:
    return TracerSettings(eval_bootstrap_resamples=200, eval_calibration_bins=10)


def make_obs(
    n_questions: int = 120, n_signals: int = 60, seed: int = 1, start: pd.Timestamp = MONDAY
) -> pd.DataFrame:
    """Market questions scored by both predictors (same question ids) plus signals, all in one week."""
    rng = np.random.default_rng(seed)
    truth = rng.uniform(0.05, 0.95, n_questions)
    outcome = (rng.uniform(size=n_questions) < truth).astype(int)
    resolved = start + pd.to_timedelta(rng.integers(0, 7 * 24, n_questions), unit="h")
    common = {
        "kind": "market",
        "question_id": [f"q{i}" for i in range(n_questions)],
        "symbol": "BTC/USD",
        "asset_class": "crypto",
        "direction": "yes",
        "strength": np.nan,
        "lead_hours": 24,
        "resolved_ts": resolved,
        "outcome": outcome,
    }
    market = pd.DataFrame(
        {
            **common,
            "observation_id": [f"m{i}" for i in range(n_questions)],
            "predictor": "market",
            "cohort": "market:lead24h",
            "source_model": "market",
            "predicted_prob": np.clip(truth + rng.normal(0, 0.05, n_questions), 0, 1),
        }
    )
    internal = pd.DataFrame(
        {
            **common,
            "observation_id": [f"i{i}" for i in range(n_questions)],
            "predictor": "internal",
            "cohort": "internal:lead24h",
            "source_model": "internal",
            "predicted_prob": np.clip(truth + rng.normal(0, 0.25, n_questions), 0, 1),
        }
    )
    signals = pd.DataFrame(
        {
            "kind": "signal",
            "observation_id": [f"s{i}" for i in range(n_signals)],
            "question_id": [f"s{i}" for i in range(n_signals)],
            "predictor": "internal",
            "cohort": "crypto:long",
            "symbol": "ETH/USD",
            "asset_class": rng.choice(["crypto", "us_equity"], n_signals),
            "direction": rng.choice(["long", "short"], n_signals),
            "strength": rng.uniform(0, 3, n_signals),
            "source_model": "lexicon",
            "lead_hours": 24,
            "resolved_ts": start + pd.to_timedelta(rng.integers(0, 7 * 24, n_signals), unit="h"),
            "predicted_prob": rng.uniform(0.5, 0.75, n_signals),
            "outcome": rng.integers(0, 2, n_signals),
        }
    )
    obs = pd.concat([market, internal, signals], ignore_index=True)
    obs["decision_ts"] = obs["resolved_ts"] - pd.Timedelta(hours=24)
    obs["event_ts"] = obs["resolved_ts"]
    obs["available_ts"] = obs["resolved_ts"] + pd.Timedelta(hours=1)
    return obs


def row(metrics: pd.DataFrame, **where) -> pd.Series:
    mask = np.ones(len(metrics), dtype=bool)
    for key, value in where.items():
        mask &= (metrics[key] == value).to_numpy()
    assert mask.sum() == 1, f"expected one row for {where}, got {mask.sum()}"
    return metrics[mask].iloc[0]


# ---- score_frame ------------------------------------------------------------------------------------


def test_scores_equal_scikit_learn_and_definitions(settings):
    obs = make_obs()
    scores = score_frame(obs, settings.evaluation)
    y, p = obs["outcome"].to_numpy(), obs["predicted_prob"].to_numpy()
    clip = settings.evaluation.eval_prob_clip
    assert scores["n"] == len(obs)
    assert scores["brier"] == pytest.approx(brier_score_loss(y, p))
    assert scores["brier"] == pytest.approx(np.mean((p - y) ** 2))
    assert scores["log_loss"] == pytest.approx(log_loss(y, np.clip(p, clip, 1 - clip)))
    assert scores["hit_rate"] == pytest.approx(np.mean((p >= 0.5) == (y == 1)))
    assert scores["brier_skill"] == pytest.approx(1 - scores["brier"] / (y.mean() * (1 - y.mean())))


def test_log_loss_is_clipped_so_a_confident_miss_stays_finite(tracer_env):
    obs = pd.DataFrame({"predicted_prob": [1.0, 0.0], "outcome": [0, 1]})
    clip = 1e-3
    scores = score_frame(obs, TracerSettings(eval_prob_clip=clip).evaluation)
    assert np.isfinite(scores["log_loss"])
    assert scores["log_loss"] == pytest.approx(-np.log(clip))


def test_single_class_cohort_scores_without_error(settings):
    obs = pd.DataFrame({"predicted_prob": [0.2, 0.3, 0.9], "outcome": [0, 0, 0]})
    scores = score_frame(obs, settings.evaluation)
    assert scores["log_loss"] == pytest.approx(log_loss([0, 0, 0], [0.2, 0.3, 0.9], labels=[0, 1]))
    assert scores["uncertainty"] == 0.0
    assert np.isnan(scores["brier_skill"])  # no climatology spread to beat


def test_decomposition_sums_exactly_to_brier_with_one_bin_per_forecast_value():
    rng = np.random.default_rng(3)
    p = rng.choice([0.1, 0.25, 0.5, 0.7, 0.9], 500)
    y = (rng.uniform(size=500) < p).astype(int)
    d = murphy_decomposition(y, p, n_bins=None)
    brier = brier_score_loss(y, p)
    assert d["within_bin"] == pytest.approx(0.0, abs=1e-15)
    assert d["reliability"] - d["resolution"] + d["uncertainty"] == pytest.approx(brier, abs=1e-12)


def test_binned_decomposition_sums_to_brier_with_the_within_bin_term():
    rng = np.random.default_rng(4)
    p = rng.uniform(size=400)
    y = (rng.uniform(size=400) < p**1.5).astype(int)
    d = murphy_decomposition(y, p, n_bins=10)
    brier = brier_score_loss(y, p)
    assert d["within_bin"] != pytest.approx(0.0, abs=1e-9)
    assert d["reliability"] - d["resolution"] + d["uncertainty"] + d["within_bin"] == pytest.approx(
        brier, abs=1e-12
    )


def test_score_frame_unique_bins_gives_the_exact_decomposition(settings):
    obs = make_obs()
    s = score_frame(obs, settings.evaluation, bins="unique")
    assert s["reliability"] - s["resolution"] + s["uncertainty"] == pytest.approx(s["brier"], abs=1e-12)


def test_unscorable_rows_are_counted_not_silently_dropped(settings):
    obs = pd.DataFrame({"predicted_prob": [0.6, np.nan, 1.4, 0.3, 0.2], "outcome": [1, 1, 0, np.nan, 2]})
    ok, bad = split_scorable(obs)
    assert len(ok) == 1
    assert sorted(bad["reason"]) == sorted(
        [
            "missing predicted_prob",
            "predicted_prob outside [0, 1]",
            "missing outcome",
            "outcome is not 0 or 1",
        ]
    )
    scores = score_frame(obs, settings.evaluation)
    assert (scores["n"], scores["n_unscored"]) == (1, 4)


def test_score_frame_on_nothing_is_nan_not_an_error(settings):
    scores = score_frame(pd.DataFrame({"predicted_prob": [], "outcome": []}), settings.evaluation)
    assert scores["n"] == 0
    assert np.isnan(scores["brier"]) and np.isnan(scores["log_loss"])


# ---- weekly_metrics ---------------------------------------------------------------------------------


def test_weekly_metrics_of_no_observations_is_an_empty_frame_with_the_contract(settings):
    for empty in (make_obs().iloc[:0], pd.DataFrame()):
        out = weekly_metrics(empty, WEEK, settings.evaluation)
        assert out.empty
        assert list(out.columns) == METRIC_COLUMNS
        assert set(contract_columns("eval_metrics")) <= set(out.columns)


def test_weekly_metrics_rows_and_contract(settings):
    obs = make_obs()
    out = weekly_metrics(obs, WEEK, settings.evaluation)
    assert list(out.columns) == METRIC_COLUMNS
    assert (out["week"] == WEEK).all()
    end = MONDAY + pd.Timedelta(days=7)
    assert (out["event_ts"] == end).all() and (out["available_ts"] == end).all()
    alls = out[out["cohort_dim"] == "all"]
    assert set(zip(alls["kind"], alls["predictor"], strict=True)) == {
        ("market", "internal"),
        ("market", "market"),
        ("signal", "internal"),
    }
    assert set(out["cohort_dim"]) == {
        "all",
        "cohort",
        "asset_class",
        "direction",
        "strength_bucket",
        "source_model",
        "lead_hours",
    }
    sig = obs[obs["kind"] == "signal"]
    for direction in ("long", "short"):
        r = row(out, kind="signal", cohort_dim="direction", cohort=direction)
        part = sig[sig["direction"] == direction]
        assert r["n"] == len(part)
        assert r["brier"] == pytest.approx(brier_score_loss(part["outcome"], part["predicted_prob"]))
    buckets = out[(out["kind"] == "signal") & (out["cohort_dim"] == "strength_bucket")]
    assert buckets["n"].sum() == len(sig)
    assert set(buckets["cohort"]) <= {"<0.5", "0.5-1", "1-2", ">=2"}


def test_weekly_rows_carry_scikit_learn_values_and_intervals_around_them(settings):
    obs = make_obs()
    out = weekly_metrics(obs, WEEK, settings.evaluation)
    mkt = obs[(obs["kind"] == "market") & (obs["predictor"] == "market")]
    r = row(out, kind="market", predictor="market", cohort_dim="all")
    clip = settings.evaluation.eval_prob_clip
    assert r["brier"] == pytest.approx(brier_score_loss(mkt["outcome"], mkt["predicted_prob"]))
    assert r["log_loss"] == pytest.approx(
        log_loss(mkt["outcome"], mkt["predicted_prob"].clip(clip, 1 - clip), labels=[0, 1])
    )
    assert r["brier_lo"] <= r["brier"] <= r["brier_hi"]
    assert r["hit_rate_lo"] <= r["hit_rate"] <= r["hit_rate_hi"]
    decomposed = r["reliability"] - r["resolution"] + r["uncertainty"] + r["within_bin"]
    assert decomposed == pytest.approx(r["brier"], abs=1e-12)


def test_bss_vs_market_compares_the_same_questions_only(settings):
    obs = make_obs()
    # An internal prediction with no market twin must not enter the comparison.
    extra = obs[(obs["predictor"] == "internal") & (obs["kind"] == "market")].iloc[:1].copy()
    extra[["question_id", "observation_id", "predicted_prob", "outcome"]] = ["lonely", "lonely", 0.0, 1]
    out = weekly_metrics(pd.concat([obs, extra], ignore_index=True), WEEK, settings.evaluation)
    r = row(out, kind="market", predictor="internal", cohort_dim="all")
    internal = obs[(obs["kind"] == "market") & (obs["predictor"] == "internal")].set_index("question_id")
    market = obs[(obs["kind"] == "market") & (obs["predictor"] == "market")].set_index("question_id")
    bs_int = np.mean((internal["predicted_prob"] - internal["outcome"]) ** 2)
    bs_mkt = np.mean((market["predicted_prob"] - market["outcome"]) ** 2)
    assert r["n_paired"] == len(market)
    assert r["bss_vs_market"] == pytest.approx(1 - bs_int / bs_mkt)
    assert r["bss_vs_market"] < 0  # the planted internal model is noisier than the market
    assert np.isnan(row(out, kind="market", predictor="market", cohort_dim="all")["bss_vs_market"])
    assert np.isnan(row(out, kind="signal", predictor="internal", cohort_dim="all")["bss_vs_market"])


def test_weekly_metrics_are_reproducible_whatever_the_row_order(settings):
    obs = make_obs()
    first = weekly_metrics(obs, WEEK, settings.evaluation)
    shuffled = obs.sample(frac=1.0, random_state=9).reset_index(drop=True)
    pd.testing.assert_frame_equal(first, weekly_metrics(shuffled, WEEK, settings.evaluation))


def test_weeks_are_assigned_by_resolution_time(settings):
    this_week = make_obs(n_questions=20, n_signals=10)
    next_week = make_obs(n_questions=30, n_signals=5, seed=2, start=MONDAY + pd.Timedelta(days=7))
    next_week["observation_id"] += "-next"
    out = weekly_metrics(pd.concat([this_week, next_week]), WEEK, settings.evaluation)
    assert row(out, kind="signal", cohort_dim="all")["n"] == 10
    assert row(out, kind="market", predictor="market", cohort_dim="all")["n"] == 20


def test_missing_optional_columns_and_one_class_cohorts_still_score(settings):
    obs = pd.DataFrame(
        {
            "kind": ["signal"] * 4,
            "predicted_prob": [0.6, 0.7, 0.55, 0.8],
            "outcome": [1, 1, 1, 1],
            "resolved_ts": pd.date_range(MONDAY, periods=4, freq="D"),
        }
    )
    out = weekly_metrics(obs, WEEK, settings.evaluation)
    assert list(out["cohort_dim"]) == ["all"]
    r = out.iloc[0]
    assert (r["predictor"], r["n"], r["hit_rate"]) == ("internal", 4, 1.0)
    assert np.isfinite(r["log_loss"])


def test_a_group_with_only_unscorable_rows_still_gets_a_row(settings):
    obs = make_obs(n_questions=5, n_signals=3)
    obs.loc[obs["kind"] == "signal", "predicted_prob"] = np.nan
    r = row(weekly_metrics(obs, WEEK, settings.evaluation), kind="signal", cohort_dim="all")
    assert (r["n"], r["n_unscored"]) == (0, 3)
    assert np.isnan(r["brier"])


def test_week_must_be_a_monday(settings):
    with pytest.raises(ValueError, match="Monday"):
        weekly_metrics(make_obs(), "2024-03-05", settings.evaluation)


def test_weekly_metrics_fit_the_lake_contract(settings, tmp_path):
    lake = Lake(tmp_path / "lake")
    out = weekly_metrics(make_obs(), WEEK, settings.evaluation)
    lake.write_partition("eval_metrics", WEEK, out)
    lake.write_partition(
        "eval_metrics", "2024-03-11", weekly_metrics(make_obs().iloc[:0], "2024-03-11", settings.evaluation)
    )
    back = lake.read("eval_metrics")
    assert len(back) == len(out)
    assert back["brier"].sum() == pytest.approx(out["brier"].sum())


# ---- rolling and cohort tables ---------------------------------------------------------------------


def test_rolling_metrics_use_only_what_was_known_at_as_of(settings):
    obs = make_obs()
    as_of = MONDAY + pd.Timedelta(days=3)
    out = rolling_metrics(obs, as_of, settings.evaluation)
    known = obs[(obs["resolved_ts"] <= as_of) & (obs["available_ts"] <= as_of)]
    assert (out["week"] == "all-time").all()
    assert (out["event_ts"] == as_of).all()
    assert row(out, kind="signal", cohort_dim="all")["n"] == (known["kind"] == "signal").sum()


def test_win_rates_by_cohort(settings):
    obs = make_obs()
    table = win_rates_by_cohort(obs, settings.evaluation)
    assert list(table.columns) == WIN_RATE_COLUMNS
    sig = obs[obs["kind"] == "signal"]
    for asset_class, part in sig.groupby("asset_class"):
        r = row(table, kind="signal", cohort_dim="asset_class", cohort=asset_class)
        assert r["n"] == len(part) and r["wins"] == part["outcome"].sum()
        assert r["win_rate"] == pytest.approx(part["outcome"].mean())
        assert r["win_rate_lo"] < r["win_rate"] < r["win_rate_hi"]
    assert row(table, kind="market", predictor="market", cohort_dim="lead_hours")["cohort"] == "24h"
    assert win_rates_by_cohort(obs.iloc[:0], settings.evaluation).empty


def test_wilson_bounds_stay_inside_zero_one_when_every_prediction_won_or_lost():
    from tracer_assets.evaluation.metrics import wilson_interval

    for n in range(1, 400):
        for wins in (0, n):
            lo, hi = wilson_interval(wins, n, 0.95)
            assert 0.0 <= lo <= hi <= 1.0, (wins, n, lo, hi)
