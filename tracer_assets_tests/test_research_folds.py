"""Walk-forward folds: no in-sample window touches its own out-of-sample window."""

import pandas as pd
import pytest

from tracer_assets.research.folds import fold_for, monthly_folds, out_of_sample, purge


def test_rolling_folds_keep_the_embargo_and_never_overlap_their_oos():
    folds = monthly_folds("2025-01-01", "2026-01-01", data_start="2024-07-01", is_months=3, embargo_days=2)
    assert [f.fold_id for f in folds] == [f"2025-{m:02d}" for m in range(1, 13)]
    for f in folds:
        assert f.is_end == f.oos_start - pd.Timedelta(days=2)
        assert f.is_start < f.is_end <= f.oos_start < f.oos_end
        assert f.is_start == f.is_end - pd.DateOffset(months=3)
        assert f.oos_end == f.oos_start + pd.DateOffset(months=1)


def test_anchored_folds_start_at_the_data_start():
    f = fold_for("2025-06", data_start="2025-01-01", is_months=2, embargo_days=1, anchored=True)
    assert f.is_start == pd.Timestamp("2025-01-01", tz="UTC")
    assert f.is_end == pd.Timestamp("2025-05-31", tz="UTC")


def test_a_fold_without_in_sample_data_is_refused():
    with pytest.raises(ValueError, match="no in-sample data"):
        fold_for("2025-01", data_start="2025-01-01", is_months=3, embargo_days=0)


def test_purge_drops_in_sample_signals_whose_horizon_reaches_past_the_is_end():
    f = fold_for("2025-03", data_start="2025-01-01", is_months=2, embargo_days=1)
    times = pd.to_datetime(
        ["2025-01-10 12:00", "2025-02-26 23:00", "2025-02-27 01:00", "2025-02-28 05:00", "2025-03-04 00:00"],
        utc=True,
    )
    sig = pd.DataFrame({"decision_ts": times, "horizon_hours": 24})
    kept = purge(sig, f)
    assert list(kept["decision_ts"]) == list(times[:2])
    resolved = kept["decision_ts"] + pd.Timedelta(hours=24)
    assert (resolved <= f.is_end).all()
    assert list(out_of_sample(sig, f)["decision_ts"]) == [times[4]]
