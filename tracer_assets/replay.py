"""In-memory replay of the signal chain (no Dagster, no lake): provider frames -> features ->
scores -> pressure -> signals -> outcomes. The assets call the same domain functions; this path
exists for walk-forward studies, the effect tests and benchmarks, where a lake round trip per day
would only add I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tracer_assets.evaluation.metrics import wilson_interval
from tracer_assets.evaluation.observations import signal_observations
from tracer_assets.market.price_features import price_features
from tracer_assets.sentiment.pressure import narrative_pressure
from tracer_assets.sentiment.scoring import score_narratives
from tracer_assets.settings import TracerSettings
from tracer_assets.signals import compute_signals
from tracer_assets.universe import Universe


@dataclass(frozen=True)
class Replay:
    bars: pd.DataFrame
    narratives: pd.DataFrame
    scores: pd.DataFrame
    signals: pd.DataFrame
    held_back: pd.DataFrame
    observations: pd.DataFrame
    n_decisions: int


def replay_signals(
    settings: TracerSettings,
    universe: Universe,
    start: pd.Timestamp,
    end: pd.Timestamp,
    bars_provider,
    news_provider,
) -> Replay:
    """Signals for decision times in [start, end) and their outcomes, two-pass calibrated as the asset is."""
    lookback = pd.Timedelta(days=settings.feature_lookback_days)  # features need the full vol window
    horizon = pd.Timedelta(hours=settings.signal_horizon_hours)
    instruments = list(universe.instruments)
    bars = bars_provider.fetch_bars(instruments, start - lookback, end + horizon + pd.Timedelta(days=1))
    news = news_provider.fetch_narratives(instruments, start - lookback, end)
    scores = score_narratives(news, settings, None)
    feats = price_features(bars[bars["ts"] < end], settings.vol_window_hours)
    decisions = feats[(feats["available_ts"] >= start) & (feats["available_ts"] < end)]
    pressure = narrative_pressure(
        scores, decisions.rename(columns={"available_ts": "decision_ts"})[["symbol", "decision_ts"]], settings
    )
    first = compute_signals(feats, pressure, None, None, settings, start=start, end=end)
    outcomes = signal_observations(first.signals, bars)
    final = compute_signals(feats, pressure, None, outcomes, settings, start=start, end=end)
    observations = signal_observations(final.signals, bars)
    return Replay(bars, news, scores, final.signals, final.held_back, observations, final.n_decisions)


def hit_rate_interval(outcomes: pd.Series, level: float = 0.95) -> tuple[float, float, float, int]:
    """Hit rate with its Wilson interval: (rate, low, high, n); (nan, 0, 1, 0) when nothing resolved."""
    n = int(len(outcomes))
    if n == 0:
        return float("nan"), 0.0, 1.0, 0
    low, high = wilson_interval(int(np.sum(outcomes)), n, level)
    return float(np.mean(outcomes)), low, high, n
