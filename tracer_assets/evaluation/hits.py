"""What a hit is. ``hit_rate`` is the direction hit rate: for a signal, its direction was right (the
predicted event happened, whatever probability calibration gave it); for a probability forecast of a
Yes/No question, the side the probability leans to (p >= 0.5 means Yes) happened. ``prob_hit_rate`` is
the older "p >= 0.5 agreed with the outcome" for every kind, which for a signal calibrated below 0.5
counts a right direction as a miss."""

from __future__ import annotations

import numpy as np

DIRECTIONAL_KINDS = ("signal",)


def prob_hits(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """1.0 where (p >= 0.5) agrees with the outcome, else 0.0."""
    return ((np.asarray(p, dtype=float) >= 0.5) == (np.asarray(y, dtype=float) == 1)).astype(float)


def direction_hits(kind: np.ndarray | str, p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """1.0 where the prediction's direction was right (module docstring), else 0.0."""
    y = np.asarray(y, dtype=float)
    directional = np.isin(np.broadcast_to(np.asarray(kind, dtype=object), y.shape), DIRECTIONAL_KINDS)
    return np.where(directional, (y == 1).astype(float), prob_hits(p, y))
