"""Circuit-breaker state shared across worker processes through one SQLite file."""

from __future__ import annotations

import multiprocessing as mp
import signal

import pytest

from tracer_assets.providers.resilience import (
    BREAKERS,
    BreakerRegistry,
    CircuitBreaker,
    SqliteBreakerStore,
    breaker_store_path,
    shared_breakers,
)
from tracer_assets.settings import TracerSettings

T0 = 1_000_000.0
COOLDOWN = 60.0


def _breaker(path: str, now: float, threshold: int = 3) -> CircuitBreaker:
    return CircuitBreaker("svc", threshold, COOLDOWN, clock=lambda: now, store=SqliteBreakerStore(path))


def _fail_many(path: str, n: int) -> None:
    breaker = _breaker(path, T0, threshold=10**6)
    for _ in range(n):
        breaker.record_failure()


def _allow(path: str, now: float) -> bool:
    return _breaker(path, now).allow()


def _pool(n: int):
    # spawn, not fork: a fork of the test process can inherit a lock another thread holds and hang.
    # SIGTERM back to its default in the workers: Dagster maps SIGTERM onto SIGINT's handler, which is
    # "ignore" when the suite runs in the background (`make test &`), and Pool.terminate would then wait
    # forever on workers that cannot be stopped.
    return mp.get_context("spawn").Pool(
        n, initializer=signal.signal, initargs=(signal.SIGTERM, signal.SIG_DFL)
    )


def test_concurrent_failures_from_many_processes_are_all_counted(tmp_path):
    path = str(tmp_path / "breakers.sqlite")
    with _pool(4) as pool:
        pool.starmap(_fail_many, [(path, 40)] * 4)
    assert _breaker(path, T0).failures == 160  # BEGIN IMMEDIATE: no update lost between workers


def test_a_breaker_opened_by_one_process_is_open_in_another_and_one_trial_wins(tmp_path):
    path = str(tmp_path / "breakers.sqlite")
    here = _breaker(path, T0)
    for _ in range(3):
        here.record_failure()
    with _pool(4) as pool:
        assert pool.starmap(_allow, [(path, T0 + 30)] * 4) == [False] * 4  # still cooling down
        after = pool.starmap(_allow, [(path, T0 + COOLDOWN + 1)] * 8)
    assert sorted(after) == [False] * 7 + [True]  # exactly one worker sends the half-open trial
    registry = BreakerRegistry(SqliteBreakerStore(path))
    assert registry.states() == {"svc": "half_open"}
    # the trial's worker died without a verdict: after another cool-down a new trial may go
    assert not _allow(path, T0 + COOLDOWN + 2)
    assert _allow(path, T0 + 2 * COOLDOWN + 2)
    _breaker(path, T0 + 2 * COOLDOWN + 3).record_success()
    assert registry.states() == {"svc": "closed"} and _breaker(path, T0).failures == 0


def test_store_location_follows_the_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    local = TracerSettings(lake_root=str(tmp_path / "lake"))
    assert breaker_store_path(local) == tmp_path / "lake" / "_control" / "breakers.sqlite"
    remote = TracerSettings(lake_root="s3://bucket/lake")
    assert breaker_store_path(remote) == tmp_path / "home" / "tracer" / "breakers.sqlite"
    monkeypatch.setenv("TRACER_BREAKER_STORE", "memory")
    assert breaker_store_path(TracerSettings(lake_root="s3://bucket/lake")) is None
    monkeypatch.setenv("TRACER_BREAKER_STORE", str(tmp_path / "shared.sqlite"))
    explicit = TracerSettings(lake_root=str(tmp_path / "lake"))
    assert breaker_store_path(explicit) == tmp_path / "shared.sqlite"
    try:
        registry = shared_breakers(explicit)
        assert registry is BREAKERS and registry.store.key == str(tmp_path / "shared.sqlite")
        registry.get("svc", 1, COOLDOWN).record_failure()
        assert BreakerRegistry(SqliteBreakerStore(tmp_path / "shared.sqlite")).states() == {"svc": "open"}
    finally:
        monkeypatch.setenv("TRACER_BREAKER_STORE", "memory")
        shared_breakers(TracerSettings())
        BREAKERS.reset()


def test_an_unwritable_store_fails_loudly(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OSError):
        SqliteBreakerStore(blocker / "breakers.sqlite")
