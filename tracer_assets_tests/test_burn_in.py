"""Issue 13 item 10: the burn-in harness, small (3 ticks), and the fault-injecting provider."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

from tracer_assets.providers.resilience import BreakerRegistry, Resilience
from tracer_assets.settings import TracerSettings
from tracer_assets_tests.faults import FaultInjector, FaultyProvider

ROOT = Path(__file__).resolve().parents[1]


def _burn_in_module():
    spec = importlib.util.spec_from_file_location("burn_in", ROOT / "benchmarks" / "burn_in.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Sim:
    name = "sim"

    def fetch_bars(self, *args):
        return pd.DataFrame({"symbol": ["BTC/USD"], "close": [1.0]})


def _provider(rate: float, seed: int, kinds=("timeout", "http_5xx", "http_429", "drip")):
    sleeps: list[float] = []
    resilience = Resilience(TracerSettings(), sleep=sleeps.append, breakers=BreakerRegistry())
    return FaultyProvider(_Sim(), "bars", resilience, FaultInjector(rate, seed, kinds)), sleeps


def test_retryable_faults_are_retried_and_recovered(tracer_env):
    provider, sleeps = _provider(0.25, 3)
    results = [provider.fetch_bars_result() for _ in range(40)]
    injected = provider.injector.injected
    assert sum(injected.values()) >= 5 and provider.injector.attempts > 40  # retries happened
    assert 2.0 in sleeps  # the 429's Retry-After was honoured
    recovered = [r for r in results if not r.degraded]
    assert all(len(r.frame) == 1 for r in recovered) and len(recovered) >= 35


def test_fatal_faults_degrade_with_the_reason(tracer_env):
    provider, _ = _provider(1.0, 1, kinds=("malformed",))
    result = provider.fetch_bars_result()
    assert result.degraded and "not JSON" in result.reason and len(result.frame) == 0
    assert provider.injector.attempts == 2  # a malformed read is tried once more, then degrades


def test_rows_lost_counts_missing_and_changed_rows():
    burn_in = _burn_in_module()
    ref = {"bars": pd.DataFrame({"symbol": ["A", "B", "C"], "close": ["1", "2", "3"]})}
    got = {"bars": pd.DataFrame({"symbol": ["A", "B"], "close": ["1", "2.5"]})}
    assert burn_in.rows_lost(ref, got) == {"bars": 2}
    assert burn_in.rows_lost(ref, {}) == {"bars": 3}
    assert burn_in.rows_lost(ref, ref) == {"bars": 0}


def test_decisions_may_differ_only_on_days_with_a_degraded_input():
    burn_in = _burn_in_module()
    book = {"d1": pd.DataFrame({"equity": ["100"]}), "d2": pd.DataFrame({"equity": ["101"]})}
    other = {"d1": pd.DataFrame({"equity": ["100"]}), "d2": pd.DataFrame({"equity": ["99"]})}
    bars = {"d1": pd.DataFrame({"close": ["1"]}), "d2": pd.DataFrame({"close": ["2"]})}
    no_bars = {"d1": bars["d1"], "d2": bars["d2"].iloc[0:0]}
    ref, got = {"portfolio": book, "bars": bars}, {"portfolio": other, "bars": no_bars}
    # d2 degraded: the book's different day is the rule at work, the missing bar is still lost
    assert burn_in.compare(ref, got, {"d2"}) == ({"portfolio": 0, "bars": 1}, {"portfolio": 1})
    # no degraded day: the same difference in the book is a loss
    assert burn_in.compare(ref, got, set()) == ({"portfolio": 1, "bars": 1}, {})


@pytest.mark.parametrize("ticks", [3])
def test_small_burn_in_through_the_real_dagster_path(tmp_path, tracer_env, ticks):
    burn_in = _burn_in_module()
    figures = burn_in.run_burn_in(
        tmp_path,
        ticks=ticks,
        fault_rate=0.2,
        seed=11,
        echo=lambda *_: None,
        kinds=("timeout", "http_5xx", "http_429", "drip"),
    )
    assert figures["ticks"] == ticks and figures["runs"] >= ticks
    assert figures["crashed_runs"] == 0
    assert figures["retries"] > 0 and sum(figures["faults_injected"].values()) > 0
    assert figures["degraded_runs"] == 0  # retryable faults at 20% are absorbed by 4 attempts
    assert figures["rows_lost"] == 0, figures["rows_lost_by_table"]
    assert 0 < figures["tick_p50_s"] <= figures["tick_p95_s"]
    assert "crashed 0" in burn_in.report(figures)
