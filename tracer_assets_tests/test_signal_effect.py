"""Signals find the sim's planted effect out of sample, and find nothing where none was planted.

The default thresholds were chosen on the sim's first half of 2024; these tests replay the first
half of 2025 with the default settings (MiniLM novelty included), so the period is out of sample for
every threshold, and calibration only ever sees outcomes resolved before each decision day.
"""

from __future__ import annotations

import pandas as pd

from tracer_assets.providers.sim import SimWorld
from tracer_assets.replay import hit_rate_interval, replay_signals
from tracer_assets.settings import TracerSettings
from tracer_assets.universe import load_universe

START, END = pd.Timestamp("2025-01-06", tz="UTC"), pd.Timestamp("2025-07-07", tz="UTC")


def _replay(effect: float, tmp_path):
    settings = TracerSettings(sim_effect_strength=effect, lake_root=str(tmp_path / "lake"))
    universe = load_universe(settings.universe)
    world = SimWorld(settings, universe)
    return replay_signals(settings, universe, START, END, world, world)


def test_planted_effect_is_found_out_of_sample(tmp_path):
    r = _replay(1.0, tmp_path)
    rate, low, high, n = hit_rate_interval(r.observations["outcome"])
    assert n >= 200, f"too few resolved signals ({n}) to judge"
    assert low > 0.5, f"hit rate {rate:.3f} [{low:.3f}, {high:.3f}] over {n} signals"


def test_no_effect_gives_a_coin_flip(tmp_path):
    r = _replay(0.0, tmp_path)
    rate, low, high, n = hit_rate_interval(r.observations["outcome"])
    assert n >= 200
    assert low <= 0.5 <= high, f"hit rate {rate:.3f} [{low:.3f}, {high:.3f}] over {n} signals"
