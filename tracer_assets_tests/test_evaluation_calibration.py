"""Calibration bins against scikit-learn, the weekly lake table and the analyst SQL report."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import calibration_curve

from tracer_assets.analytics.sql_models import MODELS_DIR, assert_read_only, table_refs
from tracer_assets.evaluation.calibration_bins import calibration_bins
from tracer_assets.evaluation.metrics import (
    CALIBRATION_TABLE_COLUMNS,
    weekly_calibration_bins,
    weekly_metrics,
)
from tracer_assets.lake import Lake
from tracer_assets.settings import TracerSettings

REPORT_SQL = MODELS_DIR / "calibration_report.sql"
WEEK = "2024-03-04"
MONDAY = pd.Timestamp(WEEK, tz="UTC")


def observations(n: int = 300, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    p = rng.beta(2, 2, n)
    return pd.DataFrame(
        {
            "kind": rng.choice(["signal", "market"], n),
            "predictor": "internal",
            "observation_id": [f"o{i}" for i in range(n)],
            "predicted_prob": p,
            "outcome": (rng.uniform(size=n) < p).astype(int),
            "resolved_ts": MONDAY + pd.to_timedelta(rng.integers(0, 7 * 24, n), unit="h"),
        }
    )


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_bins_equal_scikit_learn_calibration_curve(strategy):
    obs = observations()
    table = calibration_bins(obs, n_bins=8, strategy=strategy, by=())
    observed, predicted = calibration_curve(
        obs["outcome"], obs["predicted_prob"], n_bins=8, strategy=strategy
    )
    np.testing.assert_allclose(table["observed_freq"], observed)
    np.testing.assert_allclose(table["mean_predicted"], predicted)
    assert table["count"].sum() == len(obs)
    assert (table["bin_lo"] <= table["mean_predicted"]).all() and (
        table["mean_predicted"] <= table["bin_hi"]
    ).all()
    # each bin's count is the number of forecasts inside its edges (first bin closed on the left)
    p = obs["predicted_prob"]
    for r in table.itertuples():
        inside = (p > r.bin_lo) & (p <= r.bin_hi) if r.bin > 0 else (p >= r.bin_lo) & (p <= r.bin_hi)
        assert inside.sum() == r.count


def test_quantile_bins_hold_about_equal_counts():
    table = calibration_bins(observations(400), n_bins=4, strategy="quantile", by=())
    assert table["count"].tolist() == [100, 100, 100, 100]


def test_bins_are_grouped_and_skip_unscorable_rows():
    obs = observations()
    obs.loc[0, "predicted_prob"] = np.nan
    table = calibration_bins(obs, n_bins=5)
    assert set(table["kind"]) == {"signal", "market"}
    assert table["count"].sum() == len(obs) - 1
    for kind, part in obs.dropna(subset=["predicted_prob"]).groupby("kind"):
        assert table.loc[table["kind"] == kind, "count"].sum() == len(part)


def test_bins_of_nothing_and_bad_strategy():
    assert calibration_bins(observations().iloc[:0], n_bins=5).empty
    with pytest.raises(ValueError, match="strategy"):
        calibration_bins(observations(), n_bins=5, strategy="log")


def test_weekly_table_has_both_strategies_and_fits_the_lake(tracer_env):
    settings = TracerSettings(eval_calibration_bins=5, eval_bootstrap_resamples=100)
    table = weekly_calibration_bins(observations(), WEEK, settings.evaluation)
    assert list(table.columns) == CALIBRATION_TABLE_COLUMNS
    assert set(table["strategy"]) == {"uniform", "quantile"}
    assert (table["available_ts"] == MONDAY + pd.Timedelta(days=7)).all()
    Lake(tracer_env / "lake").write_partition("calibration_bins", WEEK, table)
    empty = weekly_calibration_bins(observations().iloc[:0], WEEK, settings.evaluation)
    assert empty.empty and list(empty.columns) == CALIBRATION_TABLE_COLUMNS


def test_calibration_report_sql_reads_bins_and_metrics_by_week(tracer_env):
    sql = REPORT_SQL.read_text()
    assert_read_only(sql)
    assert table_refs(sql) == ["calibration_bins", "eval_metrics"]
    settings = TracerSettings(eval_calibration_bins=5, eval_bootstrap_resamples=100)
    lake = Lake(tracer_env / "lake")
    obs = observations()
    bins = weekly_calibration_bins(obs, WEEK, settings.evaluation)
    metrics = weekly_metrics(obs, WEEK, settings.evaluation)
    lake.write_partition("calibration_bins", WEEK, bins)
    lake.write_partition("eval_metrics", WEEK, metrics)
    report = lake.query(sql)
    assert (report["section"] == "bin").sum() == len(bins)
    assert (report["section"] == "cohort").sum() == len(metrics)
    assert {"event_ts", "available_ts", "week", "gap"} <= set(report.columns)
    cohort = report[
        (report["section"] == "cohort") & (report["grouping"] == "all") & (report["kind"] == "signal")
    ]
    expected = obs[obs["kind"] == "signal"]
    assert cohort["n"].item() == len(expected)
    assert cohort["gap"].item() == pytest.approx(
        expected["outcome"].mean() - expected["predicted_prob"].mean()
    )
