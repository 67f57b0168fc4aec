"""The Brier score and log-loss give scikit-learn's floats exactly; outcomes other than 0/1 and
probabilities outside [0, 1] are refused (scorable rows never carry them)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import brier_score_loss, log_loss

from tracer_assets.evaluation.losses import binary_log_loss, brier_loss


def cases(seed: int):
    rng = np.random.default_rng(seed)
    for n in (1, 2, 7, 8, 9, 128, 129, 1000, 5003):  # numpy's pairwise sum changes path past 8 and 128
        p = rng.uniform(size=n)
        yield rng.integers(0, 2, n), p
        yield np.zeros(n, dtype=int), p  # one class only
        yield np.ones(n, dtype=int), rng.choice([0.0, 1.0, 0.5, 1e-17, 1 - 1e-17], n)  # at and near the ends
        yield rng.integers(0, 2, n), np.clip(p, 0.01, 0.99)  # as score_arrays clips for the log-loss


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_same_floats_as_scikit_learn(seed):
    for y, p in cases(seed):
        assert brier_loss(y, p) == float(brier_score_loss(y, p, labels=[0, 1])), (y, p)
        assert binary_log_loss(y, p) == float(log_loss(y, p, labels=[0, 1])), (y, p)


@pytest.mark.parametrize(
    ("y", "p"),
    [([0, 2], [0.5, 0.5]), ([0, 1], [0.5, 1.5]), ([0, 1], [-0.1, 0.5]), ([0, 1], [np.nan, 0.5]), ([], [])],
)
def test_bad_input_is_refused(y, p):
    for loss in (brier_loss, binary_log_loss):
        with pytest.raises(ValueError):
            loss(np.array(y), np.array(p))
