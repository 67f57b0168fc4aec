"""Cheaper Dagster event storage for long range runs in this process (the demo's).

A single-run backfill of a year stores thousands of events (one planned and one materialization event
per asset and partition). Dagster's SQLite event log opens a new SQLAlchemy engine and connection for
every event, and closing the last connection of a WAL database checkpoints it with an fsync, so each
event pays an engine build, two fsyncs and a checkpoint. ``pool_sqlite_event_log`` changes three things
for this process's storage object:

- one engine (and its pooled connection) per shard, with ``synchronous=NORMAL``, the setting SQLite
  recommends with WAL: a commit no longer waits for the disk, a crash of the process loses nothing,
  and the database cannot be corrupted (a power cut may lose the last commits);
- schema probes answer from memory once they found the table or column: Dagster asks, for every asset
  event, whether the index shard has the ``asset_event_tags`` table (building a throwaway engine to
  do so) and whether ``asset_keys`` has its index columns. Tables and columns are only ever added
  (``create_all`` at init, or ``dagster instance migrate``); only an alembic downgrade drops them, and
  nobody runs one under a live run. A "no" is asked again every time, as Dagster does;
- the events Dagster marks as a batch (a run's planned events, the per-partition materializations of
  one output) are stored through Dagster's own ``store_event``, one event after another, but in one
  transaction per shard instead of one per event. A batch is all or nothing: when it fails it is
  rolled back and Dagster stores its events one by one (its own fallback).

Only this process's storage object changes: ``dagster.yaml``, the UI and other processes keep Dagster's
own storage; every event is still stored, so every partition shows materialized (or failed) as before.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

MAX_ENGINES = 8  # run shards come and go; the index shard stays the most recently used
# Events per transaction: a year's stage plans ~7,000 events at once; other threads (the demo's step
# watcher) wait for a batch's lock, so a batch stays well under a second.
EVENT_BATCH_SIZE = 256
_BATCH_ENV = "DAGSTER_EVENT_BATCH_SIZE"  # Dagster's own switch: when set, its value rules


def pool_sqlite_event_log(instance) -> bool:
    """Pool ``instance``'s SQLite event-log connections (per shard), remember found tables and columns
    and store Dagster's event batches in one transaction; False when it is not Dagster's sharded SQLite
    storage (Postgres, consolidated SQLite, in-memory): then nothing changes."""
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    storage = instance.event_log_storage
    if type(storage) is not SqliteEventLogStorage or getattr(storage, "_tracer_pooled", False):
        return False
    required = ("_db_lock", "_initialized_dbs", "_initdb", "conn_string_for_shard")
    if not all(hasattr(storage, name) for name in required):
        return False
    batch = threading.local()  # .conns: shard -> open connection of this thread's batch
    storage._connect = _pooled_connect(storage, batch)
    _remember_schema_probes(storage)
    storage.store_event_batch = _batch_writer(storage, batch)
    _enable_batches(instance)
    storage._tracer_pooled = True
    return True


def _pooled_connect(storage, batch):
    """``storage._connect`` with one engine per shard; inside a batch, the batch's open connection."""
    from dagster._core.storage.sql import create_engine
    from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
    from sqlalchemy import event

    engines: OrderedDict[str, object] = OrderedDict()

    def _pragmas(dbapi_conn, _record) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    def _engine(shard: str):  # the caller holds storage._db_lock
        engine = engines.get(shard)
        if engine is None:
            engine = create_engine(
                storage.conn_string_for_shard(shard),
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
            )
            event.listen(engine, "connect", _pragmas)
            if shard not in storage._initialized_dbs:
                storage._initdb(engine)
                storage._initialized_dbs.add(shard)
            engines[shard] = engine
            while len(engines) > MAX_ENGINES:
                _, old = engines.popitem(last=False)
                old.dispose()
        else:
            engines.move_to_end(shard)
        return engine

    @contextmanager
    def _connect(shard: str) -> Iterator:
        open_conns = getattr(batch, "conns", None)
        if open_conns is not None:  # this thread's batch holds the lock and commits at its end
            conn = open_conns.get(shard)
            if conn is None:
                conn = _engine(shard).connect()
                conn.begin()
                open_conns[shard] = conn
            yield conn
            return
        with storage._db_lock, _engine(shard).connect() as conn, conn.begin():
            yield conn

    return _connect


def _batch_writer(storage, batch):
    """``storage.store_event_batch``: Dagster's ``store_event`` per event, one transaction per shard."""

    def store_event_batch(events) -> None:
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


def _remember_schema_probes(storage) -> None:
    """Answer ``has_table`` and the asset-key column probe from memory once they said yes."""
    found_tables: set[str] = set()
    found_cols: set[str] = set()
    has_table = storage.has_table
    has_col = getattr(storage, "_has_asset_key_col_on_connection", None)

    def _has_table(table_name: str) -> bool:
        if table_name in found_tables:
            return True
        if has_table(table_name):
            found_tables.add(table_name)
            return True
        return False

    storage.has_table = _has_table
    if has_col is None:
        return

    def _has_asset_key_col_on_connection(conn, column_name: str) -> bool:
        # asset_keys lives in the index shard, the only connection Dagster asks this on
        if column_name in found_cols:
            return True
        if has_col(conn, column_name):
            found_cols.add(column_name)
            return True
        return False

    storage._has_asset_key_col_on_connection = _has_asset_key_col_on_connection


def _enable_batches(instance) -> None:
    """Let ``instance`` (this object only) hand Dagster's event batches to ``store_event_batch``,
    unless ``DAGSTER_EVENT_BATCH_SIZE`` is set (then Dagster's own setting applies)."""
    if os.getenv(_BATCH_ENV) is not None:
        return
    if not (hasattr(instance, "_get_event_batch_size") and hasattr(instance, "_is_batch_writing_enabled")):
        return  # another Dagster: its events are stored one by one, still pooled
    instance._get_event_batch_size = lambda: EVENT_BATCH_SIZE
