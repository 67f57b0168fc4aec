"""The pipeline layer: the in-memory store behaves as the Lake, the chain gives the same frames over
either, a day alone equals the day inside a range, and signals read their pressure from the table."""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd
import pytest

from tracer_assets.lake import Lake
from tracer_assets.lake.store import LakeSchemaError
from tracer_assets.pipeline import DAILY_STAGES, MemoryStore, run_chain
from tracer_assets.settings import TracerSettings

FIRST, LAST = "2024-03-04", "2024-03-10"  # a week: the sim news the lexicon reads gives signals by then
NOW = pd.Timestamp("2030-01-01", tz="UTC")  # the wall clock the runs see: no live clipping


def _frame(day: str, n: int = 3, **extra) -> pd.DataFrame:
    ts = pd.date_range(day, periods=n, freq="h", tz="UTC")
    return pd.DataFrame(
        {
            "symbol": [f"S{i}" for i in range(n)],
            "decision_ts": ts,
            "pressure": [0.5, -0.25, 1.0][:n],
            "n_narratives": list(range(n)),
            "event_ts": ts,
            "available_ts": ts,
            **extra,
        }
    )


def _both(tmp_path):
    return MemoryStore(), Lake(tmp_path / "lake")


def test_memory_store_round_trips_like_the_lake(tmp_path):
    mem, lake = _both(tmp_path)
    for store in (mem, lake):
        days = ["2024-03-04", "2024-03-05"]
        store.write_partitions("narrative_pressure", _frame("2024-03-04"), days, by="decision_ts")
        store.write_partition("quarantine_like", "2024-03-04", _frame("2024-03-04", 1), part="bars")
        store.write_table("whole", _frame("2024-03-04", 2))
    assert mem.tables() == lake.tables() == ["narrative_pressure", "quarantine_like", "whole"]
    assert mem.partitions("narrative_pressure") == lake.partitions("narrative_pressure")
    for args in [
        ("narrative_pressure",),
        ("narrative_pressure", "2024-03-05", "2024-03-05"),
        ("whole",),
        ("narrative_pressure", None, None, ["symbol", "pressure"]),
        ("missing_table",),
    ]:
        pd.testing.assert_frame_equal(mem.read(*args), lake.read(*args), obj=str(args))
    # the empty day keeps its columns, typed as written
    assert list(mem.read("narrative_pressure", "2024-03-05", "2024-03-05").columns) == list(
        _frame("2024-03-04").columns
    )


def test_memory_store_replaces_whole_parts_and_keeps_the_lake_rules(tmp_path):
    mem, lake = _both(tmp_path)
    for store in (mem, lake):
        store.write_partition("t", "2024-03-04", _frame("2024-03-04", 3), part="a")
        store.write_partition("t", "2024-03-04", _frame("2024-03-04", 2), part="b")
        store.write_partition("t", "2024-03-04", _frame("2024-03-04", 1), part="a")  # replaces part a only
        with pytest.raises(LakeSchemaError, match="outside the partitions"):
            store.write_partitions("t", _frame("2024-03-09"), ["2024-03-04"], by="decision_ts")
        with pytest.raises(LakeSchemaError, match="missing required columns"):
            store.write_partition("t", "2024-03-04", pd.DataFrame({"x": [1]}))
        with pytest.raises(LakeSchemaError, match="naive"):
            store.write_partition(
                "t", "2024-03-04", _frame("2024-03-04").assign(event_ts=pd.Timestamp("2024-03-04"))
            )
    assert len(mem.read("t")) == 3
    pd.testing.assert_frame_equal(mem.read("t"), lake.read("t"))


def test_fork_reads_through_and_writes_stay_in_the_child():
    parent = MemoryStore()
    parent.write_partition("t", "2024-03-04", _frame("2024-03-04", 3))
    parent.write_partition("t", "2024-03-05", _frame("2024-03-05", 2))
    child = parent.fork()
    child.write_partition("t", "2024-03-05", _frame("2024-03-05", 1))
    child.write_partition("u", "2024-03-06", _frame("2024-03-06", 1))
    assert len(child.read("t")) == 4 and len(parent.read("t")) == 5
    assert child.tables() == ["t", "u"] and parent.tables() == ["t"]
    # a later write to the parent shows through where the child did not write
    parent.write_partition("t", "2024-03-04", _frame("2024-03-04", 1))
    assert len(child.read("t", "2024-03-04", "2024-03-04")) == 1


@pytest.fixture(scope="module")
def chains(tmp_path_factory):
    """The daily chain over FIRST..LAST in memory, over a Lake, and one day at a time in memory.

    The runs share one sentiment cache, as the runs on one lake do: MiniLM's embedding of a text
    differs in the last bits with the batch it is encoded in, and the cache pins the first one.
    """
    tmp = tmp_path_factory.mktemp("chain")
    settings = TracerSettings(lake_root=str(tmp / "lake"), sim_truth_root=str(tmp / "truth"))
    memory, lake, daily = MemoryStore(), Lake(tmp / "lake"), MemoryStore()
    cache = str(tmp / "lake")
    result = run_chain(memory, settings, FIRST, LAST, now=NOW, cache_root=cache)
    run_chain(lake, settings, FIRST, LAST, now=NOW, cache_root=cache)
    for day in pd.date_range(FIRST, LAST).strftime("%Y-%m-%d"):
        run_chain(daily, settings, day, day, now=NOW, cache_root=cache)
    return {"memory": memory, "lake": lake, "daily": daily, "result": result, "settings": settings}


def _tables(store) -> dict[str, pd.DataFrame]:
    return {t: store.read(t) for t in store.tables()}


def test_the_chain_writes_every_daily_table(chains):
    tables = set(chains["memory"].tables())
    assert set(DAILY_STAGES) | {"signals_held_back", "quarantine", "run_health"} <= tables
    r = chains["result"]
    assert len(r.signals) > 0 and len(r.held_back) > 0 and r.n_decisions > 0
    assert set(r.eval_observations["kind"]) == {"signal", "market"}


def test_memory_and_lake_give_identical_frames(chains):
    memory, lake = _tables(chains["memory"]), _tables(chains["lake"])
    assert memory.keys() == lake.keys()
    for table in memory:
        pd.testing.assert_frame_equal(memory[table], lake[table], check_exact=True, obj=table)


def test_a_day_alone_equals_the_day_inside_a_range(chains):
    ranged, daily = _tables(chains["memory"]), _tables(chains["daily"])
    assert ranged.keys() == daily.keys()
    for table in ranged:
        if table == "run_health":  # one row per run: the ids name the run's days, by design
            continue
        pd.testing.assert_frame_equal(ranged[table], daily[table], check_exact=True, obj=table)


def test_every_signal_reads_its_pressure_from_the_narrative_pressure_table(chains):
    store = chains["memory"]
    assert_signals_match_pressure(store.read("signals"), store.read("narrative_pressure"))
    # stock bars close on :30, off the hourly grid, and the table holds those times too
    pressure = store.read("narrative_pressure")
    assert (pd.to_datetime(pressure["decision_ts"]).dt.minute == 30).any()


def assert_signals_match_pressure(signals: pd.DataFrame, pressure: pd.DataFrame) -> None:
    """For every signal, the (symbol, decision_ts) row of narrative_pressure exists and equals its pressure."""
    assert len(signals) > 0
    keyed = pressure.set_index(["symbol", "decision_ts"])["pressure"]
    assert keyed.index.is_unique
    at = keyed.reindex(pd.MultiIndex.from_frame(signals[["symbol", "decision_ts"]]))
    assert at.notna().all(), "signals without a narrative_pressure row"
    assert (at.to_numpy() == signals["pressure"].to_numpy()).all()


def test_fork_runs_the_signal_stages_for_another_parameter_set(chains):
    base = chains["memory"]
    strict = chains["settings"].model_copy(update={"signal_min_strength": 0.9})
    child = base.fork()
    out = run_chain(child, strict, FIRST, LAST, stages=("signals",), now=NOW)
    assert len(out.signals) < len(base.read("signals"))
    assert len(base.read("signals")) == len(chains["result"].signals)  # the parent is untouched


def test_the_asset_graph_has_pressure_feeding_signals_and_no_cross_domain_import():
    import dagster as dg

    from tracer_assets.definitions import defs

    graph = defs.resolve_asset_graph()
    parents = {k.to_user_string() for k in graph.get(dg.AssetKey("signals")).parent_keys}
    assert "narrative_pressure" in parents
    source = Path(__file__).resolve().parents[1] / "tracer_assets" / "defs" / "signals"
    for module in source.glob("*.py"):
        imported = [
            n.module
            for n in ast.walk(ast.parse(module.read_text()))
            if isinstance(n, ast.ImportFrom) and n.module
        ]
        assert not [m for m in imported if m.startswith("tracer_assets.defs.sentiment")], module
