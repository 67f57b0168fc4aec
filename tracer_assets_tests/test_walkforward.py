"""Walk-forward selection on a small sim lake: purge and embargo held, the choice reads in-sample data
only, governed parameters reach the signals point-in-time (rollback included), the governance report
renders, and ``tracer walkforward`` / ``tracer params`` run the assets end to end."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from tracer_assets.lake import Lake
from tracer_assets.lake.schemas import contract_columns
from tracer_assets.pipeline import SIGNAL_STAGES, UPSTREAM_STAGES, MemoryStore, run_chain
from tracer_assets.pipeline import signals as signal_stage
from tracer_assets.research.folds import Fold, purge
from tracer_assets.research.governance import adoption_rows, governed_row, in_force, stand_aside_params
from tracer_assets.research.governance_report import build_report, report_inputs
from tracer_assets.research.grid import with_params
from tracer_assets.research.walkforward import (
    SUMMARY_COLUMNS,
    evaluate_grid,
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
    # the one-month in-sample windows here are too short to clear a DSR hurdle; the rule has its own tests
    "TRACER_WALKFORWARD_ADOPT_MIN_DSR": "0",
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
            "asset_class": "crypto",
            "decision_ts": t,
            "direction": "long",
            "strength": 0.5,
            "internal_prob": 0.55,
            "size": 0.5,
            "horizon_hours": 12,
        }
    )


JAN1 = pd.Timestamp("2025-01-01", tz="UTC")
FEB_FOLD = Fold(
    "2025-02",
    JAN1,
    pd.Timestamp("2025-01-29", tz="UTC"),
    pd.Timestamp("2025-02-01", tz="UTC"),
    pd.Timestamp("2025-03-01", tz="UTC"),
)
HOURS, IS_HOURS = 24 * 59, 24 * 28


def _two_symbol_bars(x_drift: float, y_drift: float, seed: int = 0) -> pd.DataFrame:
    """Hourly X and Y over January and February: each drifts by its rate an hour in sample (before
    29 January) plus noise, and by minus that rate after it."""
    noise = np.random.default_rng(seed).normal(0, 0.001, (2, HOURS))

    def path(drift, eps):
        return 100 * np.exp(np.cumsum(np.where(np.arange(HOURS) < IS_HOURS, drift, -drift) + eps))

    return _bars({"X": path(x_drift, noise[0]), "Y": path(y_drift, noise[1])}, JAN1)


def test_selection_switches_when_only_in_sample_prices_switch():
    """Two configurations, one trading X and one trading Y: the in-sample winner is the one whose symbol
    rose in sample; what the prices do after the in-sample end never moves the choice."""
    fold = FEB_FOLD
    settings = TracerSettings(_env_file=None, walkforward={"walkforward_min_trades": 3})
    sets = [_daily_longs("X", JAN1, 58), _daily_longs("Y", JAN1, 58)]
    x_up, y_up = _two_symbol_bars(0.0008, 0.0), _two_symbol_bars(0.0, 0.0008)
    assert select_in_sample(sets, x_up, settings, fold).best == 0
    assert select_in_sample(sets, y_up, settings, fold).best == 1
    # after the in-sample end: Y soars, X collapses; the choice made in sample stays X
    late = x_up.copy()
    after = late["ts"] >= fold.is_end
    late.loc[after & (late["symbol"] == "X"), ["open", "high", "low", "close"]] *= 0.5
    late.loc[after & (late["symbol"] == "Y"), ["open", "high", "low", "close"]] *= 3.0
    assert select_in_sample(sets, late, settings, fold) == select_in_sample(sets, x_up, settings, fold)
    assert purge(sets[0], fold)["decision_ts"].max() + pd.Timedelta(hours=12) <= fold.is_end


def test_a_fold_whose_in_sample_winner_fails_the_hurdle_stands_aside():
    """Both configurations lose in sample: the winner's in-sample DSR is below the hurdle, so the fold
    trades nothing out of sample (Sharpe 0, interval [0, 0], DSR and PBO defined) and governance adopts a
    stand-aside version; with the rule off it trades, and a winner with real in-sample evidence clears it."""
    settings = TracerSettings(
        _env_file=None,
        walkforward={
            "walkforward_min_trades": 3,
            "walkforward_adopt_min_dsr": 0.8,
            "walkforward_bootstrap_resamples": 200,
            "walkforward_pbo_blocks": 4,
        },
    )
    sets = [_daily_longs("X", JAN1, 58), _daily_longs("Y", JAN1, 58)]
    points = [{"signal_min_pressure": 0.1}, {"signal_min_pressure": 0.3}]
    falling = _two_symbol_bars(-0.0006, -0.0006)

    weak = evaluate_grid(sets, falling, settings, [FEB_FOLD], points)
    fold = weak.folds.iloc[0]
    params = json.loads(fold["params"])
    assert params["stand_aside"] is True and {k: v for k, v in params.items() if k != "stand_aside"} in points
    assert fold["is_deflated_sharpe_prob"] < 0.8 and fold["is_objective"] < 0
    assert fold["n_oos_trades"] == 0 and fold["oos_objective"] == 0.0 and weak.oos_signals.empty
    assert len(weak.oos_returns) >= 27 and (weak.oos_returns == 0).all()
    summary = weak.summary
    assert (summary["oos_sharpe"], summary["oos_sharpe_lo"], summary["oos_sharpe_hi"]) == (0.0, 0.0, 0.0)
    assert summary["n_oos_trades"] == 0
    for key in ("deflated_sharpe_prob", "deflated_sharpe_prob_raw", "pbo"):
        assert 0.0 <= summary[key] <= 1.0, key

    adopted = adoption_rows(weak.folds, "test")["2025-02-01"].iloc[0]
    assert adopted["params"] == fold["params"] and adopted["reason"].startswith("standing aside")

    # the rule off (hurdle 0): the same winner trades
    off = evaluate_grid(
        sets, falling, with_params(settings, {"walkforward_adopt_min_dsr": 0}), [FEB_FOLD], points
    )
    assert "stand_aside" not in json.loads(off.folds.iloc[0]["params"]) and off.summary["n_oos_trades"] > 0
    assert off.folds.iloc[0]["is_deflated_sharpe_prob"] == fold["is_deflated_sharpe_prob"]

    # X rose steadily in sample: its in-sample DSR clears the hurdle and the fold trades X
    strong = evaluate_grid(sets, _two_symbol_bars(0.0008, 0.0), settings, [FEB_FOLD], points)
    row = strong.folds.iloc[0]
    assert json.loads(row["params"]) == points[0] and row["is_deflated_sharpe_prob"] >= 0.8
    assert row["n_oos_trades"] > 0 and set(strong.oos_signals["symbol"]) == {"X"}


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


def test_signals_stand_aside_under_a_stand_aside_version_and_trade_again_after_a_rollback(world):
    """A fold's stand-aside version is in force from 1 February: the signals stage (the asset's code)
    emits nothing, holding back what the version's thresholds would have fired; a rollback to the
    ordinary version restores exactly the signals that version gives."""
    from tracer_assets.research.walkforward_cli import rollback

    s = world["settings"]
    loose = {"signal_min_pressure": 0.05}
    store = _copy(world["lake"], s, [MONTH])
    run_chain(store, s, "2025-01-20", "2025-02-14", stages=("narrative_pressure",))
    day0, back, day1 = (pd.Timestamp(t, tz="UTC") for t in ("2025-02-10", "2025-02-11 12:00", "2025-02-13"))
    lake_like = Lake(world["tmp"] / "stand_aside_lake")
    for params, ts in ((loose, "2025-01-20"), (stand_aside_params(loose), "2025-02-01")):
        row = governed_row(
            params, action="adopt", source="t", actor="t", reason="t", ts=pd.Timestamp(ts, tz="UTC")
        )
        lake_like.write_partition("governed_params", ts, row, part="adopt")
        store.write_partition("governed_params", ts, row, part="adopt")

    aside = signal_stage.signals(store, s, day0, day1)
    assert aside.signals.empty and aside.held_back_counts["stand_aside"] > 0
    # what is held back as stand_aside is what the version's own thresholds fire
    plain = signal_stage.signals(_plain(store, s, loose), with_params(s, loose), day0, day1).signals
    held = aside.held_back[aside.held_back["reason"] == "stand_aside"]
    key = ["symbol", "decision_ts", "direction"]
    pd.testing.assert_frame_equal(held[key].reset_index(drop=True), plain[key].reset_index(drop=True))

    loose_version = lake_like.read("governed_params")["version"].iloc[0]
    row = rollback(lake_like, loose_version, actor="quant", reason="trade again", now=back)
    store.write_partition("governed_params", "2025-02-11", row, part="rollback")
    after = signal_stage.signals(store, s, day0, day1)
    t = pd.to_datetime(after.signals["decision_ts"], utc=True)
    assert len(after.signals) and (t >= back).all()
    restored = signal_stage.signals(_plain(store, s, loose), with_params(s, loose), back, day1).signals
    drop = ["internal_prob", "calibration_method", "rationale", "evidence", "checks"]
    pd.testing.assert_frame_equal(after.signals.drop(columns=drop), restored.drop(columns=drop))


def _plain(store: MemoryStore, settings: TracerSettings, params: dict) -> MemoryStore:
    """A fork of ``store`` without governed versions, its pressure recomputed under ``params``."""
    fork = MemoryStore()
    for table in ("bars", "price_features", "narrative_scores"):
        for day in store.partitions(table):
            fork.write_partition(table, day, store.read(table, day, day))
    run_chain(fork, with_params(settings, params), "2025-01-20", "2025-02-14", stages=("narrative_pressure",))
    return fork


def test_the_adopt_hurdle_is_validated(monkeypatch):
    for bad in ("-0.1", "1.5", "high"):
        monkeypatch.setenv("TRACER_WALKFORWARD_ADOPT_MIN_DSR", bad)
        with pytest.raises(ValidationError, match="walkforward_adopt_min_dsr"):
            TracerSettings(_env_file=None)
    monkeypatch.setenv("TRACER_WALKFORWARD_ADOPT_MIN_DSR", "0.9")
    assert TracerSettings(_env_file=None).walkforward.walkforward_adopt_min_dsr == 0.9


def test_params_list_shows_stand_aside_versions_and_a_rollback_restores_trading(tmp_path, capsys):
    from tracer_assets.cli import main

    root = str(tmp_path / "lake")
    lake = Lake(root)
    normal = governed_row(
        {"cooldown_hours": 24}, action="adopt", source="f1", actor="walkforward", reason="r", ts=JAN1
    )
    aside = governed_row(
        stand_aside_params({"cooldown_hours": 12}),
        action="adopt",
        source="f2",
        actor="walkforward",
        reason="standing aside: in-sample DSR 0.310",
        ts=JAN1 + pd.Timedelta(days=31),
    )
    for row in (normal, aside):
        lake.write_partition("governed_params", f"{row['available_ts'].iloc[0]:%Y-%m-%d}", row, part="adopt")
    assert main(["params", "list", "--lake", root]) == 0
    lines = capsys.readouterr().out.splitlines()
    aside_line = next(line for line in lines if aside["version"].iloc[0] in line)
    normal_line = next(line for line in lines if normal["version"].iloc[0] in line)
    assert "no: stand aside" in aside_line and "True" in aside_line  # in force now
    assert "stand aside" not in normal_line
    version = normal["version"].iloc[0]
    assert main(["params", "rollback", version, "--reason", "trade", "--lake", root]) == 0
    assert "standing aside" not in capsys.readouterr().out
    governed = lake.read("governed_params")
    now = pd.Timestamp.now(tz="UTC") + pd.Timedelta(seconds=1)
    assert in_force(governed, now)[0] == version


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
