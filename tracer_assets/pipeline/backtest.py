"""Backtest stage: the range's signals traded through the backtest engine, beside the baselines."""

from __future__ import annotations

import math

import pandas as pd

from tracer_assets.backtest.baselines import price_only_signals
from tracer_assets.backtest.report import BacktestReport, backtest_range
from tracer_assets.pipeline.signals import prior_outcomes, stored_pressure
from tracer_assets.pipeline.store import Store
from tracer_assets.pipeline.window import DAY
from tracer_assets.settings import TracerSettings
from tracer_assets.signals import SignalInputs


def price_only_inputs(
    store: Store, settings: TracerSettings, start: pd.Timestamp, end: pd.Timestamp
) -> SignalInputs:
    """What the signal chain reads for [start, end): features with lookback, pressure, prior signals and
    outcomes known before the range (as the signals stage's first pass)."""
    last_day = (end - pd.Timedelta(microseconds=1)).floor("D")
    feats = store.read("price_features", start - DAY * settings.signal_lookback_days, last_day)
    pressure = stored_pressure(store, start, end)
    horizon_days = math.ceil(settings.signal_horizon_hours / 24) + 1
    back = max(math.ceil(settings.cooldown_hours / 24 + 1), horizon_days)
    prior = store.read("signals", start - DAY * back, start - DAY)
    return SignalInputs(feats, pressure, prior, prior_outcomes(store, start))


def backtest_report(
    store: Store, settings: TracerSettings, start: pd.Timestamp, end: pd.Timestamp
) -> BacktestReport:
    """Tracer's signals in [start, end) traded with costs, beside buy-and-hold, the random-timing
    placebo and the price-only chain (pressure permuted across decision times)."""
    bars = store.read("bars", start, end - DAY)
    signals = store.read("signals", start, end - DAY)
    shuffled = []
    if len(bars) and len(store.read("price_features", start, end - DAY)):
        shuffled = price_only_signals(price_only_inputs(store, settings, start, end), settings, start, end)
    return backtest_range(bars, signals, settings.backtest, start, end, shuffled)
