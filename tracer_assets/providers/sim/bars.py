"""Sim prices: a latent log-price on a 24/7 half-hour grid, and hourly OHLCV bars sampled from it.

The latent price of a day is (a) a daily anchor from a mean-reverting random walk drawn once per
symbol from ``SIM_FIRST_DAY`` (cached), (b) a Brownian bridge between the day's two anchors drawn
from the (symbol, day) stream, and (c) the planted narrative effect. Crypto bars cover every hour;
stock bars sample the same grid inside exchange sessions only, so news outside the session shows
up as an opening gap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from tracer_assets.providers.sim.narratives import NarrativeParams, effect_kernel, participation_kernel
from tracer_assets.providers.sim.streams import (
    SIM_FIRST_DAY,
    SIM_LAST_DAY,
    Stream,
    day_start_seconds,
    stream_rng,
)
from tracer_assets.universe import Instrument, sessions_on

SLOTS = 48  # half-hour slots per day: stock sessions open and close on half hours
SLOT_SECONDS = 1_800
HOURS_PER_YEAR = 24 * 365
# Calibration of the planted effect: with strength 1.0 a polar story moves the latent log price by
# EFFECT_K hourly vols at its peak. 2.5 puts the rule "trade the story's direction at available
# time, hold 24h" near 0.65 on hourly crypto bars and near 0.52 on stocks (overnight stories are
# mostly priced in the opening gap), about 0.585 overall (measured over 120 days, seeds 1, 2, 7).
EFFECT_K = 2.5
# Extra trading after a story, as a multiple of normal volume at its peak (neutral stories count less).
PARTICIPATION_BOOST = 1.5
NEUTRAL_PARTICIPATION = 0.3
# Vol regime: AR(1) log-vol multiplier (daily persistence, stationary sd) and anchor mean reversion.
REGIME_PERSISTENCE = 0.95
REGIME_SD = 0.25
ANCHOR_REVERSION_PER_DAY = 1.0 / 180.0
# Bar shape: wick size (in half-hour vols) and volume noise.
WICK_SCALE = 0.5
VOLUME_NOISE_SD = 0.35
NOTIONAL_PER_HOUR = {"crypto": 2.0e7, "stock": 5.0e7}


@dataclass(frozen=True)
class AnchorPath:
    """Daily anchors of one symbol's latent log price, at 00:00 UTC of each sim day."""

    first_ordinal: int
    log_anchor: np.ndarray  # len n_days + 1
    daily_vol: np.ndarray  # len n_days, regime-scaled vol of each day


@lru_cache(maxsize=512)
def anchor_path(seed: int, symbol: str, sim_price: float, vol_annual: float) -> AnchorPath:
    """The whole-calendar anchor series of a symbol (drawn once, cached)."""
    if sim_price <= 0 or vol_annual <= 0:
        raise ValueError(f"{symbol}: sim_price and sim_vol_annual must be > 0, got {sim_price}, {vol_annual}")
    first = SIM_FIRST_DAY.toordinal()
    n = SIM_LAST_DAY.toordinal() - first + 1
    rng = stream_rng(seed, symbol, 0, Stream.ANCHORS)
    regime_shocks = rng.standard_normal(n)
    price_shocks = rng.standard_normal(n)

    innov = REGIME_SD * math.sqrt(1.0 - REGIME_PERSISTENCE**2)
    log_regime = np.empty(n)
    x = REGIME_SD * regime_shocks[0]
    for d in range(n):
        if d:
            x = REGIME_PERSISTENCE * x + innov * regime_shocks[d]
        log_regime[d] = x
    # minus sd^2 keeps the mean variance multiplier at 1
    daily_vol = vol_annual / math.sqrt(365.0) * np.exp(log_regime - REGIME_SD**2)

    y = np.empty(n + 1)
    y[0] = 0.0
    steps = daily_vol * price_shocks
    keep = 1.0 - ANCHOR_REVERSION_PER_DAY
    for d in range(n):
        y[d + 1] = keep * y[d] + steps[d]
    return AnchorPath(first_ordinal=first, log_anchor=math.log(sim_price) + y, daily_vol=daily_vol)


@dataclass(frozen=True)
class DayGrid:
    """One symbol's latent world over one UTC day on the half-hour grid."""

    ordinal: int
    log_price: np.ndarray  # 49 points, 00:00 .. 24:00
    effect: np.ndarray  # 49 points, the planted part of log_price
    wick_up: np.ndarray  # 48 slots, >= 0, in log units
    wick_down: np.ndarray  # 48 slots, >= 0
    activity: np.ndarray  # 48 slots, volume multiplier (noise x participation)


def build_day_grid(
    seed: int,
    inst: Instrument,
    ordinal: int,
    story_s: np.ndarray,
    story_signed: np.ndarray,
    story_weight: np.ndarray,
    params: NarrativeParams,
    strength: float,
) -> DayGrid:
    """The latent day of ``inst``; ``story_*`` are the narratives that can reach into it, in time order."""
    path = anchor_path(seed, inst.symbol, float(inst.sim_price), float(inst.sim_vol_annual))
    i = ordinal - path.first_ordinal
    rng = stream_rng(seed, inst.symbol, ordinal, Stream.INTRADAY)
    shocks = rng.standard_normal(SLOTS)
    wick_up = np.abs(rng.standard_normal(SLOTS))
    wick_down = np.abs(rng.standard_normal(SLOTS))
    vol_noise = rng.standard_normal(SLOTS)

    step = path.daily_vol[i] / math.sqrt(SLOTS)
    walk = np.concatenate(([0.0], np.cumsum(shocks) * step))
    w = np.arange(SLOTS + 1) / SLOTS
    # (1 - w) a0 + w a1 hits both anchors exactly, so consecutive days join without a seam
    base = (1.0 - w) * path.log_anchor[i] + w * path.log_anchor[i + 1] + (walk - w * walk[-1])

    start_h = day_start_seconds(ordinal) / 3600.0
    grid_h = start_h + np.arange(SLOTS + 1) * 0.5
    mid_h = start_h + (np.arange(SLOTS) + 0.5) * 0.5
    story_h = story_s / 3600.0
    hourly_vol = inst.sim_vol_annual / math.sqrt(HOURS_PER_YEAR)
    if len(story_h):
        g = effect_kernel(grid_h[:, None] - story_h[None, :], params)
        effect = strength * EFFECT_K * hourly_vol * (g @ story_signed)
        part = participation_kernel(mid_h[:, None] - story_h[None, :], params) @ story_weight
    else:
        effect = np.zeros(SLOTS + 1)
        part = np.zeros(SLOTS)
    activity = np.exp(VOLUME_NOISE_SD * vol_noise - 0.5 * VOLUME_NOISE_SD**2) * (
        1.0 + PARTICIPATION_BOOST * part
    )
    return DayGrid(
        ordinal=ordinal,
        log_price=base + effect,
        effect=effect,
        wick_up=WICK_SCALE * step * wick_up,
        wick_down=WICK_SCALE * step * wick_down,
        activity=activity,
    )


@lru_cache(maxsize=8192)
def session_bounds(ordinal: int, calendar: str) -> np.ndarray | None:
    """Grid indices of a stock day's bar boundaries (open, open+1h, ..., close), or None if closed."""
    day = pd.Timestamp.fromordinal(ordinal)
    session = sessions_on(day, calendar)
    if session is None:
        return None
    day_start = pd.Timestamp(day, tz="UTC")
    k_open, k_close = ((t - day_start) / pd.Timedelta(seconds=SLOT_SECONDS) for t in session)
    if k_open != int(k_open) or k_close != int(k_close) or not 0 <= k_open < k_close <= SLOTS:
        raise ValueError(f"{calendar} session {session} does not fit the sim's half-hour grid")
    bounds = list(range(int(k_open), int(k_close), 2)) + [int(k_close)]
    return np.asarray(bounds, dtype="int64")


CRYPTO_BOUNDS = np.arange(0, SLOTS + 1, 2, dtype="int64")
# crypto trades around the clock, busiest in US hours
CRYPTO_SEASON = 1.0 + 0.35 * np.cos(2.0 * np.pi * ((np.arange(SLOTS) + 0.5) / 2.0 - 15.0) / 24.0)


def _stock_season(bounds: np.ndarray) -> np.ndarray:
    """U-shaped intraday volume over the session (busy open and close), per half-hour slot."""
    season = np.zeros(SLOTS)
    k0, k1 = int(bounds[0]), int(bounds[-1])
    x = (np.arange(k0, k1) + 0.5 - k0) / (k1 - k0)
    season[k0:k1] = 0.7 + 1.2 * (2.0 * x - 1.0) ** 2
    return season


def day_bars(inst: Instrument, grid: DayGrid, calendar: str) -> dict[str, np.ndarray] | None:
    """Hourly OHLCV of one (symbol, day) as arrays (``ts_s`` open, ``end_s`` close), None if no session."""
    if inst.asset_class == "crypto":
        bounds, season = CRYPTO_BOUNDS, CRYPTO_SEASON
    else:
        bounds = session_bounds(grid.ordinal, calendar)
        if bounds is None:
            return None
        season = _stock_season(bounds)
    lp = grid.log_price
    k0, k1 = int(bounds[0]), int(bounds[-1])
    offsets = bounds[:-1] - k0
    slot_high = np.maximum(lp[:-1], lp[1:]) + grid.wick_up
    slot_low = np.minimum(lp[:-1], lp[1:]) - grid.wick_down
    per_slot = NOTIONAL_PER_HOUR[inst.asset_class] / 2.0 / inst.sim_price
    slot_volume = per_slot * season * grid.activity
    volume = np.add.reduceat(slot_volume[k0:k1], offsets)
    if inst.asset_class == "stock":
        volume = np.maximum(np.round(volume), 1.0)  # whole shares
    day0 = day_start_seconds(grid.ordinal)
    return {
        "ts_s": day0 + bounds[:-1] * SLOT_SECONDS,
        "end_s": day0 + bounds[1:] * SLOT_SECONDS,
        "open": np.exp(lp[bounds[:-1]]),
        "high": np.exp(np.maximum.reduceat(slot_high[k0:k1], offsets)),
        "low": np.exp(np.minimum.reduceat(slot_low[k0:k1], offsets)),
        "close": np.exp(lp[bounds[1:]]),
        "volume": volume,
    }
