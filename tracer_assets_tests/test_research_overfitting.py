"""DSR, PBO and the block bootstrap against values worked out by hand on small cases."""

import math

import numpy as np
import pytest
from scipy import stats

from tracer_assets.research.overfitting import (
    block_bootstrap_sharpe,
    deflated_sharpe_probability,
    effective_trials,
    expected_max_sharpe,
    probability_of_backtest_overfitting,
    sharpe,
)


def test_expected_max_sharpe_matches_the_papers_ten_trial_value():
    # (1 - g) * Z^-1(0.9) + g * Z^-1(1 - 1/(10 e)) with unit variance: 0.42278 * 1.28155 + 0.57722 * 1.78935
    assert expected_max_sharpe(1.0, 10) == pytest.approx(0.42278 * 1.28155 + 0.57722 * 1.78935, abs=1e-3)
    assert expected_max_sharpe(0.25, 10) == pytest.approx(0.5 * expected_max_sharpe(1.0, 10))
    assert expected_max_sharpe(1.0, 1) == 0.0


def test_deflated_sharpe_by_hand_on_eight_returns():
    r = np.array([0.01, -0.005, 0.02, 0.0, 0.015, -0.01, 0.005, 0.01])
    n = len(r)
    mean = sum(r) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in r) / (n - 1))
    sr = mean / sd
    m2 = sum((x - mean) ** 2 for x in r) / n
    m3 = sum((x - mean) ** 3 for x in r) / n
    m4 = sum((x - mean) ** 4 for x in r) / n
    g1 = m3 / m2**1.5
    skew = g1 * math.sqrt(n * (n - 1)) / (n - 2)  # adjusted Fisher-Pearson
    g2 = m4 / m2**2 - 3
    kurt = ((n + 1) * g2 + 6) * (n - 1) / ((n - 2) * (n - 3)) + 3  # unbiased, Pearson
    for trials, variance in ((1, 0.0), (25, 0.04)):
        sr0 = expected_max_sharpe(variance, trials)
        z = (sr - sr0) * math.sqrt(n - 1) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2)
        assert deflated_sharpe_probability(r, trials, variance) == pytest.approx(stats.norm.cdf(z), rel=1e-9)
    # more trials tried, less confidence in the same returns
    assert deflated_sharpe_probability(r, 100, 0.04) < deflated_sharpe_probability(r, 2, 0.04)


def test_pbo_is_one_when_the_in_sample_winner_always_loses_out_of_sample():
    # two configurations, two blocks of four periods: each wins one block and loses the other
    a = [0.02, 0.03, 0.025, 0.035, -0.01, -0.02, -0.015, -0.012]
    b = [-0.01, -0.02, -0.015, -0.012, 0.02, 0.03, 0.025, 0.035]
    assert probability_of_backtest_overfitting(np.column_stack([a, b]), n_blocks=2) == 1.0


def test_pbo_is_zero_when_one_configuration_wins_everywhere():
    rng = np.random.default_rng(1)
    noise = rng.normal(0, 0.01, size=(64, 6))
    noise[:, 3] += 0.02
    assert probability_of_backtest_overfitting(noise, n_blocks=8) == 0.0


def test_pbo_of_pure_noise_is_near_one_half():
    rng = np.random.default_rng(2)
    pbos = [probability_of_backtest_overfitting(rng.normal(0, 0.01, (80, 20)), 8) for _ in range(20)]
    assert 0.3 < np.mean(pbos) < 0.7


def test_block_bootstrap_interval_holds_the_point_and_widens_with_fewer_days():
    rng = np.random.default_rng(3)
    r = rng.normal(0.001, 0.01, 720)
    point, low, high = block_bootstrap_sharpe(r, block_days=5, resamples=500, seed=1)
    assert point == pytest.approx(sharpe(r, 365.0))
    assert low < point < high
    _, low_short, high_short = block_bootstrap_sharpe(r[:120], block_days=5, resamples=500, seed=1)
    assert high_short - low_short > high - low
    # a reproducible interval for a given seed
    assert block_bootstrap_sharpe(r, block_days=5, resamples=500, seed=1) == (point, low, high)


def _three_groups(rng: np.random.Generator, noise: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """30 trials: 3 base series, each copied 10 times at scales 1..10 (+ optional independent noise)."""
    base = rng.normal(0.001, 0.01, (250, 3)) + np.array([0.002, 0.0, -0.001])
    scales = np.arange(1, 11)
    trials = np.concatenate([base[:, [g]] * scales for g in range(3)], axis=1)
    return base, trials + rng.normal(0, noise, trials.shape)


def test_thirty_trials_in_three_groups_of_identical_series_are_three_trials():
    base, trials = _three_groups(np.random.default_rng(4))
    found = effective_trials(trials)
    assert found.n_clusters == 3
    # each group is one label and the three labels differ
    groups = found.labels.reshape(3, 10)
    assert all(len(set(g)) == 1 for g in groups) and len({g[0] for g in groups}) == 3
    # a cluster of scaled copies has the base series' Sharpe (scaling leaves it unchanged)
    by_hand = [sharpe(base[:, g]) for g in range(3)]
    assert found.sharpe_variance == pytest.approx(np.var(by_hand, ddof=1), rel=1e-9)
    # the deflation then counts 3 trials with that variance, not 30 with the variance of all 30
    r = base[:, 0]
    assert deflated_sharpe_probability(
        r, found.n_clusters, found.sharpe_variance
    ) > deflated_sharpe_probability(r, 30, float(np.var([sharpe(c) for c in trials.T], ddof=1)))


def test_near_duplicates_still_form_their_groups():
    _, trials = _three_groups(np.random.default_rng(5), noise=0.001)
    found = effective_trials(trials)
    assert found.n_clusters == 3
    assert all(len(set(g)) == 1 for g in found.labels.reshape(3, 10))


def test_flat_and_short_trials_are_left_out_and_two_trials_are_two_clusters():
    rng = np.random.default_rng(6)
    a, b = rng.normal(0.002, 0.01, 100), rng.normal(0.0, 0.01, 100)
    flat = np.zeros(100)
    found = effective_trials(np.column_stack([a, flat, b]))
    assert found.n_clusters == 2 and list(found.labels) == [1, -1, 2]
    assert found.sharpe_variance == pytest.approx(np.var([sharpe(a), sharpe(b)], ddof=1))
    one = effective_trials(np.column_stack([a, flat]))
    assert one.n_clusters == 1 and one.sharpe_variance == 0.0
    assert effective_trials(np.column_stack([flat, flat])).n_clusters == 0
    with pytest.raises(ValueError, match="T x N"):
        effective_trials(a)


def test_a_cluster_return_weights_members_by_inverse_variance():
    rng = np.random.default_rng(7)
    x, y = rng.normal(0.001, 0.01, (2, 400))
    # two pairs of strongly correlated members with different noise; weights 1/var within each pair
    p1, p2 = x + rng.normal(0, 0.002, 400), 3 * x + rng.normal(0, 0.002, 400)
    q1, q2 = y + rng.normal(0, 0.002, 400), 2 * y + rng.normal(0, 0.002, 400)
    found = effective_trials(np.column_stack([p1, p2, q1, q2]))
    assert found.n_clusters == 2

    def inverse_variance(a, b):
        wa, wb = 1 / np.var(a, ddof=1), 1 / np.var(b, ddof=1)
        return (wa * a + wb * b) / (wa + wb)

    by_hand = [sharpe(inverse_variance(p1, p2)), sharpe(inverse_variance(q1, q2))]
    assert found.sharpe_variance == pytest.approx(np.var(by_hand, ddof=1), rel=1e-9)


def test_a_book_that_never_trades_has_sharpe_zero_and_defined_statistics():
    idle = np.zeros(365)
    assert sharpe(idle, 365) == 0.0
    assert block_bootstrap_sharpe(idle, block_days=5, resamples=200, seed=1) == (0.0, 0.0, 0.0)
    # Sharpe 0 against the trials' expected best SR0, with normal moments: Phi(-SR0 * sqrt(T - 1))
    sr0 = expected_max_sharpe(0.01, 4)
    assert deflated_sharpe_probability(idle, 4, 0.01) == pytest.approx(stats.norm.cdf(-sr0 * math.sqrt(364)))
    assert deflated_sharpe_probability(idle, 1, 0.0) == pytest.approx(0.5)
    # a constant non-zero series stays undefined; a column that never traded ranks as Sharpe 0 in PBO
    assert math.isnan(sharpe(np.full(10, 0.5)))
    rng = np.random.default_rng(3)
    trials = np.column_stack([np.zeros(80), rng.normal(0.001, 0.01, 80), rng.normal(-0.001, 0.01, 80)])
    assert 0.0 <= probability_of_backtest_overfitting(trials, 4) <= 1.0
    assert probability_of_backtest_overfitting(np.zeros((80, 3)), 4) == 1.0  # all tied: the winner is median
    # a resample that lands on idle days only counts as Sharpe 0, not as a missing draw
    mostly_idle = np.zeros(60)
    mostly_idle[:3] = [0.01, -0.004, 0.006]
    point, lo, hi = block_bootstrap_sharpe(mostly_idle, block_days=5, resamples=500, seed=2)
    assert lo <= 0.0 <= hi and math.isfinite(point)
