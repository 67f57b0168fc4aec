"""Dagster's event batches in one transaction per shard, for the demo's pooled SQLite event log.

Dagster marks some events as a batch (a run's planned events, the per-partition materializations of one
output) and hands a batch to ``store_event_batch`` when the instance's batch size is above zero; its SQL
storages inherit a loop of ``store_event``. ``batch_writer`` keeps that loop (Dagster's own per-event
logic) but opens each shard once for the batch (``event_storage``'s pooled ``_connect`` hands the batch's
connection back while ``batch.conns`` is set) and commits at the end; on any error it rolls back and
Dagster stores the events one by one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

# Events per transaction: a year's stage plans ~7,000 events at once; other threads (the demo's step
# watcher) wait for a batch's lock, so a batch stays well under a second.
EVENT_BATCH_SIZE = 256
_BATCH_ENV = "DAGSTER_EVENT_BATCH_SIZE"  # Dagster's own switch: when set, its value rules


def batch_writer(storage, batch) -> Callable[[Sequence], None]:
    """``storage.store_event_batch``: Dagster's ``store_event`` per event, one transaction per shard."""

    def store_event_batch(events: Sequence) -> None:
        with storage._db_lock:
            batch.conns = conns = {}
            try:
                for ev in events:
                    storage.store_event(ev)
                for conn in conns.values():
                    conn.commit()
            except BaseException:
                for conn in conns.values():
                    conn.rollback()
                raise
            finally:
                batch.conns = None
                for conn in conns.values():
                    conn.close()

    return store_event_batch


def enable_batches(instance) -> None:
    """Let ``instance`` (this object only) hand Dagster's event batches to ``store_event_batch``,
    unless ``DAGSTER_EVENT_BATCH_SIZE`` is set (then Dagster's own setting applies)."""
    if os.getenv(_BATCH_ENV) is not None:
        return
    if not (hasattr(instance, "_get_event_batch_size") and hasattr(instance, "_is_batch_writing_enabled")):
        return  # another Dagster: its events are stored one by one, still pooled
    instance._get_event_batch_size = lambda: EVENT_BATCH_SIZE
