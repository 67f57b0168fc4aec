"""Walk-forward selection on a small sim lake: purge and embargo held, the choice reads in-sample data
only, governed parameters reach the signals point-in-time (rollback included), the governance report
renders, and ``tracer walkforward`` / ``tracer params`` run the assets end to end."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tracer_assets.lake import Lake
from tracer_assets.lake.schemas import contract_columns
from tracer_assets.pipeline import SIGNAL_STAGES, UPSTREAM_STAGES, MemoryStore, run_chain
from tracer_assets.pipeline import signals as signal_stage
from tracer_assets.research.folds import Fold, purge
from tracer_assets.research.governance import governed_row
from tracer_assets.research.governance_report import build_report, report_inputs
from tracer_assets.research.grid import with_params
from tracer_assets.research.walkforward import (
    SUMMARY_COLUMNS,
    folds_for_months,
    research_store,
    run_months,
    select_in_sample,
    span_of,
)
from tracer_assets.settings import TracerSettings
from tracer_assets_tests.conftest import crypto_universe, isolated_session

FIRST, LAST = "2025-01-10", "2025-02-28"
MONTH = "2025-02"
GRID = {"signal_min_pressure": [0.1, 0.3], "cooldown_hours": [6, 24]}
ENV = {
    "TRACER_NOVELTY_MODEL": "hashing",
    "TRACER_WALKFORWARD_IS_MONTHS": "1",
    "TRACER_WALKFORWARD_EMBARGO_DAYS": "2",
    "TRACER_WALKFORWARD_MIN_TRADES": "3",
    "TRACER_WALKFORWARD_WORKERS": "1",
    "TRACER_WALKFORWARD_BOOTSTRAP_RESAMPLES": "200",
    "TRACER_WALKFORWARD_PBO_BLOCKS": "4",
    "TRACER_WALKFORWARD_GRID": json.dumps(GRID),
}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Seven weeks of three crypto pairs in a Parquet lake (the stages the walk-forward and the report
    read), inside an isolated TRACER_* environment that the CLI and the Dagster resource also read."""
    tmp = tmp_path_factory.mktemp("walkforward")
    universe = crypto_universe(
        tmp / "crypto.yaml", (("BTC/USD", 60000, 0.55), ("ETH/USD", 3000, 0.7), ("SOL/USD", 150, 0.9))
    )
    with isolated_session(tmp, TRACER_UNIVERSE=str(universe), **ENV):
        settings = TracerSettings()
        lake = Lake(settings.lake.lake_root)
        run_chain(lake, settings, FIRST, LAST, stages=UPSTREAM_STAGES + SIGNAL_STAGES)
        yield {"tmp": tmp, "settings": settings, "lake": lake, "symbols": ["BTC/USD", "ETH/USD", "SOL/USD"]}


def _copy(store, settings, months) -> MemoryStore:
    folds = folds_for_months(store, settings, months)
    return research_store(store, settings, *span_of(folds, settings))


@pytest.fixture(scope="module")
def base_result(world):
    """The walk-forward of the one fold the lake allows (OOS February, IS January)."""
    return run_months(world["lake"], world["settings"], world["symbols"], [MONTH])


def test_every_fold_keeps_its_embargo_and_trades_only_purged_in_sample_signals(world, base_result):
    s = world["settings"]
    result = base_result
    fold = result.folds.iloc[0]
    embargo = pd.Timedelta(days=s.walkforward.walkforward_embargo_days)
    assert fold["is_end"] + embargo <= fold["oos_start"] and fold["is_start"] < fold["is_end"]
    assert list(result.folds.columns) == contract_columns("walk_forward_folds")
    assert (
        list(pd.DataFrame([result.summary]).columns)
        == SUMMARY_COLUMNS
        == contract_columns("walk_forward_summary")
    )
    assert result.summary["n_configs_tried"] == 4 and fold["n_configs_tried"] == 4
    # the clustered DSR counts at most the grid's points as trials, the raw one all of them
    assert 1 <= result.summary["n_effective_trials"] <= 4
    assert (
        0 <= result.summary["deflated_sharpe_prob"] <= 1
        and 0 <= result.summary["deflated_sharpe_prob_raw"] <= 1
    )
    # the stitched out-of-sample signals all lie in the OOS window, none in the gap or in sample
    t = pd.to_datetime(result.oos_signals["decision_ts"], utc=True)
    assert len(t) and (t >= fold["oos_start"]).all() and (t < fold["oos_end"]).all()
    assert result.oos_returns.index.min() >= fold["oos_start"]


def test_the_choice_ignores_out_of_sample_data_and_follows_in_sample_data(world, base_result):
    s, lake = world["settings"], world["lake"]
    base = base_result.folds.iloc[0]
    oos_start = base["oos_start"]

    # wreck everything from the OOS start on: prices shocked, stories' polarity reversed
    wrecked = _copy(lake, s, [MONTH])
    for table in ("bars", "price_features", "narrative_scores"):
        for day in [d for d in wrecked.partitions(table) if d >= f"{oos_start:%Y-%m-%d}"]:
            df = wrecked.read(table, day, day)
            if table == "narrative_scores":
                df = df.assign(polarity=-df["polarity"], combined_polarity=-df["combined_polarity"])
            else:
                df = df.assign(close=df["close"] * 1.3)
            wrecked.write_partition(table, day, df)
    after = run_months(wrecked, s, world["symbols"], [MONTH]).folds.iloc[0]
    assert after["params"] == base["params"] and after["is_objective"] == base["is_objective"]
    assert after["oos_objective"] != base["oos_objective"]  # the OOS judgement did see the change

    # reverse the in-sample stories instead: the in-sample evidence, and with it the objective, changes
    flipped = _copy(lake, s, [MONTH])
    for day in [d for d in flipped.partitions("narrative_scores") if d < f"{oos_start:%Y-%m-%d}"]:
        df = flipped.read("narrative_scores", day, day)
        flipped.write_partition(
            "narrative_scores",
            day,
            df.assign(polarity=-df["polarity"], combined_polarity=-df["combined_polarity"]),
        )
    changed = run_months(flipped, s, world["symbols"], [MONTH]).folds.iloc[0]
    assert changed["is_objective"] != base["is_objective"]


def _bars(paths: dict[str, np.ndarray], start: pd.Timestamp) -> pd.DataFrame:
    frames = []
    for symbol, close in paths.items():
        ts = start + pd.to_timedelta(np.arange(len(close)), unit="h")
        frames.append(
            pd.DataFrame(
                {
                    "symbol": symbol,
                    "asset_class": "crypto",
                    "ts": ts,
                    "open": close,
                    "high": close,
                    "low": close,
                    "close": close,
                    "volume": 1.0,
                    "available_ts": ts + pd.Timedelta(hours=1),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _daily_longs(symbol: str, start: pd.Timestamp, days: int) -> pd.DataFrame:
    t = start + pd.to_timedelta(np.arange(days), unit="D") + pd.Timedelta(hours=1)
    return pd.DataFrame(
        {
            "signal_id": [f"{symbol}-{i}" for i in range(days)],
            "symbol": symbol,
            "decision_ts": t,
            "direction": "long",
            "size": 0.5,
            "horizon_hours": 12,
        }
    )


def test_selection_switches_when_only_in_sample_prices_switch():
    """Two configurations, one trading X and one trading Y: the in-sample winner is the one whose symbol
    rose in sample; what the prices do after the in-sample end never moves the choice."""
    start = pd.Timestamp("2025-01-01", tz="UTC")
    fold = Fold(
        "2025-02",
        start,
        pd.Timestamp("2025-01-29", tz="UTC"),
        pd.Timestamp("2025-02-01", tz="UTC"),
        pd.Timestamp("2025-03-01", tz="UTC"),
    )
    hours = 24 * 59
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 0.001, (2, hours))
    is_hours = 24 * 28
    trend = np.where(np.arange(hours) < is_hours, 0.0008, -0.0008)

    def path(drift):
        return 100 * np.exp(np.cumsum(drift))

    settings = TracerSettings(_env_file=None, walkforward={"walkforward_min_trades": 3})
    sets = [_daily_longs("X", start, 58), _daily_longs("Y", start, 58)]
    x_up = _bars({"X": path(trend + noise[0]), "Y": path(noise[1])}, start)
    y_up = _bars({"X": path(noise[0]), "Y": path(trend + noise[1])}, start)
    assert select_in_sample(sets, x_up, settings, fold)[0] == 0
    assert select_in_sample(sets, y_up, settings, fold)[0] == 1
    # after the in-sample end: Y soars, X collapses; the choice made in sample stays X
    late = x_up.copy()
    after = late["ts"] >= fold.is_end
    late.loc[after & (late["symbol"] == "X"), ["open", "high", "low", "close"]] *= 0.5
    late.loc[after & (late["symbol"] == "Y"), ["open", "high", "low", "close"]] *= 3.0
    assert select_in_sample(sets, late, settings, fold) == select_in_sample(sets, x_up, settings, fold)
    assert purge(sets[0], fold)["decision_ts"].max() + pd.Timedelta(hours=12) <= fold.is_end


def test_signals_after_a_rollback_use_the_rolled_back_version(world):
    from tracer_assets.research.walkforward_cli import rollback

    s = world["settings"]
    loose, strict = {"signal_min_pressure": 0.05}, {"signal_min_pressure": 0.6}
    store = _copy(world["lake"], s, [MONTH])
    day0, day1 = pd.Timestamp("2025-02-10", tz="UTC"), pd.Timestamp("2025-02-13", tz="UTC")
    plain = {}
    for name, params in (("loose", loose), ("strict", strict)):
        fork = store.fork()
        run_chain(fork, with_params(s, params), "2025-01-20", "2025-02-12", stages=("narrative_pressure",))
        plain[name] = signal_stage.signals(fork, with_params(s, params), day0, day1).signals
    assert len(plain["loose"]) > len(plain["strict"])  # the two versions give different signals

    governed = store.fork()
    run_chain(governed, s, "2025-01-20", "2025-02-12", stages=("narrative_pressure",))
    lake_like = Lake(world["tmp"] / "governed_lake")
    for row in (
        governed_row(
            loose, action="adopt", source="t", actor="t", reason="t", ts=pd.Timestamp("2025-01-20", tz="UTC")
        ),
        governed_row(
            strict, action="adopt", source="t", actor="t", reason="t", ts=pd.Timestamp("2025-02-01", tz="UTC")
        ),
    ):
        lake_like.write_partition(
            "governed_params", f"{row['available_ts'].iloc[0]:%Y-%m-%d}", row, part="adopt"
        )
    loose_version = governed_row(loose, action="adopt", source="", actor="", reason="", ts=day0)[
        "version"
    ].iloc[0]
    row = rollback(
        lake_like,
        loose_version,
        actor="quant",
        reason="strict floor starves the digest",
        now=pd.Timestamp("2025-02-05 09:30", tz="UTC"),
    )
    assert row[["actor", "reason", "action"]].iloc[0].tolist() == [
        "quant",
        "strict floor starves the digest",
        "rollback",
    ]
    for part in lake_like.read("governed_params").itertuples(index=False):
        governed.write_partition(
            "governed_params",
            f"{part.available_ts:%Y-%m-%d}",
            pd.DataFrame([part._asdict()]),
            part=f"p{part.available_ts:%d%H%M}",
        )
    got = signal_stage.signals(governed, s, day0, day1).signals
    pd.testing.assert_frame_equal(
        got.drop(
            columns=["internal_prob", "calibration_method", "rationale", "evidence", "checks"],
            errors="ignore",
        ),
        plain["loose"].drop(
            columns=["internal_prob", "calibration_method", "rationale", "evidence", "checks"],
            errors="ignore",
        ),
    )


def test_the_report_renders_for_a_month_without_folds(world):
    report = build_report(world["settings"], report_inputs(world["lake"], "2025-01"))
    assert "Tracer governance report 2025-01" in report.html and "plotly.min.js" in report.html
    assert report.in_force["version_at_start"] == "defaults"
    assert report.cohorts.iloc[0]["cohort"] == "all" and report.cohorts.iloc[0]["n"] > 0
    assert {"hit_rate", "brier", "volume_z mean"} <= set(report.drift["metric"])
    assert len(report.tags["settings_hash"]) == 16 and report.tags["package_version"]


def test_cli_walkforward_and_params_run_the_assets(world, capsys):
    from tracer_assets.cli import main

    lake = world["lake"]
    assert main(["walkforward", "--start", MONTH, "--end", MONTH]) == 0
    out = capsys.readouterr().out
    assert "deflated_sharpe_prob" in out and "2025-02" in out
    folds = lake.read("walk_forward_folds")
    assert list(folds.columns) == contract_columns("walk_forward_folds") and len(folds) == 1
    summary = lake.read("walk_forward_summary")
    assert list(summary.columns) == contract_columns("walk_forward_summary") and len(summary) == 1
    adopted = lake.read("governed_params")
    assert adopted["params"].iloc[0] == folds["params"].iloc[0]
    report = lake.read("governance_report")
    html = (world["tmp"] / "lake" / "artifacts" / "governance" / "governance_2025-02.html").read_text()
    assert report["month"].tolist() == ["2025-02"] and "Chosen in sample" in html
    assert folds["fold_id"].iloc[0] in html

    assert main(["walkforward", "--start", "2025-03", "--end", "2025-02"]) == 2
    assert main(["walkforward", "--start", "2025-01", "--end", "2025-01"]) == 1  # no in-sample data
    assert "no in-sample data" in capsys.readouterr().err

    assert main(["params", "list"]) == 0
    assert adopted["version"].iloc[0] in capsys.readouterr().out
    assert main(["params", "rollback", "nosuchversion", "--reason", "x"]) == 2
    assert (
        main(["params", "rollback", adopted["version"].iloc[0], "--reason", "audit", "--actor", "ops"]) == 0
    )
    rows = lake.read("governed_params")
    assert (rows["action"] == "rollback").sum() == 1 and rows["actor"].tolist()[-1] in {"ops", "walkforward"}
    assert set(rows.loc[rows["action"] == "rollback", "actor"]) == {"ops"}
