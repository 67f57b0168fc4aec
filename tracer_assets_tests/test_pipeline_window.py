"""StampIndex: the rows a window of stamps holds, as a boolean filter finds them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tracer_assets.pipeline.window import StampIndex


def test_positions_equal_a_boolean_filter_in_row_order():
    rng = np.random.default_rng(3)
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    stamps = pd.Series(t0 + pd.to_timedelta(rng.integers(0, 200, 500), unit="h"))
    stamps[rng.choice(500, 20, replace=False)] = pd.NaT
    index = StampIndex(stamps)
    for lo_h, hi_h in [(0, 24), (23, 48), (100, 100), (150, 400), (-10, 5)]:
        lo, hi = t0 + pd.Timedelta(hours=lo_h), t0 + pd.Timedelta(hours=hi_h)
        closed = np.flatnonzero(((stamps >= lo) & (stamps < hi)).to_numpy())
        opened = np.flatnonzero(((stamps > lo) & (stamps < hi)).to_numpy())
        np.testing.assert_array_equal(index.positions(lo, hi), closed)
        np.testing.assert_array_equal(index.positions(lo, hi, lo_inclusive=False), opened)
    assert len(index.positions(t0, t0 + pd.Timedelta(hours=200))) == 480  # NaT rows are in no window
