"""Brier score and log-loss of 0/1 outcomes, computed as scikit-learn computes them, float for float.

``sklearn.metrics.brier_score_loss`` and ``log_loss`` check their inputs at length (target type, label
binarizing, parameter validation) on every call, which was most of a weekly metrics table's time over
hundreds of small cohorts. Here: the same arithmetic on the two-column form scikit-learn builds
(``[1 - y, y]`` against ``[1 - p, p]``), in the same order, so the results are the same floats
(tracer_assets_tests/test_evaluation_losses.py holds them to scikit-learn's on many inputs).
"""

from __future__ import annotations

import numpy as np

_EPS = np.finfo(np.float64).eps  # log_loss clips both columns to [eps, 1 - eps]


def _checked(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    if y.shape != p.shape or y.ndim != 1 or len(y) == 0:
        raise ValueError(
            f"outcomes and probabilities must be non-empty 1-D of one length: {y.shape}, {p.shape}"
        )
    if not np.isin(y, (0, 1)).all():
        raise ValueError("outcomes must be 0 or 1")
    if not np.isfinite(p).all() or p.min() < 0 or p.max() > 1:
        raise ValueError("probabilities must be finite and in [0, 1]")
    return y, p


def brier_loss(y: np.ndarray, p: np.ndarray) -> float:
    """``brier_score_loss(y, p, labels=[0, 1])``: half the mean squared error over both columns."""
    y, p = _checked(y, p)
    t = y.astype(float)
    per_row = ((1 - t) - (1 - p)) ** 2 + (t - p) ** 2
    return float(np.mean(per_row) * 0.5)


def binary_log_loss(y: np.ndarray, p: np.ndarray) -> float:
    """``log_loss(y, p, labels=[0, 1])``: mean of -log of the probability given to what happened."""
    y, p = _checked(y, p)
    with np.errstate(divide="ignore"):
        given = np.where(y == 1, np.log(np.clip(p, _EPS, 1 - _EPS)), np.log(np.clip(1 - p, _EPS, 1 - _EPS)))
    return float(np.mean(-given))
