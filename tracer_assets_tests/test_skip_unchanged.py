"""Re-materializations that do nothing when nothing changed (defs/skip.py, pipeline/fingerprint.py)."""

from __future__ import annotations

import dagster as dg
import pytest

from tracer_assets.defs.market.assets import bars, price_features
from tracer_assets.defs.resources import TracerResource
from tracer_assets.defs.skip import WHOLE, decide, never_skips
from tracer_assets.demo import range_tags, unchanged_since
from tracer_assets.lake import Lake
from tracer_assets.pipeline.fingerprint import Manifest, file_hash, lake_files
from tracer_assets.settings import TracerSettings

FIRST, LAST = "2024-03-04", "2024-03-06"
DAYS = ["2024-03-04", "2024-03-05", "2024-03-06"]


def materialize(assets, instance) -> dict[str, dict]:
    result = dg.materialize(
        assets, instance=instance, resources={"tracer": TracerResource()}, tags=range_tags(FIRST, LAST)
    )
    assert result.success
    out = {}
    for event in result.get_asset_materialization_events():
        out[event.asset_key.path[-1]] = event.materialization.metadata
    return out


@pytest.fixture
def instance(tracer_env):
    with dg.instance_for_test() as inst:
        yield inst


def test_unchanged_rerun_skips_and_says_so_and_a_changed_input_recomputes(tracer_env, instance):
    first = materialize([bars, price_features], instance)
    assert first["bars"]["skipped"].value is False and first["price_features"]["skipped"].value is False
    lake = Lake(tracer_env / "lake")
    before = {f.relpath: f.path.stat().st_mtime_ns for f in lake_files(lake.root)}

    again = materialize([bars, price_features], instance)
    for asset in ("bars", "price_features"):
        assert again[asset]["skipped"].value is True
        assert "inputs and code unchanged" in again[asset]["skip_reason"].value
    assert {f.relpath: f.path.stat().st_mtime_ns for f in lake_files(lake.root)} == before  # nothing written
    # every partition still carries a data version (the hash of what the asset wrote)
    assert instance.get_latest_data_version_record(bars.key) is not None

    # an input changed (a bars partition lost a row): price_features recomputes from it
    day = lake.read("bars", DAYS[1], DAYS[1])
    lake.write_partition("bars", DAYS[1], day.iloc[1:])
    settings = TracerSettings()
    assert not decide("price_features", settings, DAYS).skip
    redo = materialize([price_features], instance)
    assert redo["price_features"]["skipped"].value is False
    # bars' own files no longer match what it recorded: it refetches rather than skipping
    assert not decide("bars", settings, DAYS).skip
    materialize([bars], instance)
    assert len(lake.read("bars", DAYS[1], DAYS[1])) == len(day)


def test_demo_skips_a_stage_only_when_every_asset_is_unchanged(tracer_env, instance):
    settings = TracerSettings()
    tags = range_tags(FIRST, LAST)
    assert unchanged_since([bars, price_features], tags, settings) is None  # nothing recorded yet
    materialize([bars, price_features], instance)
    line = unchanged_since([bars, price_features], tags, settings, instance)
    assert line is not None and "recorded by run" in line
    # recorded by runs this instance does not know (or that failed): the stage runs again
    with dg.instance_for_test() as other:
        assert unchanged_since([bars, price_features], tags, settings, other) is None
    # a different range was never recorded
    assert unchanged_since([bars], range_tags(FIRST, "2024-03-05"), settings) is None
    # settings are part of the input: another lookback recomputes the features
    other = settings.model_copy(update={"feature_lookback_days": settings.market.feature_lookback_days + 1})
    assert not decide("price_features", other, DAYS).skip


def test_live_partitions_and_outside_sources_never_skip(tracer_env):
    settings = TracerSettings()
    assert never_skips("bars", settings, DAYS) is None
    assert "outside source" in never_skips(
        "bars", settings.model_copy(update={"bars_provider": "alpaca"}), DAYS
    )
    import pandas as pd

    today = pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d")
    assert "today" in never_skips("price_features", settings, [today])
    assert never_skips("eval_metrics_daily", settings, [WHOLE]) is None
    remote = settings.model_copy(update={"lake_root": "s3://bucket/lake"})
    assert "remote" in never_skips("price_features", remote, DAYS)


def test_a_digest_in_its_delivery_window_runs_until_its_delivery_is_recorded(tracer_env):
    import pandas as pd

    from tracer_assets.providers.health import record_delivery
    from tracer_assets.providers.protocols import Delivery
    from tracer_assets.providers.redact import Redactor

    settings = TracerSettings()
    lake = Lake(settings.lake.lake_root)
    yesterday = (pd.Timestamp.now(tz="UTC") - pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    days = ["2024-03-04", yesterday]  # a backfill's old day is outside the window: only yesterday counts
    first = decide("digest", settings, days)
    assert not first.skip and "of " + yesterday in first.reason
    assert first.key  # recorded after the run, so the run after the delivery may skip

    def deliver(ok: bool) -> None:
        delivery = Delivery(channel="outbox", key="k", chunks=1, delivered=ok, detail="" if ok else "503")
        record_delivery(lake, delivery, day=yesterday, run_id="r1", redactor=Redactor.from_settings(settings))

    deliver(False)  # a failed delivery is retried by the next run
    assert "not delivered yet" in decide("digest", settings, days).reason
    deliver(True)
    assert "delivery window" not in decide("digest", settings, days).reason
    Manifest(settings.lake.lake_root).record(
        "digest",
        days,
        {"input": first.key, "output": decide("digest", settings, days).output, "run_id": "r1"},
    )
    assert decide("digest", settings, days).skip  # delivered, inputs unchanged: skips like any asset


def test_manifest_and_file_hashes(tmp_path):
    manifest = Manifest(tmp_path)
    assert manifest.unchanged("bars", DAYS, "k", "o") is None
    manifest.record("bars", DAYS, {"input": "k", "output": "o", "run_id": "r"})
    assert manifest.unchanged("bars", DAYS, "k", "o")["run_id"] == "r"
    assert manifest.unchanged("bars", DAYS, "k2", "o") is None
    assert manifest.unchanged("bars", [*DAYS, "2024-03-07"], "k", "o") is None
    manifest.forget("bars", DAYS[:1])
    assert manifest.unchanged("bars", DAYS, "k", "o") is None
    f = tmp_path / "x.bin"
    f.write_bytes(b"a")
    first = file_hash(f)
    f.write_bytes(b"b")
    assert file_hash(f) != first  # a rewrite is seen (size or mtime changed)


def test_stages_that_honour_governed_versions_read_them(tmp_path):
    """A rollback or a stand-aside adoption changes governed_params: signals and narrative_pressure
    must not skip over it; stages that do not read it ignore it."""
    from pathlib import Path

    from tracer_assets.defs.skip import reads_for
    from tracer_assets.pipeline.fingerprint import LakeFile

    governed = LakeFile("governed_params", "2025-02-01", "rollback_093000", Path("x.parquet"))
    assert reads_for("signals")(governed) and reads_for("narrative_pressure")(governed)
    assert not reads_for("price_features")(governed)


def _touch_back(path, seconds: float = 60.0) -> None:
    """Set a folder's mtime ``seconds`` into the past (older than the listing cache's racy window)."""
    import os
    import time

    old = time.time_ns() - int(seconds * 1e9)
    os.utime(path, ns=(old, old))


def test_lake_listing_cache_sees_every_added_removed_or_new_file(tmp_path):
    """Folder listings are cached by the folder's mtime: a part file added to or removed from a cached
    day folder, a new day folder and a new table are all listed, as a fresh listing would list them."""
    import os

    def fresh() -> list[str]:
        from tracer_assets.pipeline import fingerprint

        fingerprint._DIR_CACHE.clear()
        return [f.relpath for f in lake_files(tmp_path)]

    day = tmp_path / "bars" / "date=2024-03-04"
    day.mkdir(parents=True)
    (day / "part-0.parquet").write_bytes(b"a")
    (tmp_path / "signal_outcomes").mkdir()
    (tmp_path / "signal_outcomes" / "part-0.parquet").write_bytes(b"w")
    for folder in (tmp_path, tmp_path / "bars", day, tmp_path / "signal_outcomes"):
        _touch_back(folder)
    before = [f.relpath for f in lake_files(tmp_path)]  # cached now: every folder is old
    assert before == fresh() and len(before) == 2
    lake_files(tmp_path)
    (day / "part-bars.parquet").write_bytes(b"b")
    assert [f.relpath for f in lake_files(tmp_path)] == fresh()
    assert "bars/date=2024-03-04/part-bars.parquet" in fresh()
    for folder in (tmp_path, tmp_path / "bars", day):
        _touch_back(folder, 30)
    lake_files(tmp_path)
    os.remove(day / "part-0.parquet")
    (tmp_path / "bars" / "date=2024-03-05").mkdir()
    (tmp_path / "bars" / "date=2024-03-05" / "part-0.parquet").write_bytes(b"c")
    (tmp_path / "narratives").mkdir()
    listed = [f.relpath for f in lake_files(tmp_path)]
    assert listed == fresh()
    assert "bars/date=2024-03-04/part-0.parquet" not in listed
    assert "bars/date=2024-03-05/part-0.parquet" in listed


def test_a_folder_changed_just_now_is_listed_again_even_if_its_mtime_does_not_move(tmp_path):
    """File-system clocks tick coarsely: two changes within one tick leave the same mtime. A folder
    younger than the racy window is never served from the cache, so the second change is seen."""
    import os

    day = tmp_path / "bars" / "date=2024-03-04"
    day.mkdir(parents=True)
    (day / "part-0.parquet").write_bytes(b"a")
    stamp = os.stat(day).st_mtime_ns
    assert len(lake_files(tmp_path)) == 1
    (day / "part-bars.parquet").write_bytes(b"b")
    os.utime(day, ns=(stamp, stamp))  # as if within the same clock tick as the listing
    assert len(lake_files(tmp_path)) == 2
