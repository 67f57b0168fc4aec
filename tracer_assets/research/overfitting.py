"""Overfitting statistics for a selection among many configurations.

- ``deflated_sharpe_probability``: the Deflated Sharpe Ratio of Bailey and Lopez de Prado (2014), the
  probability that the selected strategy's true Sharpe exceeds the best Sharpe expected from
  ``n_trials`` skill-less trials, correcting for sample length, skewness and kurtosis:

      SR0 = sqrt(V[SR_n]) * ((1 - g) * Z^-1(1 - 1/N) + g * Z^-1(1 - 1/(N e)))      g = Euler-Mascheroni
      DSR = Z((SR - SR0) * sqrt(T - 1) / sqrt(1 - skew * SR + (kurt - 1) / 4 * SR^2))

  with Sharpe ratios per period (not annualised), T returns and Pearson kurtosis (3 for a normal).
- ``effective_trials``: the trials' return series clustered on correlation distance (Lopez de Prado and
  Lewis 2019, "Detection of false investment strategies using unsupervised learning methods"): grid
  points that differ a little trade nearly the same book, so they are one trial, not many. The number
  of clusters is the DSR's N and the variance of the cluster-level Sharpes (each cluster's returns
  aggregated with inverse-variance weights) its V[SR_n]. Clusters come from average-linkage
  hierarchical clustering on d = sqrt((1 - rho) / 2), cut where the silhouette widths' mean over their
  standard deviation is highest (the quality score of Lopez de Prado's ONC algorithm; ONC's k-means
  restarts are replaced by the deterministic linkage, and its second pass, which re-clusters clusters
  of below-average quality, is not run).
- ``probability_of_backtest_overfitting``: combinatorially symmetric cross-validation (Bailey, Borwein,
  Lopez de Prado and Zhu 2015): split the T x N performance matrix into S row blocks; for every choice
  of S/2 blocks as in-sample, take the best configuration in sample and its relative rank w out of
  sample; PBO is the share of splits with logit(w) <= 0 (the in-sample winner at or below the OOS median).
- ``block_bootstrap_sharpe``: a circular block bootstrap interval for the annualised Sharpe of daily
  returns, so serial dependence inside a block survives resampling.

A book that never trades (every return exactly 0) has Sharpe 0, not an undefined 0/0: it earned
nothing with no risk, so its interval is [0, 0] and its DSR compares that 0 with the trials' expected
best (skew 0 and normal kurtosis, the moments of a degenerate series being undefined).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform
from sklearn.metrics import silhouette_samples

EULER_GAMMA = 0.5772156649015329
IDENTICAL_TOLERANCE = 1e-9  # correlations this close to 1 are the same series up to rounding


def sharpe(returns: np.ndarray, periods_per_year: float = 1.0) -> float:
    """Mean over sample standard deviation (ddof=1), times sqrt(periods_per_year); 0 for a book that
    never traded (every return 0); NaN when undefined (under two returns, or constant non-zero ones)."""
    r = np.asarray(returns, dtype=float)
    r = r[np.isfinite(r)]
    if len(r) < 2:
        return float("nan")
    sd = r.std(ddof=1)
    if sd > 0:
        return float(r.mean() / sd * math.sqrt(periods_per_year))
    return 0.0 if not r.any() else float("nan")


def expected_max_sharpe(sharpe_variance: float, n_trials: int) -> float:
    """SR0: the expected maximum of ``n_trials`` Sharpe estimates with true Sharpe zero."""
    if n_trials < 1:
        raise ValueError("n_trials must be >= 1")
    if n_trials == 1 or sharpe_variance <= 0:
        return 0.0
    z = stats.norm.ppf
    return math.sqrt(sharpe_variance) * (
        (1 - EULER_GAMMA) * z(1 - 1 / n_trials) + EULER_GAMMA * z(1 - 1 / (n_trials * math.e))
    )


def deflated_sharpe_probability(returns: np.ndarray, n_trials: int, trial_sharpe_variance: float) -> float:
    """DSR of the selected strategy's per-period ``returns`` (see the module docstring)."""
    r = np.asarray(returns, dtype=float)
    r = r[np.isfinite(r)]
    t = len(r)
    sr = sharpe(r)
    if t < 3 or not math.isfinite(sr):
        return float("nan")
    if r.any():
        skew = float(stats.skew(r, bias=False))
        kurt = float(stats.kurtosis(r, fisher=False, bias=False))
    else:  # a book that never traded: Sharpe 0, moments of a normal
        skew, kurt = 0.0, 3.0
    sr0 = expected_max_sharpe(trial_sharpe_variance, n_trials)
    denom = 1 - skew * sr + (kurt - 1) / 4 * sr**2
    if denom <= 0:
        return float("nan")
    return float(stats.norm.cdf((sr - sr0) * math.sqrt(t - 1) / math.sqrt(denom)))


@dataclass(frozen=True)
class EffectiveTrials:
    """Clusters of correlated trials: their count (the DSR's N), the variance of the cluster-level
    Sharpes (its V[SR_n]) and each usable trial's cluster label (1..n_clusters, -1 for a trial left out)."""

    n_clusters: int
    sharpe_variance: float
    labels: np.ndarray


def effective_trials(returns: np.ndarray) -> EffectiveTrials:
    """Cluster the columns of a (T periods x N trials) return matrix (see the module docstring).

    A column with fewer than two finite returns or no variance has no correlation and no Sharpe: it
    is left out (label -1). Fewer than three usable trials are each their own cluster (the silhouette
    needs 2 <= k <= N - 1). Rows with a missing return in any usable column are dropped."""
    m = np.asarray(returns, dtype=float)
    if m.ndim != 2:
        raise ValueError("returns must be a T x N matrix")
    labels = np.full(m.shape[1], -1)
    usable = np.array([np.isfinite(c).sum() >= 2 and np.nanstd(c) > 0 for c in m.T], dtype=bool)
    x = m[:, usable]
    x = x[np.isfinite(x).all(axis=1)]
    n = x.shape[1]
    if n == 0:
        return EffectiveTrials(0, 0.0, labels)
    k_labels = np.arange(1, n + 1) if n < 3 or len(x) < 3 else _silhouette_clusters(x)
    labels[usable] = k_labels
    sharpes = np.array([sharpe(_cluster_returns(x[:, k_labels == k])) for k in np.unique(k_labels)])
    sharpes = sharpes[np.isfinite(sharpes)]
    variance = float(np.var(sharpes, ddof=1)) if len(sharpes) > 1 else 0.0
    return EffectiveTrials(len(np.unique(k_labels)), variance, labels)


def _silhouette_clusters(x: np.ndarray) -> np.ndarray:
    """Labels of the average-linkage cut with the best clustering quality: the mean over the standard
    deviation of the trials' silhouette widths (the ONC criterion; ties: fewer clusters). The mean
    width alone is flat across cuts on correlated trials and jumps between a few and a hundred
    clusters from one window to the next; dividing by the spread favours cuts every member fits."""
    rho = np.clip(np.corrcoef(x, rowvar=False), -1.0, 1.0)
    rho[rho > 1.0 - IDENTICAL_TOLERANCE] = 1.0  # float error of identical series would split them
    dist = np.sqrt((1.0 - rho) / 2.0)
    np.fill_diagonal(dist, 0.0)
    dist = (dist + dist.T) / 2
    tree = linkage(squareform(dist, checks=False), method="average")
    best, best_score = np.ones(x.shape[1], dtype=int), -np.inf
    for k in range(2, x.shape[1]):
        labels = fcluster(tree, t=k, criterion="maxclust")
        n_labels = len(np.unique(labels))
        if n_labels < 2 or n_labels >= x.shape[1]:
            continue
        widths = silhouette_samples(dist, labels, metric="precomputed")
        spread = widths.std()
        score = widths.mean() / spread if spread > 0 else (np.inf if widths.mean() > 0 else 0.0)
        if score > best_score:
            best, best_score = labels, score
    return best


def _cluster_returns(x: np.ndarray) -> np.ndarray:
    """One return series for a cluster: its members weighted by inverse variance (the minimum-variance
    weights if the members were uncorrelated; stable when members are near duplicates)."""
    var = x.var(axis=0, ddof=1)
    w = 1.0 / var
    return x @ (w / w.sum())


def probability_of_backtest_overfitting(performance: np.ndarray, n_blocks: int = 8) -> float:
    """PBO by CSCV on a (T periods x N configurations) matrix of per-period returns."""
    m = np.asarray(performance, dtype=float)
    if m.ndim != 2 or m.shape[1] < 2:
        raise ValueError("performance must be a T x N matrix with N >= 2 configurations")
    if n_blocks < 2 or n_blocks % 2:
        raise ValueError("n_blocks must be an even number >= 2")
    if m.shape[0] < n_blocks:
        raise ValueError(f"{m.shape[0]} periods cannot fill {n_blocks} blocks")
    blocks = np.array_split(np.arange(m.shape[0]), n_blocks)
    n = m.shape[1]
    logits = []
    for chosen in itertools.combinations(range(n_blocks), n_blocks // 2):
        is_rows = np.concatenate([blocks[i] for i in chosen])
        oos_rows = np.concatenate([blocks[i] for i in range(n_blocks) if i not in chosen])
        is_perf = _column_sharpe(m[is_rows])
        oos_perf = _column_sharpe(m[oos_rows])
        best = int(np.nanargmax(is_perf))
        # rank 1 = worst ... N = best, ties broken by average
        rank = stats.rankdata(np.nan_to_num(oos_perf, nan=-np.inf))[best]
        w = rank / (n + 1)
        logits.append(math.log(w / (1 - w)))
    return float(np.mean(np.asarray(logits) <= 0))


def _column_sharpe(m: np.ndarray) -> np.ndarray:
    """Per-column Sharpe (per period): 0 where every return is 0, NaN where constant and non-zero
    (as ``sharpe``)."""
    sd = m.std(axis=0, ddof=1)
    flat = np.where((m == 0).all(axis=0), 0.0, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sd > 0, m.mean(axis=0) / sd, flat)


def block_bootstrap_sharpe(
    daily_returns: np.ndarray,
    *,
    block_days: int = 5,
    resamples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
    periods_per_year: float = 365.0,
) -> tuple[float, float, float]:
    """(Sharpe, low, high): annualised Sharpe with a circular block bootstrap percentile interval."""
    r = np.asarray(daily_returns, dtype=float)
    r = r[np.isfinite(r)]
    point = sharpe(r, periods_per_year)
    if len(r) >= 2 and not r.any():
        return 0.0, 0.0, 0.0  # never traded: nothing earned, no risk taken, in every resample
    if len(r) < 2 * block_days or not math.isfinite(point):
        return point, float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    n = len(r)
    n_blocks = math.ceil(n / block_days)
    starts = rng.integers(0, n, size=(resamples, n_blocks))
    idx = (starts[:, :, None] + np.arange(block_days)[None, None, :]).reshape(resamples, -1)[:, :n] % n
    draws = _column_sharpe(r[idx].T) * math.sqrt(periods_per_year)  # a resample of idle days: 0
    alpha = (1 - level) / 2
    low, high = np.nanquantile(draws, [alpha, 1 - alpha])
    return point, float(low), float(high)
