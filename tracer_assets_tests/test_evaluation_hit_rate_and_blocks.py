"""hit_rate is the direction hit rate; intervals that respect same-day dependence; a bss interval."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tracer_assets.evaluation.block_bootstrap import block_bootstrap_mean_cis, block_ids
from tracer_assets.evaluation.metrics import weekly_metrics, win_rates_by_cohort
from tracer_assets.settings import TracerSettings

WEEK = "2024-03-04"
MONDAY = pd.Timestamp(WEEK, tz="UTC")


@pytest.fixture
def settings(tracer_env) -> TracerSettings:
    return TracerSettings(eval_bootstrap_resamples=400)


def _row(out: pd.DataFrame, **kw) -> pd.Series:
    m = np.ones(len(out), dtype=bool)
    for k, v in kw.items():
        m &= (out[k] == v).to_numpy()
    return out[m].iloc[0]


def test_a_right_direction_called_below_even_odds_is_a_hit(settings):
    # calibration gave these signals less than even odds, but three of the four directions were right
    obs = pd.DataFrame(
        {
            "kind": "signal",
            "predicted_prob": [0.45, 0.42, 0.48, 0.40],
            "outcome": [1, 1, 1, 0],
            "resolved_ts": pd.date_range(MONDAY, periods=4, freq="D"),
            "decision_ts": pd.date_range(MONDAY - pd.Timedelta(days=1), periods=4, freq="D"),
        }
    )
    r = weekly_metrics(obs, WEEK, settings.evaluation).iloc[0]
    assert r["hit_rate"] == pytest.approx(0.75)
    assert r["prob_hit_rate"] == pytest.approx(0.25)
    w = win_rates_by_cohort(obs, settings.evaluation).iloc[0]
    assert (w["hit_rate"], w["prob_hit_rate"]) == pytest.approx((0.75, 0.25))


def _clustered_signals(per_day: int = 12) -> pd.DataFrame:
    """Every signal of a day shares its outcome (one market-wide move): strongly dependent rows."""
    day_outcome = np.array([1, 0, 1, 1, 0, 1, 1])
    days = np.repeat(np.arange(len(day_outcome)), per_day)
    decided = MONDAY + pd.to_timedelta(days, unit="D") + pd.Timedelta(hours=1)
    return pd.DataFrame(
        {
            "kind": "signal",
            "predicted_prob": 0.6,
            "outcome": day_outcome[days],
            "decision_ts": decided,
            "resolved_ts": decided + pd.Timedelta(hours=6),
        }
    )


def test_block_intervals_are_wider_than_row_intervals_when_days_move_together(settings):
    s = settings.model_copy(update={"eval_block_days": 1})
    r = weekly_metrics(_clustered_signals(), WEEK, s.evaluation).iloc[0]
    plain = r["hit_rate_hi"] - r["hit_rate_lo"]
    block = r["hit_rate_block_hi"] - r["hit_rate_block_lo"]
    assert r["hit_rate_block_lo"] <= r["hit_rate"] <= r["hit_rate_block_hi"]
    assert r["brier_block_lo"] - 1e-12 <= r["brier"] <= r["brier_block_hi"] + 1e-12
    assert block > 2 * plain


def test_block_bootstrap_with_one_row_per_block_matches_the_row_bootstrap_width():
    rng = np.random.default_rng(0)
    x = (rng.uniform(size=400) < 0.6).astype(float)
    days = pd.Series(MONDAY + pd.to_timedelta(np.arange(400), unit="D"))
    lo, hi = block_bootstrap_mean_cis({"x": x}, block_ids(days, 1), 2000, seed=1)["x"]
    se = np.sqrt(x.mean() * (1 - x.mean()) / len(x))
    assert hi - lo == pytest.approx(2 * 1.96 * se, rel=0.15)


def test_bss_vs_market_has_an_interval_around_it(settings):
    rng = np.random.default_rng(2)
    n = 150
    truth = rng.uniform(0.1, 0.9, n)
    outcome = (rng.uniform(size=n) < truth).astype(int)
    decided = MONDAY + pd.to_timedelta(rng.integers(0, 6 * 24, n), unit="h")
    common = {
        "kind": "market",
        "question_id": [f"q{i}" for i in range(n)],
        "lead_hours": 24,
        "decision_ts": decided,
        "resolved_ts": decided + pd.Timedelta(hours=24),
        "outcome": outcome,
    }
    market = pd.DataFrame({**common, "predictor": "market", "predicted_prob": truth})
    internal = pd.DataFrame(
        {**common, "predictor": "internal", "predicted_prob": np.clip(truth + rng.normal(0, 0.15, n), 0, 1)}
    )
    out = weekly_metrics(pd.concat([market, internal], ignore_index=True), WEEK, settings.evaluation)
    r = _row(out, kind="market", predictor="internal", cohort_dim="all")
    assert r["bss_vs_market_lo"] < r["bss_vs_market"] < r["bss_vs_market_hi"]
    assert r["bss_vs_market_hi"] < 0.0  # the noisier internal model is reliably worse than the market
