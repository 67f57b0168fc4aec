"""A Poisson bootstrap whose weights are seeded per observation (or per block), so intervals can be
carried forward: each new row adds its own weighted values to running sums.

Resample ``b`` gives row ``i`` the weight ``w_ib ~ Poisson(1)``, drawn from a counter-based hash of
(seed, the row's key, b): a row's weights depend on nothing but its key, whatever else is in the sample
and whenever it arrives. The resampled mean of a value is ``sum_i w_ib x_i / sum_i w_ib`` (resamples
whose weights are all zero are dropped). For a block bootstrap every row of a block takes the block's
weight. This is the same law as the multinomial (n-out-of-n) bootstrap to first order; the draws differ.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pandas as pd
from scipy.stats import poisson

from tracer_assets.evaluation.bootstrap import _percentile_interval

# Poisson(1) by inversion of a 64-bit uniform u = bits / 2^64: w = #{k : cdf(k) <= u}, compared as
# integers (bits >= ceil(cdf(k) 2^64)); beyond k = 18 the CDF is 1 in double precision.
_THRESHOLDS = np.array(
    [math.ceil(Fraction(float(c)) * 2**64) for c in poisson.cdf(np.arange(40), 1.0) if c < 1.0],
    dtype=np.uint64,
)
_COMMON = 6  # weights above 6 are rare (1 in 12,000): looked up only where a draw reaches them
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_ROW_TAG, _BLOCK_TAG = np.uint64(0x524F57), np.uint64(0x424C4B)
# The columns naming an observation (its values are not part of its identity).
ROW_KEY_COLUMNS = ("kind", "predictor", "observation_id", "question_id", "lead_label", "resolved_ts")


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finalizer: a bijection of uint64 that scatters every input bit (wrapping arithmetic)."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def row_keys(frame: pd.DataFrame) -> np.ndarray:
    """One uint64 per observation from ``ROW_KEY_COLUMNS`` (pandas' stable hash, not Python's hash())."""
    hashed = pd.util.hash_pandas_object(frame[list(ROW_KEY_COLUMNS)], index=False).to_numpy(np.uint64)
    return hashed ^ _ROW_TAG


def block_keys(days: pd.Series, block_days: int) -> np.ndarray:
    """Block of each row: ``block_days``-day stretches counted from 1970-01-01, so a block is the same
    block whatever else the sample holds."""
    day = pd.to_datetime(days, utc=True).dt.floor("D")
    number = ((day - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(days=1)).fillna(0).to_numpy(dtype="int64")
    return (number // int(block_days)).astype(np.uint64) ^ _BLOCK_TAG


def poisson_weights(keys: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    """(len(keys), n_resamples) Poisson(1) weights as floats; equal keys get equal weights."""
    seed_mix = _mix(np.asarray([int(seed) % 2**64], dtype=np.uint64))
    stream = _mix(np.asarray(keys, dtype=np.uint64) ^ seed_mix)
    counter = np.arange(1, n_resamples + 1, dtype=np.uint64) * _GOLDEN
    bits = _mix(stream[:, None] + counter[None, :])
    weights = np.zeros(bits.shape, dtype=np.uint8)
    for threshold in _THRESHOLDS[:_COMMON]:
        weights += bits >= threshold
    rare = bits >= _THRESHOLDS[_COMMON]
    weights[rare] = np.searchsorted(_THRESHOLDS, bits[rare], side="right")
    return weights.astype(float)


def weighted_terms(weights: np.ndarray, values: np.ndarray) -> np.ndarray:
    """(1 + columns, rows, resamples): the weights, then the weights times each column of ``values``."""
    terms = np.empty((1 + values.shape[1], *weights.shape))
    terms[0] = weights
    for j in range(values.shape[1]):
        np.multiply(weights, values[:, [j]], out=terms[1 + j])
    return terms


def sum_terms(terms: np.ndarray, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
    """(resamples, 1 + columns): ``weighted_terms`` summed over ``rows``: each resample's total weight,
    then its weighted sum of each column. Added row after row (numpy's reduction over a middle axis),
    never through BLAS, so the same rows give the same bits whatever the machine's thread count."""
    return terms[:, rows, :].sum(axis=1).T


def weighted_sums(weights: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``sum_terms`` of all rows of ``weighted_terms(weights, values)``."""
    return sum_terms(weighted_terms(weights, values))


def mean_intervals(sums: np.ndarray, level: float) -> list[tuple[float, float]]:
    """Percentile interval of each column's resampled mean, from ``weighted_sums`` totals."""
    with np.errstate(divide="ignore", invalid="ignore"):
        means = sums[:, 1:] / sums[:, [0]]
    return [_percentile_interval(means[:, j], level) for j in range(means.shape[1])]


def ratio_skill_interval(sums: np.ndarray, level: float) -> tuple[float, float]:
    """Interval of ``1 - sum(w a) / sum(w b)`` from ``weighted_sums`` totals of the columns (a, b)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        skill = np.where(sums[:, 2] > 0, 1.0 - sums[:, 1] / sums[:, 2], np.nan)
    return _percentile_interval(skill, level)
