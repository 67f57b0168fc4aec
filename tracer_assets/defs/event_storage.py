"""Cheaper Dagster event storage for long range runs in this process (the demo's).

A single-run backfill of a year stores thousands of events (one planned and one materialization event
per asset and partition). Dagster's SQLite event log opens a new SQLAlchemy engine and connection for
every event, and closing the last connection of a WAL database checkpoints it with an fsync, so each
event pays an engine build, two fsyncs and a checkpoint. ``pool_sqlite_event_log`` keeps one engine
(and its pooled connection) per shard for this process and sets ``synchronous=NORMAL``, the setting
SQLite recommends with WAL: a commit no longer waits for the disk, a crash of the process loses
nothing, and the database cannot be corrupted (a power cut may lose the last commits).

Only this process's storage object changes: ``dagster.yaml``, the UI and other processes keep Dagster's
own storage; every event is still stored, so every partition shows materialized (or failed) as before.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

MAX_ENGINES = 8  # run shards come and go; the index shard stays the most recently used


def pool_sqlite_event_log(instance) -> bool:
    """Pool ``instance``'s SQLite event-log connections (per shard); False when it is not Dagster's
    sharded SQLite storage (Postgres, consolidated SQLite, in-memory): then nothing changes."""
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
    from dagster._core.storage.sql import create_engine
    from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
    from sqlalchemy import event

    storage = instance.event_log_storage
    if type(storage) is not SqliteEventLogStorage or getattr(storage, "_tracer_pooled", False):
        return False
    required = ("_db_lock", "_initialized_dbs", "_initdb", "conn_string_for_shard")
    if not all(hasattr(storage, name) for name in required):
        return False
    engines: OrderedDict[str, object] = OrderedDict()

    def _pragmas(dbapi_conn, _record) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @contextmanager
    def _connect(shard: str) -> Iterator:
        with storage._db_lock:
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
            with engine.connect() as conn, conn.begin():
                yield conn

    storage._connect = _connect
    storage._tracer_pooled = True
    return True
