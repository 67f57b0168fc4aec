"""The leak check rebuilds from raw inputs truncated at sampled decision times: it passes on the real
pipeline and catches a planted look-ahead (a centred rolling window in the price features)."""

from __future__ import annotations

import pandas as pd
import pytest

import tracer_assets.pipeline.market as market_stage
from tracer_assets.pipeline import SIGNAL_STAGES, UPSTREAM_STAGES, MemoryStore, run_chain
from tracer_assets.research.leak_check import leak_check, sample_decision_times
from tracer_assets.settings import EvidenceSettings, TracerSettings
from tracer_assets.universe import load_universe

FIRST, LAST = "2024-03-04", "2024-03-12"
STAGES = UPSTREAM_STAGES + SIGNAL_STAGES


@pytest.fixture
def settings(tracer_env) -> TracerSettings:
    return TracerSettings(novelty_model="hashing", evidence=EvidenceSettings(leak_check_history_days=3))


def _replay(settings: TracerSettings) -> MemoryStore:
    store = MemoryStore()
    run_chain(store, settings, FIRST, LAST, universe=load_universe(settings.market.universe), stages=STAGES)
    return store


def _times(store: MemoryStore) -> list[pd.Timestamp]:
    return sample_decision_times(store, n=2, seed=3, last_days=3)


def test_the_real_pipeline_passes(settings):
    store = _replay(settings)
    times = _times(store)
    assert len(times) == 2
    mismatches = leak_check(store, settings, load_universe(settings.market.universe), times)
    assert mismatches.empty, mismatches.head(10).to_string()


def test_a_centred_rolling_window_is_caught(settings, monkeypatch):
    honest = market_stage.compute_price_features

    def leaky(bars: pd.DataFrame, vol_window: int) -> pd.DataFrame:
        feats = honest(bars, vol_window)
        if len(feats):  # volatility from a window centred on each bar: it sees the next hours
            feats["realized_vol"] = feats.groupby("symbol")["ret_1h"].transform(
                lambda r: r.rolling(vol_window, center=True, min_periods=2).std()
            )
        return feats

    monkeypatch.setattr(market_stage, "compute_price_features", leaky)
    store = _replay(settings)
    mismatches = leak_check(store, settings, load_universe(settings.market.universe), _times(store))
    assert not mismatches.empty
    assert "realized_vol" in set(mismatches.loc[mismatches["table"] == "price_features", "column"])


def test_the_dagster_check_passes_after_a_replay_range(tmp_path):
    import dagster as dg

    from tracer_assets.definitions import ALL_ASSETS, build_definitions
    from tracer_assets.defs.research.assets import leak_check_samples, no_look_ahead_leak
    from tracer_assets.demo import QUIET_RUN_CONFIG
    from tracer_assets_tests.conftest import isolated_session
    from tracer_assets_tests.pipeline_util import materialize_days

    with isolated_session(
        tmp_path,
        TRACER_NOVELTY_MODEL="hashing",
        TRACER_LEAK_CHECK_SAMPLES="1",
        TRACER_LEAK_CHECK_HISTORY_DAYS="0",
    ):
        defs = build_definitions()
        kw = {"instance": dg.DagsterInstance.ephemeral(), "resources": {"tracer": defs.resources["tracer"]}}
        materialize_days(STAGES, FIRST, LAST, instance=kw["instance"])
        result = dg.materialize(
            [*ALL_ASSETS, no_look_ahead_leak],
            selection=[leak_check_samples],
            run_config=QUIET_RUN_CONFIG,
            **kw,
        )
        evaluations = result.get_asset_check_evaluations()
        assert [e.check_name for e in evaluations] == ["no_look_ahead_leak"]
        assert evaluations[0].passed, evaluations[0].metadata
