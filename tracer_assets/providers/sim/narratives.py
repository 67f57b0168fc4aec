"""Narrative events of the sim world and the planted price effect they carry.

Each (symbol, day) draws a Poisson number of stories at random seconds of the day, each with a
hidden polarity, an effect magnitude, an ingest delay and whether its headline is hard to read.
Some stories are follow-ups of an earlier same-day story (same polarity, much smaller effect), so
novelty carries information. The effect kernel ``g`` is 0 before the lag, ramps linearly to 1, then
decays exponentially and reaches exactly 0 after ``KERNEL_CUTOFF`` decay constants, so a day only
needs the narratives of a bounded number of earlier days.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tracer_assets.providers.sim.streams import DAY_SECONDS, Stream, day_start_seconds, stream_rng

# Decay constants after which the effect kernel is cut to exactly 0.
KERNEL_CUTOFF = 5.0
_CUT = math.exp(-KERNEL_CUTOFF)
# A faster planted effect than the defaults (settings overrides): the drift starts 30 min after a story,
# builds over 2 h and fades over 10 days, so a story read an hour late has lost most of its edge. The
# evidence benchmark's --fast-effect world and the placebo test use it (README, Honest accuracy).
FAST_EFFECT_TIMING = {
    "sim_effect_lag_hours": 0.5,
    "sim_effect_ramp_hours": 2.0,
    "sim_effect_decay_hours": 240.0,
}


@dataclass(frozen=True)
class NarrativeParams:
    """How narratives are drawn and how they move prices (all from settings)."""

    per_day: float
    neutral_share: float
    hard_share: float
    follow_up_share: float
    follow_up_effect: float
    magnitude_sigma: float
    ingest_delay_min_s: int
    ingest_delay_max_s: int
    lag_h: float
    ramp_h: float
    decay_h: float

    @property
    def reach_hours(self) -> float:
        """How long after publication a story can still move price or volume."""
        return self.lag_h + max(self.ramp_h + KERNEL_CUTOFF * self.decay_h, KERNEL_CUTOFF * self.ramp_h)

    @property
    def days_back(self) -> int:
        """Earlier days whose narratives can reach into a given day."""
        return int(math.ceil(self.reach_hours / 24.0)) + 1


@dataclass(frozen=True)
class DayNarratives:
    """The numeric draw of one (symbol, day); headlines are rendered from it on demand."""

    ordinal: int
    event_s: np.ndarray  # int64 seconds since the Unix epoch, sorted
    delay_s: np.ndarray  # int64 ingest delay
    polarity: np.ndarray  # int64 in {-1, 0, 1}
    magnitude: np.ndarray  # float64 >= 0, effect in units of (k x hourly vol); 0 when neutral
    hard: np.ndarray  # bool: headline wording is hard for a lexicon
    parent: np.ndarray  # int64 index of the same-day story this follows up, -1 if original

    def __len__(self) -> int:
        return len(self.event_s)


def draw_day_narratives(seed: int, symbol: str, ordinal: int, p: NarrativeParams) -> DayNarratives:
    """Draw one symbol's narratives of one UTC day (always the same draws for the same inputs)."""
    rng = stream_rng(seed, symbol, ordinal, Stream.NARRATIVES)
    n = int(rng.poisson(p.per_day))
    # fixed draw order: every array is drawn whatever n is, so the stream never shifts
    seconds = np.sort(rng.integers(0, DAY_SECONDS, size=n))
    polar_share = (1.0 - p.neutral_share) / 2.0
    polarity = rng.choice(np.array([-1, 0, 1]), size=n, p=[polar_share, p.neutral_share, polar_share])
    sig = p.magnitude_sigma
    magnitude = rng.lognormal(-0.5 * sig * sig, sig, size=n)
    delay = rng.integers(p.ingest_delay_min_s, p.ingest_delay_max_s + 1, size=n)
    hard = rng.random(size=n) < p.hard_share
    is_follow = rng.random(size=n) < p.follow_up_share
    pick = rng.random(size=n)

    parent = np.full(n, -1, dtype="int64")
    for i in range(1, n):
        if is_follow[i]:
            j = int(pick[i] * i)
            j = j if parent[j] < 0 else int(parent[j])  # follow the original story, not a follow-up
            parent[i] = j
            polarity[i] = polarity[j]
            hard[i] = hard[j]
            magnitude[i] = magnitude[j] * p.follow_up_effect
    magnitude = np.where(polarity == 0, 0.0, magnitude)
    return DayNarratives(
        ordinal=ordinal,
        event_s=day_start_seconds(ordinal) + seconds.astype("int64"),
        delay_s=delay.astype("int64"),
        polarity=polarity.astype("int64"),
        magnitude=magnitude.astype("float64"),
        hard=hard,
        parent=parent,
    )


def effect_kernel(tau_h: np.ndarray, p: NarrativeParams) -> np.ndarray:
    """g(tau): 0 before the lag, linear ramp to 1, exponential decay, exactly 0 after the cutoff."""
    x = tau_h - p.lag_h
    ramp = np.clip(x / p.ramp_h, 0.0, 1.0)
    after = np.maximum(x - p.ramp_h, 0.0)
    # shifted so the tail reaches 0 continuously at the cutoff instead of jumping
    tail = np.maximum((np.exp(-after / p.decay_h) - _CUT) / (1.0 - _CUT), 0.0)
    return np.where(x <= 0.0, 0.0, np.where(x < p.ramp_h, ramp, tail))


def participation_kernel(tau_h: np.ndarray, p: NarrativeParams) -> np.ndarray:
    """Extra trading after a story: jumps at the lag, fades with the ramp time, 0 after the cutoff."""
    x = tau_h - p.lag_h
    fade = np.exp(-np.maximum(x, 0.0) / p.ramp_h)
    return np.where((x < 0.0) | (x > KERNEL_CUTOFF * p.ramp_h), 0.0, fade)
