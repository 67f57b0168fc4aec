"""Polymarket-style binary questions on the sim's crypto prices.

Each (pair, day) opens ``per_day`` questions "Will BTC/USD close above $65,000 on 2024-03-08 (UTC
daily close)?" with a strike near the price at creation, rounded to a round number. "Close on D" is
the latent price at 00:00 UTC of D+1 (the close of D's 23:00 hourly bar), which is also ``end_ts``.
A snapshot prices every open question at a fair lognormal probability plus noise in logit space.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from tracer_assets.lake import new_id
from tracer_assets.providers.sim.streams import (
    DAY_SECONDS,
    Stream,
    day_start_seconds,
    seconds_to_utc,
    stream_rng,
)

# spread of strikes around the creation price, in sd of the log price over the question's life
STRIKE_SPREAD = 0.6
BASE_VOLUME_USD = 20_000.0
BASE_LIQUIDITY_USD = 8_000.0
SECONDS_PER_YEAR = 365.0 * DAY_SECONDS


@dataclass(frozen=True)
class DayMarkets:
    """The questions one pair opens on one UTC day."""

    symbol: str
    market_id: list[str]
    question: list[str]
    created_s: np.ndarray  # int64 seconds since the Unix epoch
    end_s: np.ndarray  # int64, 00:00 UTC after the question's close day
    strike: np.ndarray
    volume_scale: np.ndarray
    liquidity_scale: np.ndarray


def round_strike(price: float) -> tuple[float, int]:
    """A round strike near ``price`` (two significant digits) and the decimals to print it with."""
    exponent = math.floor(math.log10(price)) - 1
    step = 10.0**exponent
    decimals = max(0, -exponent)
    strike = round(max(round(price / step), 1) * step, decimals)
    return strike, decimals


def draw_day_markets(
    seed: int,
    symbol: str,
    vol_annual: float,
    ordinal: int,
    per_day: int,
    max_days: int,
    log_price_at: Callable[[np.ndarray], np.ndarray],
) -> DayMarkets:
    """Draw the questions ``symbol`` opens on day ``ordinal``; strikes read the sim price at creation."""
    rng = stream_rng(seed, symbol, ordinal, Stream.MARKETS)
    minutes = np.sort(rng.integers(0, 24 * 60, size=per_day))
    horizon_days = rng.integers(1, max_days + 1, size=per_day)
    offsets = rng.standard_normal(per_day)
    volume_scale = rng.lognormal(0.0, 0.8, size=per_day)
    liquidity_scale = rng.lognormal(0.0, 0.6, size=per_day)

    created_s = day_start_seconds(ordinal) + minutes.astype("int64") * 60
    end_ordinal = ordinal + horizon_days
    end_s = day_start_seconds(end_ordinal + 1).astype("int64")
    spot = np.exp(log_price_at(created_s))
    years = (end_s - created_s) / SECONDS_PER_YEAR
    raw = spot * np.exp(STRIKE_SPREAD * vol_annual * np.sqrt(years) * offsets)

    ids, questions, strikes = [], [], []
    for j in range(per_day):
        strike, decimals = round_strike(float(raw[j]))
        close_day = date.fromordinal(int(end_ordinal[j])).isoformat()
        ids.append(new_id("sim-market", seed, symbol, ordinal, j))
        questions.append(
            f"Will {symbol} close above ${strike:,.{decimals}f} on {close_day} (UTC daily close)?"
        )
        strikes.append(strike)
    return DayMarkets(
        symbol=symbol,
        market_id=ids,
        question=questions,
        created_s=created_s,
        end_s=end_s,
        strike=np.asarray(strikes, dtype="float64"),
        volume_scale=volume_scale,
        liquidity_scale=liquidity_scale,
    )


def fair_yes_prob(
    log_spot: np.ndarray, strike: np.ndarray, years: np.ndarray, vol_annual: float
) -> np.ndarray:
    """P(price at end > strike) for a driftless lognormal price: N(d2)."""
    sd = vol_annual * np.sqrt(np.maximum(years, 1e-12))
    d2 = (log_spot - np.log(strike) - 0.5 * sd * sd) / sd
    return 0.5 * np.array([math.erfc(-x / math.sqrt(2.0)) for x in d2], dtype="float64")


def quote(
    seed: int, market: DayMarkets, j: int, as_of_s: int, fair: float, noise_sd: float
) -> tuple[float, float, float, float, float]:
    """(yes_price, best_bid, best_ask, volume, liquidity) of one open question at ``as_of_s``."""
    rng = stream_rng(seed, market.market_id[j], as_of_s // 60, Stream.MARKET_QUOTES)
    noise, spread_u, vol_noise = rng.standard_normal(), rng.random(), rng.lognormal(0.0, 0.3)
    p = min(max(fair, 1e-6), 1.0 - 1e-6)
    yes = 1.0 / (1.0 + math.exp(-(math.log(p / (1.0 - p)) + noise_sd * noise)))
    yes = round(min(max(yes, 0.01), 0.99), 3)
    half_spread = 0.005 + 0.015 * spread_u
    bid = round(max(yes - half_spread, 0.001), 3)
    ask = round(min(yes + half_spread, 0.999), 3)
    age_h = max(as_of_s - int(market.created_s[j]), 0) / 3600.0
    volume = BASE_VOLUME_USD * float(market.volume_scale[j]) * (1.0 + age_h / 6.0) * vol_noise
    liquidity = BASE_LIQUIDITY_USD * float(market.liquidity_scale[j])
    return yes, bid, ask, round(volume, 2), round(liquidity, 2)


SNAPSHOT_COLUMNS = [
    "market_id", "question", "symbol", "yes_price", "end_ts", "closed", "resolved_outcome",
    "event_ts", "available_ts", "strike", "created_ts", "outcome_type", "neg_risk", "volume",
    "liquidity", "best_bid", "best_ask", "source",
]  # fmt: skip


def snapshot_frame(rows: list[dict], as_of: pd.Timestamp, source: str) -> pd.DataFrame:
    """The typed ``polymarket_markets`` frame of a snapshot; ``end_ts``/``created_ts`` come as epoch seconds."""
    df = pd.DataFrame(rows, columns=[c for c in SNAPSHOT_COLUMNS if c not in ("event_ts", "available_ts")])
    for col in ("end_ts", "created_ts"):
        df[col] = seconds_to_utc(df[col].to_numpy(dtype="int64"))
    stamp = seconds_to_utc(np.full(len(df), int(as_of.value // 1_000_000_000), dtype="int64"))
    df["event_ts"] = stamp
    df["available_ts"] = stamp
    df["outcome_type"] = "binary"
    df["neg_risk"] = False
    df["source"] = source
    for col in ("yes_price", "resolved_outcome", "strike", "volume", "liquidity", "best_bid", "best_ask"):
        df[col] = df[col].astype("float64")
    for col in ("closed", "neg_risk"):
        df[col] = df[col].astype(bool)
    for col in ("market_id", "question", "symbol", "outcome_type", "source"):
        df[col] = df[col].astype("str")
    return df[SNAPSHOT_COLUMNS]
