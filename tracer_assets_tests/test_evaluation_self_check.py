"""Hit-rate trend and the self-check verdict."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tracer_assets.evaluation.self_check import TREND_COLUMNS, hit_rate_trend, self_check
from tracer_assets.settings import TracerSettings

AS_OF = pd.Timestamp("2024-04-01", tz="UTC")


@pytest.fixture
def settings(tracer_env) -> TracerSettings:
    return TracerSettings(eval_selfcheck_max_drop=0.10, eval_selfcheck_min_n=20)


def signals(days_back: np.ndarray, hit: np.ndarray) -> pd.DataFrame:
    """Signal observations resolved ``days_back`` days before AS_OF, a hit where ``hit`` is true."""
    resolved = AS_OF - pd.to_timedelta(days_back, unit="D")
    return pd.DataFrame(
        {
            "kind": "signal",
            "predictor": "internal",
            "observation_id": [f"s{i}" for i in range(len(days_back))],
            "predicted_prob": 0.6,
            "outcome": hit.astype(int),
            "resolved_ts": resolved,
            "available_ts": resolved,
        }
    )


def history(recent_rate: float, baseline_rate: float, n_recent: int = 60, n_base: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    recent_days = rng.uniform(0.01, 6.99, n_recent)
    base_days = rng.uniform(7.01, 34.99, n_base)
    hits = np.concatenate(
        [np.arange(n_recent) < recent_rate * n_recent, np.arange(n_base) < baseline_rate * n_base]
    )
    return signals(np.concatenate([recent_days, base_days]), hits)


def test_trend_counts_each_window():
    trend = hit_rate_trend(history(0.4, 0.6), AS_OF, window_days=7, baseline_days=28)
    assert list(trend.columns) == TREND_COLUMNS
    r = trend.iloc[0]
    assert (r["window_n"], r["baseline_n"]) == (60, 200)
    assert r["window_hit_rate"] == pytest.approx(0.4)
    assert r["baseline_hit_rate"] == pytest.approx(0.6)
    assert r["drop"] == pytest.approx(0.2)
    assert r["event_ts"] == AS_OF


def test_a_drop_beyond_the_threshold_fails_with_a_plain_explanation(settings):
    trend = hit_rate_trend(history(0.4, 0.6), AS_OF, 7, 28)
    passed, explanation, metadata = self_check(trend, settings.evaluation)
    assert not passed
    assert "fell to 40%" in explanation and "from 60%" in explanation and "drop of 20 points" in explanation
    assert "limit is 10 points" in explanation
    assert metadata["groups_failed"] == 1 and metadata["groups"][0]["status"] == "failed"


def test_a_small_drop_passes(settings):
    passed, explanation, metadata = self_check(
        hit_rate_trend(history(0.55, 0.6), AS_OF, 7, 28), settings.evaluation
    )
    assert passed and "held up" in explanation
    assert metadata["groups"][0]["status"] == "ok"


def test_thin_data_is_not_judged(settings):
    passed, explanation, metadata = self_check(
        hit_rate_trend(history(0.0, 1.0, n_recent=5), AS_OF, 7, 28), settings.evaluation
    )
    assert passed and "Not enough" in explanation
    assert metadata["groups"][0]["status"] == "not enough data"
    assert self_check(hit_rate_trend(history(0.4, 0.6).iloc[:0], AS_OF, 7, 28), settings.evaluation)[0]


def test_observations_known_after_as_of_are_ignored():
    obs = history(0.4, 0.6)
    late = signals(np.array([1.0]), np.array([True])).assign(
        observation_id="late", available_ts=AS_OF + pd.Timedelta(hours=1)
    )
    trend = hit_rate_trend(pd.concat([obs, late]), AS_OF, 7, 28)
    assert trend.iloc[0]["window_n"] == 60
