"""TRACER_EXECUTOR=multiprocess: steps in their own processes, the same lake as one in-process run."""

from __future__ import annotations

import os

import dagster as dg
import pandas as pd

from tracer_assets.definitions import ALL_ASSETS, run_assets, tracer_executor
from tracer_assets.defs.partitions import daily_partitions
from tracer_assets.demo import QUIET_RUN_CONFIG
from tracer_assets.lake import Lake
from tracer_assets_tests.conftest import isolated_session
from tracer_assets_tests.pipeline_util import range_tags

FIRST, LAST = "2024-03-04", "2024-03-05"
UNIVERSE = """calendar: XNYS
instruments:
  - {symbol: BTC/USD, asset_class: crypto, sim_price: 60000, sim_vol_annual: 0.55}
  - {symbol: AAPL, asset_class: stock, sim_price: 190, sim_vol_annual: 0.25}
"""
# what names the run that wrote a row, or when it ran (run_health records the fetch's wall clock)
RUN_SPECIFIC = {"run_health": ["run_id", "health_id", "event_ts", "available_ts"]}


def _daily_range(tmp, executor: str) -> tuple[Lake, dg.DagsterInstance, object]:
    tmp.mkdir()
    (tmp / "universe.yaml").write_text(UNIVERSE)
    with isolated_session(tmp, TRACER_EXECUTOR=executor, TRACER_UNIVERSE=str(tmp / "universe.yaml")):
        os.makedirs(os.environ["DAGSTER_HOME"])
        instance = dg.DagsterInstance.get()  # persistent: step processes report to it
        daily = [a for a in ALL_ASSETS if a.partitions_def == daily_partitions]
        result = run_assets(
            daily, instance=instance, tags=range_tags(FIRST, LAST), run_config=QUIET_RUN_CONFIG
        )
        assert result.success
        return Lake(tmp / "lake"), instance, result


def _frame(lake: Lake, table: str) -> pd.DataFrame:
    df = lake.read(table).drop(columns=RUN_SPECIFIC.get(table, []), errors="ignore")
    df = df[sorted(df.columns)]
    return df.sort_values(list(df.columns)).reset_index(drop=True)


def test_executor_is_a_setting_read_when_a_run_starts(monkeypatch):
    from dagster._core.executor.in_process import InProcessExecutor
    from dagster._core.executor.multiprocess import MultiprocessExecutor

    def started() -> object:
        return tracer_executor.executor_creation_fn(None)

    monkeypatch.delenv("TRACER_EXECUTOR", raising=False)
    assert isinstance(started(), InProcessExecutor)
    monkeypatch.setenv("TRACER_EXECUTOR", "multiprocess")
    monkeypatch.setenv("TRACER_EXECUTOR_MAX_CONCURRENT", "3")
    executor = started()
    assert isinstance(executor, MultiprocessExecutor) and executor._max_concurrent == 3


def test_multiprocess_range_writes_the_same_lake_as_in_process(tmp_path):
    multi, _, multi_result = _daily_range(tmp_path / "multi", "multiprocess")
    single, _, single_result = _daily_range(tmp_path / "single", "in_process")
    test_pid = os.getpid()
    step_pids = {e.pid for e in multi_result.all_events if e.event_type_value == "STEP_START"}
    assert len(step_pids) >= 3 and test_pid not in step_pids  # one process per step
    assert {e.pid for e in single_result.all_events if e.event_type_value == "STEP_START"} == {test_pid}
    tables = single.tables()
    assert multi.tables() == tables and {"bars", "signals", "narrative_scores", "digest"} <= set(tables)
    for table in tables:
        a, b = _frame(multi, table), _frame(single, table)
        assert len(a) == len(b), table
        pd.testing.assert_frame_equal(a, b, obj=table)
