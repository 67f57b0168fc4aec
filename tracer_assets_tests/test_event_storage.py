"""The demo's pooled SQLite event log: every event still stored, partitions materialized or failed."""

from __future__ import annotations

import dagster as dg

from tracer_assets.defs.event_storage import pool_sqlite_event_log

DAYS = dg.DailyPartitionsDefinition(start_date="2024-01-01")
TAGS = {
    "dagster/asset_partition_range_start": "2024-01-01",
    "dagster/asset_partition_range_end": "2024-01-05",
}


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run())
def ok_asset(context) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"n": len(context.partition_keys)})


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run())
def failing_asset(context) -> None:
    raise RuntimeError("boom")


def test_pooled_event_log_stores_every_partition_and_marks_failures(tmp_path):
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        assert pool_sqlite_event_log(instance) is True
        assert pool_sqlite_event_log(instance) is False  # once per storage
        result = dg.materialize([ok_asset], instance=instance, tags=TAGS)
        assert result.success
        assert instance.get_materialized_partitions(ok_asset.key) == {f"2024-01-0{d}" for d in range(1, 6)}
        bad = dg.materialize([failing_asset], instance=instance, tags=TAGS, raise_on_error=False)
        assert not bad.success
        planned = instance.get_records_for_run(
            bad.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED
        ).records
        assert len(planned) == 5  # one per partition, so the failed run marks each partition failed
        status = instance.get_status_by_partition(
            failing_asset.key, [f"2024-01-0{d}" for d in range(1, 6)], DAYS
        )
        assert set(status.values()) == {dg.AssetPartitionStatus.FAILED}


def test_other_storages_are_left_alone():
    # an in-memory (or Postgres) storage is not Dagster's sharded SQLite one: nothing to pool
    assert pool_sqlite_event_log(dg.DagsterInstance.ephemeral()) is False
