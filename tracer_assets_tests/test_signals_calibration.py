"""internal_prob: documented prior, then a calibration map fitted only on outcomes known before."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tracer_assets.signals.calibration import internal_probabilities, prepare_outcomes
from tracer_assets_tests.conftest import settings_factory

DAY = pd.Timestamp("2024-06-10", tz="UTC")


settings = settings_factory(
    signal_prior_prob=0.5,
    signal_prob_slope=0.1,
    calibration_min_outcomes=40,
    calibration_prior_weight=0.0,
    calibration_prob_clip=0.01,
)


DECISION_TS = DAY + pd.Timedelta(hours=10)


def decisions(strengths, ts=DECISION_TS):
    return pd.DataFrame({"decision_ts": [ts] * len(strengths), "strength": strengths})


def outcomes(n, resolved_before=DAY, seed=0, informative=True):
    """Strong signals tend to be right, weak ones wrong (when informative)."""
    rng = np.random.default_rng(seed)
    strength = rng.uniform(0, 1, n)
    p = 0.2 + 0.6 * strength if informative else np.full(n, 0.5)
    return pd.DataFrame(
        {
            "decision_ts": resolved_before - pd.Timedelta(days=3),
            "resolved_ts": resolved_before - pd.to_timedelta(rng.uniform(1, 48, n), unit="h"),
            "strength": strength,
            "outcome": (rng.uniform(0, 1, n) < p).astype(int),
        }
    )


def test_prior_until_enough_outcomes():
    s = settings()
    probs, infos = internal_probabilities(
        decisions([0.0, 0.5, 1.0]), prepare_outcomes(outcomes(10)), s.signals
    )
    assert probs.tolist() == pytest.approx([0.5, 0.55, 0.6])
    assert {i.method for i in infos} == {"prior"} and infos.iloc[0].n_outcomes == 10


@pytest.mark.parametrize("method", ["isotonic", "logistic"])
def test_fitted_map_tracks_the_hit_rate(method):
    s = settings(calibration_method=method)
    probs, infos = internal_probabilities(decisions([0.05, 0.95]), prepare_outcomes(outcomes(400)), s.signals)
    assert infos.iloc[0].method == method
    weak, strong = probs.tolist()
    assert weak < 0.4 and strong > 0.65  # truth: 0.23 and 0.77; the prior would say 0.505 and 0.595


def test_only_outcomes_resolved_before_the_decision_day_are_used():
    s = settings()
    known = outcomes(100, seed=1)
    future = outcomes(300, resolved_before=DAY + pd.Timedelta(hours=9), seed=2)
    future = future[future["resolved_ts"] > DAY]  # resolved the same day, before the decision
    assert len(future) > 0
    base, info = internal_probabilities(decisions([0.2, 0.8]), prepare_outcomes(known), s.signals)
    flipped = future.assign(outcome=1 - future["outcome"])
    for extra in (future, flipped):
        probs, _ = internal_probabilities(
            decisions([0.2, 0.8]), prepare_outcomes(pd.concat([known, extra])), s.signals
        )
        assert probs.tolist() == base.tolist()
    assert info.iloc[0].n_outcomes == 100 and info.iloc[0].cutoff_ts == DAY


def test_prior_weight_blends_toward_the_prior():
    o = prepare_outcomes(outcomes(100, informative=False, seed=3))
    pure, _ = internal_probabilities(decisions([1.0]), o, settings(calibration_prior_weight=0.0).signals)
    blended, _ = internal_probabilities(decisions([1.0]), o, settings(calibration_prior_weight=100.0).signals)
    assert abs(blended.iloc[0] - 0.6) < abs(pure.iloc[0] - 0.6)


def test_outcomes_get_strength_from_prior_signals_and_reject_non_binary():
    o = outcomes(5).drop(columns=["strength"]).assign(signal_id=[f"s{i}" for i in range(5)])
    prior = pd.DataFrame({"signal_id": [f"s{i}" for i in range(5)], "strength": [0.1, 0.2, 0.3, 0.4, 0.5]})
    got = prepare_outcomes(o, prior)
    assert sorted(got["strength"].tolist()) == [0.1, 0.2, 0.3, 0.4, 0.5]
    with pytest.raises(ValueError, match="strength"):
        prepare_outcomes(o)
    with pytest.raises(ValueError, match="0 or 1"):
        prepare_outcomes(outcomes(5).assign(outcome=2))


def test_market_observations_are_not_signal_outcomes():
    o = pd.concat([outcomes(5).assign(kind="signal"), outcomes(7).assign(kind="market")])
    assert len(prepare_outcomes(o)) == 5


def test_probabilities_are_clipped():
    o = outcomes(200, seed=4).assign(outcome=1)
    probs, _ = internal_probabilities(
        decisions([0.5]), prepare_outcomes(o), settings(calibration_prob_clip=0.05).signals
    )
    assert probs.iloc[0] == pytest.approx(0.95)
