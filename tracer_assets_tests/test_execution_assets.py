"""The execution assets on a lake: one run writes the five ledger tables, a re-run (restart) writes
the same orders again and nothing twice, the kill switch CLI stops orders, ``tracer positions``."""

from __future__ import annotations

import dagster as dg
import pandas as pd

from tracer_assets.cli import main as tracer_main
from tracer_assets.defs.execution.definitions import defs as execution_defs
from tracer_assets.defs.resources import TracerResource
from tracer_assets.lake import Lake
from tracer_assets.settings import TracerSettings
from tracer_assets_tests.execution_helpers import START, sim_bars, synthetic_signals
from tracer_assets_tests.ledger_checks import ledger_violations
from tracer_assets_tests.pipeline_util import range_tags

DAYS = [d.strftime("%Y-%m-%d") for d in pd.date_range(START, periods=3, freq="D")]


def _seed_lake(lake: Lake) -> None:
    bars = sim_bars("2024-12-20", "2025-01-22")
    bars = bars[bars["available_ts"] < START + pd.Timedelta(days=3)]
    lake.write_partitions("bars", bars, sorted(set(bars["ts"].dt.strftime("%Y-%m-%d"))), by="ts")
    sig = synthetic_signals(bars, 60, seed=5, start=START, end=START + pd.Timedelta(days=3))
    lake.write_partitions("signals", sig, DAYS, by="decision_ts")


def _materialize(lake_root: str) -> None:
    result = dg.materialize(
        list(execution_defs.assets),
        instance=dg.DagsterInstance.ephemeral(),
        resources={"tracer": TracerResource(lake_root=lake_root)},
        tags=range_tags(DAYS[0], DAYS[-1]),
    )
    assert result.success


def test_assets_write_the_ledger_and_a_rerun_places_nothing_twice(tracer_env, capsys):
    settings = TracerSettings()
    lake = Lake(settings.lake.lake_root)
    _seed_lake(lake)
    _materialize(settings.lake.lake_root)
    frames = {t: lake.read(t) for t in ("orders", "fills", "positions", "portfolio", "risk_events")}
    assert len(frames["orders"]) > 20 and len(frames["fills"]) > 20
    assert sorted(lake.partitions("portfolio")) == DAYS
    assert all(v == 0 for v in ledger_violations(frames, settings.risk).values())
    _materialize(settings.lake.lake_root)  # a restarted run of the same days
    again = lake.read("orders")
    assert again["client_order_id"].is_unique
    assert sorted(again["order_id"]) == sorted(frames["orders"]["order_id"])

    assert tracer_main(["positions"]) == 0
    out = capsys.readouterr().out
    assert "trading mode: paper_sim; kill switch: off" in out and "equity" in out

    # the kill switch, tripped from the CLI before these days, blocks every order until resumed
    kill_ts = START - pd.Timedelta(days=1)
    from tracer_assets.execution.controls import KILL, append_control, control_row

    append_control(lake, control_row(KILL, "ops", "drill", kill_ts))
    _materialize(settings.lake.lake_root)
    orders = lake.read("orders")
    assert len(orders) and (orders["status"] == "blocked").all() and lake.read("fills").empty
    assert tracer_main(["resume-trading", "--reason", "drill over", "--who", "ops"]) == 0
    controls = lake.read("trading_controls")
    assert controls["action"].tolist()[-1] == "resume" and controls["who"].tolist()[-1] == "ops"


def test_the_digest_tells_the_paper_books_day_in_words(tracer_env):
    from tracer_assets.digest.build import build_digest
    from tracer_assets.execution.words import book_day
    from tracer_assets.signals.words import has_digit

    settings = TracerSettings()
    lake = Lake(settings.lake.lake_root)
    _seed_lake(lake)
    from tracer_assets.execution.paper import run_paper_days, write_paper_days
    from tracer_assets_tests.execution_helpers import asset_classes

    start, end = START, START + pd.Timedelta(days=3)
    write_paper_days(lake, run_paper_days(lake, settings, asset_classes(), start, end), DAYS, start, end)
    book = book_day(lake, DAYS[1])
    assert book["orders_sent"] > 0 and book["equity"] > 0
    built = build_digest(lake.read("signals"), None, settings.digest, start + pd.Timedelta(days=2), (), book)
    assert "<b>Paper book</b>" in built.text and "The paper book " in built.text
    assert not has_digit(built.text)
    assert built.artifact["paper_book"]["orders_sent"] == book["orders_sent"]


def test_a_rerun_after_degraded_inputs_heal_drops_the_old_staleness_trip(tracer_env):
    """Burn-in finding: a run on a day whose bars were degraded trips the kill switch (engine row); the
    rerun of that day after a clean fetch read the old trip back and tripped again, forever."""
    from tracer_assets.execution.controls import RISK_ENGINE, read_controls
    from tracer_assets.providers.health import RUN_HEALTH_TABLE
    from tracer_assets.providers.results import RUN_HEALTH_COLUMNS, run_health_row

    settings = TracerSettings()
    lake = Lake(settings.lake.lake_root)
    _seed_lake(lake)
    _materialize(settings.lake.lake_root)
    clean = lake.read("portfolio")

    def health(degraded: bool) -> None:
        row = run_health_row("r", "bars", DAYS[1], "sim", degraded, "empty answer" if degraded else "", START)
        lake.write_partition(
            RUN_HEALTH_TABLE, DAYS[1], pd.DataFrame([row], columns=RUN_HEALTH_COLUMNS), part="bars"
        )

    health(True)
    _materialize(settings.lake.lake_root)
    tripped = read_controls(lake)
    assert (tripped["who"] == RISK_ENGINE).sum() == 1 and "degraded" in tripped["why"].iloc[0]
    assert not lake.read("portfolio").equals(clean)
    health(False)  # a later fetch of that day was clean
    _materialize(settings.lake.lake_root)
    assert len(read_controls(lake)) == 0
    pd.testing.assert_frame_equal(lake.read("portfolio"), clean)


def test_a_paused_tracer_sends_no_order_until_resumed(tracer_env):
    from tracer_assets.ops.pause import pause, resume

    settings = TracerSettings()
    lake = Lake(settings.lake.lake_root)
    _seed_lake(lake)
    pause(lake, "broker maintenance", who="ops")
    _materialize(settings.lake.lake_root)
    assert len(lake.read("orders")) == 0 and len(lake.read("fills")) == 0
    resume(lake)
    _materialize(settings.lake.lake_root)
    assert len(lake.read("orders")) > 20
