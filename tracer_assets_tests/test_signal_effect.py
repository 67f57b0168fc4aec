"""Signals find the sim's planted effect out of sample, and find nothing where none was planted.

The default thresholds were chosen on the sim's first half of 2024; these tests run the daily chain
(``run_chain`` over a ``MemoryStore``: the stages the assets call) over 2025-01-06..2025-05-04 (17 weeks) with the
default settings (MiniLM novelty included), so the period is out of sample for every threshold, and
calibration only ever sees outcomes resolved before each decision day.
"""

from __future__ import annotations

import pandas as pd
import pytest

from tracer_assets.evaluation.metrics import hit_rate_interval
from tracer_assets.pipeline import SIGNAL_STAGES, UPSTREAM_STAGES, MemoryStore, run_chain
from tracer_assets.settings import TracerSettings

FIRST, LAST = "2025-01-06", "2025-05-04"
# the stages a signal's outcome needs; the market snapshot and the digest add nothing to it
STAGES = UPSTREAM_STAGES + SIGNAL_STAGES


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One sentiment cache for both worlds: the sim's stories are the same, only prices react."""
    return tmp_path_factory.mktemp("effect_cache")


def _signal_outcomes(effect: float, cache) -> pd.Series:
    settings = TracerSettings(sim_effect_strength=effect, lake_root=str(cache / "unused_lake"))
    result = run_chain(MemoryStore(), settings, FIRST, LAST, stages=STAGES, cache_root=cache)
    obs = result.eval_observations
    return obs.loc[obs["kind"] == "signal", "outcome"].astype(float)


def test_planted_effect_is_found_out_of_sample(cache):
    rate, low, high, n = hit_rate_interval(_signal_outcomes(1.0, cache))
    # the sim's headlines no longer use the lexicon's phrases, so it reads about a third of the directional
    # news (README, Honest accuracy) and fires fewer signals than before
    assert n >= 60, f"too few resolved signals ({n}) to judge"
    # one seed's ~90 signals cannot exclude a coin flip any more (54.7% [44.2%, 64.7%] on seed 7): the
    # significance comes from pooling seeds in benchmarks/evidence.py (60.6% [55.9%, 65.1%] over 429)
    assert rate > 0.5 and high > 0.55, f"hit rate {rate:.3f} [{low:.3f}, {high:.3f}] over {n} signals"


def test_no_effect_gives_a_coin_flip(cache):
    rate, low, high, n = hit_rate_interval(_signal_outcomes(0.0, cache))
    assert n >= 60
    assert low <= 0.5 <= high, f"hit rate {rate:.3f} [{low:.3f}, {high:.3f}] over {n} signals"
