"""Our probability that a price closes above a strike (driftless lognormal, N(d2))."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tracer_assets.polymarket.internal_prob import (
    internal_prob_above,
    internal_prob_below,
    internal_prob_between,
)


def normal_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def test_matches_the_closed_form():
    price, strike, vol, hours = 100.0, 105.0, 0.01, 48.0
    s = vol * math.sqrt(hours)
    d2 = (math.log(price / strike) - 0.5 * s * s) / s
    assert internal_prob_above(price, strike, vol, hours) == pytest.approx(normal_cdf(d2), abs=1e-12)


def test_agrees_with_a_simulation_of_the_model():
    rng = np.random.default_rng(0)
    price, vol, hours = 60_000.0, 0.008, 72.0
    s = vol * math.sqrt(hours)
    finals = price * np.exp(-0.5 * s * s + s * rng.standard_normal(200_000))  # a martingale: E = price
    assert finals.mean() == pytest.approx(price, rel=0.002)
    for strike in (55_000.0, 60_000.0, 63_000.0):
        simulated = float(np.mean(finals > strike))
        assert internal_prob_above(price, strike, vol, hours) == pytest.approx(simulated, abs=0.004)


def test_vectorised_and_shaped_like_the_inputs():
    strikes = np.array([90.0, 100.0, 110.0])
    out = internal_prob_above(100.0, strikes, 0.02, 24.0)
    assert isinstance(out, np.ndarray) and out.shape == (3,)
    assert out[0] > out[1] > out[2]  # a higher strike is less likely
    assert out[1] < 0.5  # at the money the zero-drift median sits below the price
    longer = internal_prob_above(100.0, 110.0, 0.02, np.array([1.0, 24.0, 240.0]))
    assert np.all(np.diff(longer) > 0)  # more time, more chance to reach an out-of-the-money strike
    assert isinstance(internal_prob_above(100.0, 90.0, 0.02, 24.0), float)


def test_no_time_or_no_vol_is_certain():
    assert internal_prob_above(101.0, 100.0, 0.02, 0.0) == 1.0
    assert internal_prob_above(99.0, 100.0, 0.0, 24.0) == 0.0
    assert internal_prob_above(100.0, 100.0, 0.0, 24.0) == 0.5
    assert internal_prob_above(101.0, 100.0, 0.02, -5.0) == 1.0  # the end has passed


def test_invalid_inputs_are_nan_not_numbers():
    bad = internal_prob_above(
        np.array([0.0, 100.0, 100.0, np.nan, 100.0]),
        np.array([100.0, -1.0, 100.0, 100.0, 100.0]),
        np.array([0.02, 0.02, -0.1, 0.02, 0.02]),
        np.array([24.0, 24.0, 24.0, 24.0, np.nan]),
    )
    assert np.isnan(bad).all()


def test_below_and_between_are_consistent_with_above():
    assert internal_prob_below(100.0, 105.0, 0.01, 48.0) == pytest.approx(
        1 - internal_prob_above(100.0, 105.0, 0.01, 48.0)
    )
    between = internal_prob_between(100.0, 95.0, 105.0, 0.01, 48.0)
    assert between == pytest.approx(
        internal_prob_above(100.0, 95.0, 0.01, 48.0) - internal_prob_above(100.0, 105.0, 0.01, 48.0)
    )
    assert 0 < between < 1
    assert math.isnan(internal_prob_between(100.0, 105.0, 95.0, 0.01, 48.0))
