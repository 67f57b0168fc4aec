"""Reference strategies expressed as engine targets (SMA cross, over one pair or a whole grid)."""

from __future__ import annotations

import numba
import numpy as np

# backtesting.py sizes "all in" as 1 - machine epsilon of available cash (whole units)
ALL_IN = 1.0 - np.finfo(float).eps


@numba.njit(cache=True)
def _rolling_mean(values: np.ndarray, n: int) -> np.ndarray:
    # pandas' own algorithm (Kahan-compensated add and remove, same-value and sign guards), so a
    # crossover decided on exact ties agrees with backtesting.py's pandas-computed SMA bit for bit
    out = np.full(len(values), np.nan)
    sum_x = comp_add = comp_remove = 0.0
    nobs = neg_ct = same = 0
    prev = values[0] if len(values) else np.nan
    for i in range(len(values)):
        if i >= n:
            val = values[i - n]
            if val == val:
                nobs -= 1
                y = -val - comp_remove
                t = sum_x + y
                comp_remove = t - sum_x - y
                sum_x = t
                if np.signbit(val):
                    neg_ct -= 1
        val = values[i]
        if val == val:
            nobs += 1
            y = val - comp_add
            t = sum_x + y
            comp_add = t - sum_x - y
            sum_x = t
            if np.signbit(val):
                neg_ct += 1
            same = same + 1 if val == prev else 1
            prev = val
        if nobs >= n and nobs > 0:
            result = sum_x / nobs
            if same >= nobs:
                result = prev
            elif (neg_ct == 0 and result < 0) or (neg_ct == nobs and result > 0):
                result = 0.0
            out[i] = result
    return out


def sma(close: np.ndarray, n: int) -> np.ndarray:
    """Simple moving average, identical to pandas' ``rolling(n).mean()`` (NaN for the first n-1 bars)."""
    return _rolling_mean(np.ascontiguousarray(close, dtype=np.float64), int(n))


def sma_cross_target(fast: np.ndarray, slow: np.ndarray, fraction: float = ALL_IN) -> np.ndarray:
    """Long ``fraction`` on the bar the fast SMA crosses above the slow one, short on the opposite
    cross, NaN (hold) otherwise; a cross needs strict inequalities on both bars (NaN never crosses)."""
    prev_fast, prev_slow = np.roll(fast, 1, axis=0), np.roll(slow, 1, axis=0)
    prev_fast[:1], prev_slow[:1] = np.nan, np.nan
    with np.errstate(invalid="ignore"):
        up = (prev_fast < prev_slow) & (fast > slow)
        down = (prev_slow < prev_fast) & (slow > fast)
    target = np.full(np.shape(fast), np.nan)
    target[up] = fraction
    target[down] = -fraction
    return target


def sma_grid_targets(close: np.ndarray, pairs: list[tuple[int, int]]) -> np.ndarray:
    """(T, len(pairs)) targets of the SMA cross for each (fast, slow) pair, SMAs computed once each."""
    smas = {n: sma(close, n) for n in sorted({n for pair in pairs for n in pair})}
    fast = np.column_stack([smas[f] for f, _ in pairs])
    slow = np.column_stack([smas[s] for _, s in pairs])
    return sma_cross_target(fast, slow)
