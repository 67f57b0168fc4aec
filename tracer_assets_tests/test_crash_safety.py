"""Issue 13 item 11: a materialization killed with SIGKILL at 20 seeded random points.

After every kill each parquet file in the lake reads whole (writers rename complete files into place),
the dead writer's temp files are swept, and the next run (itself killable) continues from what was
left. Reruns after the kills give the same lake as one clean run, and the digest was delivered
exactly once for the day, with the clean run's text.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from tracer_assets_tests.conftest import isolated_session

DAY = "2024-03-05"
KILLS = 20
SEED = 20261203
ASSETS = ("bars", "price_features", "narratives", "digest")
# per-run records (run ids, wall-clock times) differ between any two runs by design
PER_RUN_TABLES = {"run_health"}


def _materialize() -> bool:
    import dagster as dg

    from tracer_assets.definitions import ALL_ASSETS
    from tracer_assets.defs.resources import TracerResource
    from tracer_assets.demo import QUIET_RUN_CONFIG

    selection = [a for a in ALL_ASSETS if a.key.path[-1] in ASSETS]
    result = dg.materialize(
        selection,
        partition_key=DAY,
        resources={"tracer": TracerResource()},
        instance=dg.DagsterInstance.ephemeral(),
        run_config=QUIET_RUN_CONFIG,
        raise_on_error=False,
    )
    return result.success


def _child() -> None:
    os._exit(0 if _materialize() else 1)


def _lake_tables(lake: Path) -> dict[str, pd.DataFrame]:
    """Every parquet table (partition files concatenated), sorted, so two lakes compare by content."""
    out = {}
    for table in sorted(p.name for p in lake.iterdir() if p.is_dir() and not p.name.startswith("_")):
        if table in PER_RUN_TABLES:
            continue
        files = sorted((lake / table).rglob("part-*.parquet"))
        if not files:
            continue
        frame = pd.concat(
            [pq.read_table(f).to_pandas().assign(_file=str(f.relative_to(lake))) for f in files]
        )
        out[table] = frame.sort_values(list(frame.columns)).reset_index(drop=True).astype(str)
    return out


def _every_file_reads(lake: Path) -> int:
    files = list(lake.rglob("part-*.parquet"))
    for f in files:
        pq.read_table(f)  # raises on a torn file
    return len(files)


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("clean")
    with isolated_session(tmp, TRACER_DIGEST_DELIVER_MAX_AGE_HOURS=str(10**7)):
        t0 = time.perf_counter()
        assert _materialize()
        elapsed = time.perf_counter() - t0
        outbox = [p.read_text() for p in sorted((tmp / "outbox").glob("*.txt"))]
        return _lake_tables(tmp / "lake"), outbox, elapsed


def test_sigkill_at_twenty_random_points_leaves_a_readable_lake_and_one_delivery(tmp_path, clean):
    from tracer_assets.lake import Lake

    clean_tables, clean_outbox, _ = clean
    assert len(clean_outbox) == 1 and set(ASSETS) <= set(clean_tables)
    rng = np.random.default_rng(SEED)
    ctx = multiprocessing.get_context("fork")  # children inherit the imports: a kill point every run
    killed_mid_run = 0
    # every run does the whole work (no skipping an unchanged range), so the kill points hit writes
    with isolated_session(
        tmp_path, TRACER_DIGEST_DELIVER_MAX_AGE_HOURS=str(10**7), TRACER_SKIP_UNCHANGED="0"
    ):
        lake = tmp_path / "lake"
        # one warm forked run, timed: the kill points are spread over how long such a run takes
        t0 = time.perf_counter()
        first = ctx.Process(target=_child)
        first.start()
        first.join()
        assert first.exitcode == 0
        run_seconds = time.perf_counter() - t0
        for _ in range(KILLS):
            child = ctx.Process(target=_child)
            child.start()
            child.join(timeout=float(rng.uniform(0.0, run_seconds)))
            if child.is_alive():
                os.kill(child.pid, signal.SIGKILL)
                killed_mid_run += 1
            child.join()
            if lake.exists():
                _every_file_reads(lake)  # readers never see a partial file
                Lake(lake).sweep_temp_files(max_age_seconds=3600)
                assert not list(lake.rglob(".tmp-*")), "a dead writer's temp file survived the sweep"
        print(
            f"crash safety: {killed_mid_run} of {KILLS} kill points landed inside a run ({run_seconds:.1f}s)"
        )
        assert killed_mid_run >= KILLS // 2, "most kill points must land inside a run"
        assert _materialize()  # the rerun after the last kill
        assert _lake_tables(lake).keys() == clean_tables.keys()
        for table, frame in _lake_tables(lake).items():
            pd.testing.assert_frame_equal(frame, clean_tables[table], obj=table)
        outbox = [p.read_text() for p in sorted((tmp_path / "outbox").glob("*.txt"))]
        assert outbox == clean_outbox, "the digest must be delivered exactly once, with the same text"
        assert not list((tmp_path / "outbox").glob(".tmp-*"))
