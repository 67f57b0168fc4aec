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
  rolled back and Dagster stores its events one by one (its own fallback); see ``event_batches``.

Only this process's storage object (and its instance's batch size) changes: ``dagster.yaml``, the UI,
other processes (a multiprocess run's step workers too) keep Dagster's own storage; every event is still
stored, so every partition shows materialized (or failed) as before. A commit error between the run shard's
and the index shard's commits of a batch would leave the run shard's half stored twice after Dagster's
fallback; Dagster's own ``store_event`` is no more atomic across the two shards.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from tracer_assets.defs.event_batches import batch_writer, enable_batches

MAX_ENGINES = 8  # run shards come and go; the index shard stays the most recently used


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
    storage.store_event_batch = batch_writer(storage, batch)
    enable_batches(instance)
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
