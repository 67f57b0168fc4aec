"""Seeded bootstrap intervals: reproducible, and covering the truth about as often as promised."""

from __future__ import annotations

import numpy as np
import pytest

from tracer_assets.evaluation.bootstrap import bootstrap_ci, bootstrap_mean_cis, gathered_sums, group_seed


def test_interval_covers_the_true_mean_in_about_95_percent_of_simulations():
    rng = np.random.default_rng(12345)
    true_p, n, sims = 0.3, 120, 200
    covered = 0
    for i in range(sims):
        sample = (rng.uniform(size=n) < true_p).astype(float)
        lo, hi = bootstrap_ci(sample, n_resamples=400, seed=i, level=0.95)
        covered += lo <= true_p <= hi
    assert covered / sims >= 0.88
    assert covered / sims <= 0.995  # a degenerate, always-wide interval would cover everything


def test_interval_of_a_brier_like_statistic_covers_its_truth():
    rng = np.random.default_rng(7)
    sims, n = 200, 150
    # Forecast p=0.7 for events that happen with probability 0.7: true Brier = 0.7 * 0.3 = 0.21.
    true_brier = 0.21
    covered = 0
    for i in range(sims):
        y = (rng.uniform(size=n) < 0.7).astype(float)
        lo, hi = bootstrap_ci((0.7 - y) ** 2, n_resamples=400, seed=[1, i])
        covered += lo <= true_brier <= hi
    assert covered / sims >= 0.88


def test_same_seed_same_interval_and_seed_matters():
    values = np.random.default_rng(0).normal(size=80)
    assert bootstrap_ci(values, n_resamples=300, seed=4) == bootstrap_ci(values, n_resamples=300, seed=4)
    assert bootstrap_ci(values, n_resamples=300, seed=4) != bootstrap_ci(values, n_resamples=300, seed=5)


def test_joint_resampling_with_a_custom_statistic():
    rng = np.random.default_rng(1)
    a, b = rng.normal(1.0, 1, 200), rng.normal(0.0, 1, 200)
    lo, hi = bootstrap_ci(
        a, b, n_resamples=300, seed=2, statistic=lambda x, y: x.mean(axis=1) - y.mean(axis=1)
    )
    assert lo < a.mean() - b.mean() < hi
    with pytest.raises(ValueError, match="equal lengths"):
        bootstrap_ci(a, b[:10], n_resamples=10, seed=0, statistic=lambda x, y: x.mean(axis=1))


def test_mean_cis_share_resamples_and_match_single_calls():
    rng = np.random.default_rng(2)
    x, y = rng.uniform(size=50), rng.uniform(size=50)
    both = bootstrap_mean_cis({"x": x, "y": y}, n_resamples=200, seed=3)
    assert both["x"][0] < x.mean() < both["x"][1]
    assert both["y"][0] < y.mean() < both["y"][1]


def test_degenerate_samples():
    assert all(np.isnan(v) for v in bootstrap_ci(np.array([]), n_resamples=100, seed=0))
    assert bootstrap_ci(np.array([0.4]), n_resamples=100, seed=0) == (0.4, 0.4)
    assert all(np.isnan(v) for v in bootstrap_mean_cis({"x": np.array([])}, 100, 0)["x"])


def test_group_seed_is_stable_and_distinct():
    assert group_seed(1, "signal", "all") == group_seed(1, "signal", "all")
    assert group_seed(1, "signal", "all") != group_seed(1, "market", "all")


@pytest.mark.parametrize("n", [1, 7, 333, 4096])
def test_gathered_sums_are_bit_for_bit_the_3d_gathers_sums(n):
    """The cheap 2-D gather must not move a single bit of any interval (lake tables stay identical)."""
    rng = np.random.default_rng(n)
    values = rng.random((n, 3)) * 10.0 ** rng.integers(-3, 4, size=(n, 3))
    values[rng.random(n) < 0.05, 1] = np.nan
    idx = rng.integers(0, n, size=(57, n))
    expected = values[idx].sum(axis=1)  # the 3-D gather: (resamples, n, columns) summed over draws
    running = np.zeros((57, 3))
    for j in range(n):  # left to right, one draw at a time
        running = running + values[idx[:, j]]
    got = gathered_sums(np.ascontiguousarray(values.T), idx)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(got, running)
