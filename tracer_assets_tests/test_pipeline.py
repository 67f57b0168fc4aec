"""The whole DAG on the sim world: range runs, idempotence, the lake contract, point-in-time."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from tracer_assets.lake import Lake
from tracer_assets.lake.schemas import CONTRACT, ON_DEMAND_TABLES
from tracer_assets.pipeline import sentiment
from tracer_assets.pipeline import signals as signal_stage
from tracer_assets.pipeline.fingerprint import MANIFEST_DIR
from tracer_assets.settings import TracerSettings
from tracer_assets.universe import load_universe
from tracer_assets_tests.conftest import isolated_env, isolated_session
from tracer_assets_tests.pipeline_util import run_range
from tracer_assets_tests.pit import assert_known_by, truncate_lake

FIRST, LAST = "2024-03-04", "2024-03-12"


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pipeline")
    with isolated_session(tmp):
        results = run_range(FIRST, LAST)
        lake = Lake(tmp / "lake")
        snapshot = {t: lake.read(t) for t in lake.tables()}
        # without the manifest nothing can be skipped: the re-run recomputes every asset
        shutil.rmtree(tmp / "lake" / MANIFEST_DIR)
        rerun = run_range(FIRST, LAST)
        resnapshot = {t: lake.read(t) for t in lake.tables()}
        # with it, a third run over the unchanged lake skips every asset
        skipped = run_range(FIRST, LAST)
        yield {
            "skipped": skipped,
            "third": {t: lake.read(t) for t in lake.tables()},
            "tmp": tmp,
            "lake": lake,
            "results": results,
            "first": snapshot,
            "second": resnapshot,
            "rerun": rerun,
        }


def test_definitions_validate(tmp_path):
    from tracer_assets.definitions import defs

    dg.Definitions.validate_loadable(defs)
    env = isolated_env(tmp_path)
    Path(env["DAGSTER_HOME"]).mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-m", "tracer_assets.definitions"],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_every_asset_materializes_in_a_range_run(pipeline):
    from tracer_assets.definitions import ALL_ASSETS

    materialized = set()
    for result in pipeline["results"]:
        materialized |= {e.asset_key for e in result.get_asset_materialization_events()}
    # research assets (placebos, leak check) run on demand in research_job, not in a replay
    assert {a.key for a in ALL_ASSETS if "research" not in a.group_names_by_key.values()} <= materialized
    # one run per partitioning, and the daily run covered every day of the range
    daily = pipeline["lake"].partitions("bars")
    assert daily[0] == FIRST and daily[-1] == LAST and len(daily) == 9


def test_lake_holds_every_contract_table_with_its_columns(pipeline):
    lake = pipeline["lake"]
    for table, columns in CONTRACT.items():
        if table in ON_DEMAND_TABLES:
            continue
        if table == "trading_controls" and table not in pipeline["first"]:
            continue  # written only when someone (or the risk engine) trips or clears the kill switch
        df = pipeline["first"][table]
        # the sim never sends a bad row, so quarantine exists but is empty; nor, on a quiet 9-day run,
        # need the risk engine block or reduce anything
        assert len(df) > 0 or table in ("quarantine", "risk_events"), f"{table} is empty"
        assert {c for c, _ in columns} <= set(df.columns), table
    count = lake.query("select count(*) as n from signals")["n"].iloc[0]
    assert count == len(pipeline["first"]["signals"]) > 0
    assert set(pipeline["first"]["eval_observations"]["kind"]) == {"signal", "market"}


def test_rematerialization_is_idempotent(pipeline):
    first, second = pipeline["first"], pipeline["second"]
    assert first.keys() == second.keys()
    # run_health is a log of runs (run id, write time), not derived data: it differs by design
    for table in sorted(set(first) - {"run_health"}):
        pd.testing.assert_frame_equal(first[table], second[table], check_like=False, obj=table)


def _skipped_flags(results) -> dict[str, set[bool]]:
    flags: dict[str, set[bool]] = {}
    for result in results:
        for event in result.get_asset_materialization_events():
            meta = event.materialization.metadata
            value = meta["skipped"].value if "skipped" in meta else None
            flags.setdefault(event.asset_key.to_user_string(), set()).add(value)
    return flags


def test_rerun_without_manifest_recomputes_and_one_with_it_skips_everything(pipeline):
    assert all(flags == {False} for flags in _skipped_flags(pipeline["rerun"]).values())
    skipped = _skipped_flags(pipeline["skipped"])
    assert skipped and all(flags == {True} for flags in skipped.values()), skipped
    event = pipeline["skipped"][0].get_asset_materialization_events()[0]
    assert "inputs and code unchanged" in event.materialization.metadata["skip_reason"].value
    for table in sorted(set(pipeline["second"]) - {"run_health"}):
        pd.testing.assert_frame_equal(pipeline["second"][table], pipeline["third"][table], obj=table)


def test_no_decision_uses_rows_available_after_it(pipeline):
    sig = pipeline["first"]["signals"]
    rationale = sig["rationale"].map(json.loads)
    for key in ("pressure_ts", "last_narrative_available_ts"):
        used = pd.to_datetime(rationale.map(lambda r, k=key: r.get(k)), utc=True)
        assert used.notna().any()
        assert_known_by(used.fillna(sig["decision_ts"]), sig["decision_ts"])
    scores = pipeline["first"]["narrative_scores"].set_index("narrative_id")["available_ts"]
    for r, t in zip(rationale, sig["decision_ts"], strict=True):
        assert all(scores[n] <= t for n in r["narrative_ids"])
    obs = pipeline["first"]["eval_observations"]
    assert (obs["decision_ts"] < obs["resolved_ts"]).all()
    market = obs[obs["kind"] == "market"]
    assert (
        market["decision_ts"] <= market["resolved_ts"] - pd.to_timedelta(market["lead_hours"], unit="h")
    ).all()


def test_signals_recomputed_from_a_truncated_lake_are_identical(pipeline, tmp_path):
    lake = pipeline["lake"]
    sig = pipeline["first"]["signals"]
    assert len(sig) >= 3
    for i, t in enumerate(sig.sample(min(4, len(sig)), random_state=1)["decision_ts"]):
        then = Lake(tmp_path / f"lake_at_{i}")
        truncate_lake(lake, then, t)
        day_start, until = t.normalize(), t + pd.Timedelta(seconds=1)
        settings = TracerSettings()
        # pressure recomputed from the truncated scores too, not taken from the full lake's table
        symbols = load_universe(settings.market.universe).symbols
        pressure = sentiment.narrative_pressure(then, settings, symbols, day_start, until)
        then.write_partitions("narrative_pressure", pressure, [day_start], by="decision_ts")
        replay = signal_stage.signals(then, settings, day_start, until).signals
        live = sig[(sig["decision_ts"] >= day_start) & (sig["decision_ts"] <= t)].reset_index(drop=True)
        pd.testing.assert_frame_equal(replay[live.columns].reset_index(drop=True), live, check_dtype=False)


def test_every_signal_has_its_pressure_row_in_narrative_pressure(pipeline):
    from tracer_assets_tests.test_pipeline_layer import assert_signals_match_pressure

    assert_signals_match_pressure(pipeline["first"]["signals"], pipeline["first"]["narrative_pressure"])
