"""Sizing: target risk / horizon volatility x strength, floor, cap, per-class cap, words."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tracer_assets.signals.sizing import position_sizes, size_bucket
from tracer_assets_tests.conftest import settings_factory

T = pd.Timestamp("2024-03-05 10:00", tz="UTC")


settings = settings_factory(
    signal_horizon_hours=16,
    sizing_target_risk=0.004,
    sizing_floor=0.01,
    sizing_cap=0.10,
    sizing_class_cap=1.0,
)


def frame(vols, strengths, classes=None, times=None):
    n = len(vols)
    return pd.DataFrame(
        {
            "realized_vol": vols,
            "strength": strengths,
            "asset_class": classes or ["crypto"] * n,
            "decision_ts": times or [T] * n,
        }
    )


def test_size_follows_the_documented_formula_between_floor_and_cap():
    s = settings()
    out = position_sizes(frame([0.005], [0.5]), s.signals)
    expected = 0.004 / (0.005 * np.sqrt(16)) * 0.5  # 0.1 * 0.5 = 0.05
    assert out["size"].iloc[0] == pytest.approx(expected)
    assert out["size_raw"].iloc[0] == pytest.approx(expected)


def test_size_is_clipped_at_the_cap():
    out = position_sizes(frame([0.001], [0.9]), settings().signals)
    assert out["size_raw"].iloc[0] > 0.10
    assert out["size"].iloc[0] == pytest.approx(0.10)


def test_size_below_the_floor_is_zero():
    out = position_sizes(frame([0.05], [0.3]), settings().signals)  # 0.004 / 0.2 * 0.3 = 0.006 < 0.01
    assert 0 < out["size_raw"].iloc[0] < 0.01
    assert out["size"].iloc[0] == 0.0


def test_missing_or_zero_volatility_sizes_to_zero():
    out = position_sizes(frame([np.nan, 0.0], [0.5, 0.5]), settings().signals)
    assert out["size"].tolist() == [0.0, 0.0]


def test_asset_class_cap_scales_one_class_at_one_time_only():
    times = [T, T, T, T + pd.Timedelta(hours=1)]
    f = frame([0.001] * 4, [0.9] * 4, ["crypto", "crypto", "stock", "crypto"], times)
    out = position_sizes(f, settings(sizing_class_cap=0.15).signals)
    assert out["size"].tolist() == pytest.approx([0.075, 0.075, 0.10, 0.10])
    # scaling that pushes a size under the floor zeroes it instead of leaving dust
    out = position_sizes(f, settings(sizing_class_cap=0.015, sizing_floor=0.01).signals)
    assert out["size"].tolist()[:2] == [0.0, 0.0]


def test_size_buckets_in_words():
    s = settings(sizing_cap=0.09, sizing_bucket_edges=[1 / 3, 2 / 3])
    sizes = pd.Series([0.0, 0.01, 0.04, 0.09])
    assert size_bucket(sizes, s.signals).tolist() == ["none", "small", "medium", "large"]
    with pytest.raises(ValueError, match="increasing"):
        size_bucket(sizes, settings(sizing_bucket_edges=[0.7, 0.3]).signals)
