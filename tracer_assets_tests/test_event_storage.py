"""The demo's pooled SQLite event log: every event still stored, partitions materialized or failed."""

from __future__ import annotations

import sqlite3
from collections import Counter

import dagster as dg
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from tracer_assets.defs.event_batches import enable_batches
from tracer_assets.defs.event_storage import pool_sqlite_event_log

DAYS = dg.DailyPartitionsDefinition(start_date="2024-01-01")
KEYS = [f"2024-01-0{d}" for d in range(1, 6)]
TAGS = {
    "dagster/asset_partition_range_start": KEYS[0],
    "dagster/asset_partition_range_end": KEYS[-1],
}


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run())
def ok_asset(context) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"n": len(context.partition_keys)})


@dg.asset_check(asset=ok_asset)
def ok_asset_check() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run())
def failing_asset(context) -> None:
    raise RuntimeError("boom")


def _run_event_types(instance, run_id: str) -> Counter:
    records = instance.get_records_for_run(run_id, limit=10_000).records
    return Counter(r.event_log_entry.dagster_event_type for r in records)


def test_pooled_event_log_stores_every_partition_and_marks_failures(tmp_path):
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        assert pool_sqlite_event_log(instance) is True
        assert pool_sqlite_event_log(instance) is False  # once per storage
        result = dg.materialize([ok_asset], instance=instance, tags=TAGS)
        assert result.success
        assert instance.get_materialized_partitions(ok_asset.key) == set(KEYS)
        bad = dg.materialize([failing_asset], instance=instance, tags=TAGS, raise_on_error=False)
        assert not bad.success
        planned = instance.get_records_for_run(
            bad.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED
        ).records
        assert len(planned) == 5  # one per partition, so the failed run marks each partition failed
        status = instance.get_status_by_partition(failing_asset.key, KEYS, DAYS)
        assert set(status.values()) == {dg.AssetPartitionStatus.FAILED}


def test_batched_run_stores_what_stock_storage_stores_and_other_readers_see_it(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_EVENT_BATCH_SIZE", raising=False)
    counts, statuses = {}, {}
    for name in ("stock", "pooled"):
        (tmp_path / name).mkdir()
        with dg.instance_for_test(temp_dir=str(tmp_path / name)) as instance:
            if name == "pooled":
                assert pool_sqlite_event_log(instance)
                assert instance._is_batch_writing_enabled()  # this instance's batches, one transaction
            result = dg.materialize([ok_asset, ok_asset_check], instance=instance, tags=TAGS)
            assert result.success
            counts[name] = _run_event_types(instance, result.run_id)
            # a fresh instance on the same home reads through Dagster's own storage (the UI, the daemon)
            with dg.DagsterInstance.from_ref(instance.get_ref()) as reader:
                assert type(reader.event_log_storage) is SqliteEventLogStorage
                assert not hasattr(reader.event_log_storage, "_tracer_pooled")
                assert reader.get_materialized_partitions(ok_asset.key) == set(KEYS)
                assert _run_event_types(reader, result.run_id) == counts[name]
                mats = reader.fetch_materializations(ok_asset.key, limit=100).records
                assert sorted(m.partition_key for m in mats) == KEYS  # each partition once
                checks = reader.event_log_storage.get_asset_check_execution_history(
                    ok_asset_check.check_key, limit=10
                )
                statuses[name] = sorted(c.status.value for c in checks)
    assert counts["pooled"] == counts["stock"]
    assert statuses["pooled"] == statuses["stock"] and "SUCCEEDED" in statuses["stock"]
    assert counts["pooled"][dg.DagsterEventType.ASSET_MATERIALIZATION] == len(KEYS)


def test_a_failed_batch_leaves_nothing_and_dagster_stores_its_events_one_by_one(tmp_path, capsys):
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        assert pool_sqlite_event_log(instance)
        storage = instance.event_log_storage
        store_event = storage.store_event
        calls = Counter()

        def flaky_store_event(event):
            if event.dagster_event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
                calls["mat"] += 1
                if calls["mat"] == 3:  # the third of the batch's five, once
                    raise OSError("disk hiccup")
            store_event(event)

        storage.store_event = flaky_store_event
        result = dg.materialize([ok_asset], instance=instance, tags=TAGS)
        assert result.success
        assert "Falling back to storing multiple single-event" in capsys.readouterr().err
        assert calls["mat"] == 3 + len(KEYS)  # the batch stopped at the third, then each one alone
        mats = instance.get_records_for_run(
            result.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
        ).records
        assert len(mats) == len(KEYS)  # the first two of the failed batch were rolled back
        index = instance.fetch_materializations(ok_asset.key, limit=100).records
        assert sorted(m.partition_key for m in index) == KEYS


def test_schema_probes_remember_yes_and_ask_again_after_no(tmp_path, monkeypatch):
    asked = Counter()
    original = SqliteEventLogStorage.has_table

    def counting_has_table(self, table_name):
        asked[table_name] += 1
        return original(self, table_name)

    monkeypatch.setattr(SqliteEventLogStorage, "has_table", counting_has_table)
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        assert pool_sqlite_event_log(instance)
        storage = instance.event_log_storage
        asked.clear()
        assert storage.has_table("asset_event_tags") and storage.has_table("asset_event_tags")
        assert asked["asset_event_tags"] == 1
        assert not storage.has_table("tracer_probe") and not storage.has_table("tracer_probe")
        assert asked["tracer_probe"] == 2  # a "no" is not remembered: a migration may add the table
        with sqlite3.connect(storage.path_for_shard("index")) as db:
            db.execute("CREATE TABLE tracer_probe (x INTEGER)")
        assert storage.has_table("tracer_probe")
        with storage.index_connection() as conn:
            assert storage._has_asset_key_index_cols_on_connection(conn)
            assert not storage._has_asset_key_col_on_connection(conn, "no_such_column")
        assert dg.materialize([ok_asset], instance=instance, tags=TAGS).success
        assert asked["asset_event_tags"] == 1  # the run's materializations asked nobody


def test_dagster_batch_setting_rules_when_set(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "0")
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        assert pool_sqlite_event_log(instance)
        assert not instance._is_batch_writing_enabled()
        assert dg.materialize([ok_asset], instance=instance, tags=TAGS).success
        assert instance.get_materialized_partitions(ok_asset.key) == set(KEYS)


def test_an_instance_of_another_shape_is_left_alone(monkeypatch):
    monkeypatch.delenv("DAGSTER_EVENT_BATCH_SIZE", raising=False)

    class OtherInstance:  # a Dagster whose instance has no per-instance batch size
        pass

    other = OtherInstance()
    enable_batches(other)
    assert vars(other) == {}


def test_other_storages_are_left_alone():
    # an in-memory (or Postgres) storage is not Dagster's sharded SQLite one: nothing to pool
    assert pool_sqlite_event_log(dg.DagsterInstance.ephemeral()) is False
