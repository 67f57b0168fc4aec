"""The calibration map replaces the prior only when it beats it on earlier, held-out outcomes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tracer_assets.signals.calibration import PRIOR_KEPT, internal_probabilities, prepare_outcomes
from tracer_assets_tests.conftest import settings_factory

DAY = pd.Timestamp("2024-06-10", tz="UTC")


_settings = settings_factory(
    signal_prior_prob=0.5,
    signal_prob_slope=0.0,
    calibration_min_outcomes=40,
    calibration_prior_weight=0.0,
    calibration_prob_clip=0.01,
)


def _outcomes(n: int, informative: bool, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    strength = rng.uniform(0, 1, n)
    p = 0.1 + 0.8 * strength if informative else np.full(n, 0.5)
    return pd.DataFrame(
        {
            "resolved_ts": DAY - pd.to_timedelta(np.sort(rng.uniform(1, 400, n))[::-1], unit="h"),
            "strength": strength,
            "outcome": (rng.uniform(0, 1, n) < p).astype(int),
        }
    )


def _decisions(strengths) -> pd.DataFrame:
    return pd.DataFrame(
        {"decision_ts": [DAY + pd.Timedelta(hours=9)] * len(strengths), "strength": strengths}
    )


def test_a_map_fitted_on_noise_loses_to_the_prior_and_is_not_used():
    s = _settings()
    probs, infos = internal_probabilities(
        _decisions([0.1, 0.5, 0.9]), prepare_outcomes(_outcomes(80, informative=False)), s.signals
    )
    info = infos.iloc[0]
    assert info.method == PRIOR_KEPT
    assert info.held_out_brier_map > info.held_out_brier_prior
    assert probs.tolist() == pytest.approx([0.5, 0.5, 0.5])


def test_a_map_that_beats_the_prior_on_held_out_outcomes_is_used():
    s = _settings()
    probs, infos = internal_probabilities(
        _decisions([0.05, 0.95]), prepare_outcomes(_outcomes(400, informative=True)), s.signals
    )
    info = infos.iloc[0]
    assert info.method == "isotonic"
    assert info.held_out_brier_map < info.held_out_brier_prior
    assert probs.iloc[0] < 0.3 and probs.iloc[1] > 0.7
