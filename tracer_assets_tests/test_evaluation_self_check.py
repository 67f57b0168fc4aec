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


def _naive_trend(obs: pd.DataFrame, as_of: pd.Timestamp, window: int, baseline: int) -> dict[tuple, tuple]:
    """(window n, window hits, baseline n, baseline hits) per kind and predictor, one row at a time."""
    ws = as_of - pd.Timedelta(days=window)
    bs = ws - pd.Timedelta(days=baseline)
    out: dict[tuple, list[int]] = {}
    for r in obs.itertuples(index=False):
        if pd.isna(r.outcome) or r.available_ts > as_of or r.resolved_ts > as_of:
            continue
        hit = (
            int(r.outcome == 1) if r.kind == "signal" else int((r.predicted_prob >= 0.5) == (r.outcome == 1))
        )
        counts = out.setdefault((r.kind, r.predictor), [0, 0, 0, 0])
        if r.resolved_ts > ws:
            counts[0], counts[1] = counts[0] + 1, counts[1] + hit
        elif r.resolved_ts > bs:
            counts[2], counts[3] = counts[2] + 1, counts[3] + hit
    return {k: tuple(v) for k, v in out.items()}


@pytest.mark.parametrize("seed", [1, 2])
def test_trend_inputs_built_once_give_each_nights_trend(seed):
    """The arrays made once for a range give, under each night's row mask, the trend of that night's
    slice alone (what one day's run computes) and the counts a row-by-row count gives."""
    from tracer_assets.evaluation.metrics import default_settings, prepare_observations
    from tracer_assets.evaluation.self_check import TrendInputs

    rng = np.random.default_rng(seed)
    n = 400
    resolved = AS_OF - pd.to_timedelta(rng.uniform(0, 60, n), unit="D")
    kinds = rng.choice(["signal", "market_price"], n)
    obs = pd.DataFrame(
        {
            "kind": kinds,
            "predictor": np.where(kinds == "signal", "internal", rng.choice(["internal", "market"], n)),
            "observation_id": [f"o{i}" for i in range(n)],
            "predicted_prob": rng.uniform(size=n),
            "outcome": np.where(rng.uniform(size=n) < 0.05, np.nan, rng.integers(0, 2, n)),
            "resolved_ts": resolved,
            "available_ts": resolved + pd.to_timedelta(rng.uniform(0, 3, n), unit="D"),
        }
    )
    obs.loc[obs.index[:30], "predictor"] = "late"  # a group only some nights see
    obs.loc[obs.index[:30], "available_ts"] = AS_OF - pd.Timedelta(days=2)
    frame = prepare_observations(obs, default_settings())
    inputs = TrendInputs(frame)
    for days_before in (10, 3, 0):
        as_of = AS_OF - pd.Timedelta(days=days_before) - pd.Timedelta(microseconds=1)
        rows = (frame["available_ts"] > as_of - pd.Timedelta(days=40)).to_numpy()
        got = inputs.trend(as_of, 7, 21, rows)
        alone = hit_rate_trend(frame[rows], as_of, 7, 21, prepared=True)
        pd.testing.assert_frame_equal(got, alone, check_exact=True)
        naive = _naive_trend(frame[rows], as_of, 7, 21)
        assert {(r.kind, r.predictor) for r in got.itertuples()} == set(naive)
        for r in got.itertuples():
            wn, wh, bn, bh = naive[(r.kind, r.predictor)]
            assert (r.window_n, r.baseline_n) == (wn, bn)
            for rate, hits, count in ((r.window_hit_rate, wh, wn), (r.baseline_hit_rate, bh, bn)):
                assert np.isnan(rate) if count == 0 else rate == hits / count
        # the late group's rows become known two days before AS_OF: absent before, present after
        assert any(r.predictor == "late" for r in got.itertuples()) == (days_before < 2)
