"""Seeded percentile-bootstrap confidence intervals (deterministic: same data and seed, same interval)."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np

# Index matrices are drawn in chunks of at most this many cells, so memory stays flat for large samples.
_CHUNK_CELLS = 2_000_000

Seed = int | Sequence[int]


def group_seed(base_seed: int, *key: object) -> list[int]:
    """A seed for one group: the base seed plus a stable hash of the group's key (not Python's hash())."""
    return [int(base_seed), zlib.crc32("|".join(str(k) for k in key).encode())]


def _index_chunks(n: int, n_resamples: int, seed: Seed) -> Iterator[np.ndarray]:
    rng = np.random.default_rng(seed)
    per_chunk = max(1, _CHUNK_CELLS // max(n, 1))
    done = 0
    while done < n_resamples:
        size = min(per_chunk, n_resamples - done)
        yield rng.integers(0, n, size=(size, n))
        done += size


def _percentile_interval(stats: np.ndarray, level: float) -> tuple[float, float]:
    stats = stats[np.isfinite(stats)]
    if stats.size == 0:
        return float("nan"), float("nan")
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(stats, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def bootstrap_distribution(
    *samples: np.ndarray,
    statistic: Callable[..., np.ndarray],
    n_resamples: int,
    seed: Seed,
) -> np.ndarray:
    """``statistic`` over ``n_resamples`` joint resamples (rows drawn with replacement) of ``samples``.

    ``statistic`` receives one (resamples, n) array per sample and returns one value per resample.
    """
    arrays = [np.asarray(s, dtype=float) for s in samples]
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError("bootstrap samples must have equal lengths")
    if n == 0:
        return np.array([], dtype=float)
    parts = [statistic(*(a[idx] for a in arrays)) for idx in _index_chunks(n, n_resamples, seed)]
    return np.concatenate(parts)


def gathered_sums(columns_t: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``values[idx].sum(axis=1)`` for ``values = columns_t.T`` without the 3-D gather: one 2-D
    gather per column, summed left to right (the order the 3-D reduction over a non-contiguous axis
    uses), so the sums are bit-for-bit those of the gather. Returns (resamples, columns).

    The gather is laid out (draws, resamples), C-contiguous, so the reduction over its first axis adds
    whole rows in order: the same left-to-right sums as a running total, without writing one."""
    idx_t = np.ascontiguousarray(idx.T)
    return np.column_stack([col[idx_t].sum(axis=0) for col in columns_t])


def _mean_rows(values: np.ndarray) -> np.ndarray:
    return values.mean(axis=1)


def bootstrap_ci(
    *samples: np.ndarray,
    n_resamples: int = 1000,
    seed: Seed = 0,
    level: float = 0.95,
    statistic: Callable[..., np.ndarray] | None = None,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic`` (default: the mean of the first sample).

    Empty samples give (nan, nan); a single observation gives a zero-width interval.
    """
    if not samples:
        raise ValueError("bootstrap_ci needs at least one sample")
    dist = bootstrap_distribution(
        *samples, statistic=statistic or _mean_rows, n_resamples=n_resamples, seed=seed
    )
    return _percentile_interval(dist, level)


def bootstrap_mean_cis(
    columns: Mapping[str, np.ndarray], n_resamples: int, seed: Seed, level: float = 0.95
) -> dict[str, tuple[float, float]]:
    """Intervals for the means of several per-row values, all from the same resampled rows."""
    names = list(columns)
    matrix = np.column_stack([np.asarray(columns[c], dtype=float) for c in names]) if names else None
    if matrix is None or len(matrix) == 0:
        return {c: (float("nan"), float("nan")) for c in names}
    n = len(matrix)
    columns_t = np.ascontiguousarray(matrix.T)
    means = np.concatenate(
        [gathered_sums(columns_t, idx) / n for idx in _index_chunks(n, n_resamples, seed)]
    )  # (resamples, columns)
    return {c: _percentile_interval(means[:, j], level) for j, c in enumerate(names)}
