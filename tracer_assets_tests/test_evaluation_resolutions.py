"""The resolution sensor: one request per newly resolved set, a cursor that never skips or repeats,
and provider errors that skip a tick without losing anything."""

from __future__ import annotations

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from tracer_assets.defs.evaluation import resolutions
from tracer_assets.defs.evaluation.resolutions import (
    market_resolution_sensor,
    newly_resolved,
    read_cursor,
    resolution_tick,
)
from tracer_assets.providers.sim import SimWorld
from tracer_assets.settings import TracerSettings
from tracer_assets.universe import load_universe


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def market(market_id: str, end: str, closed: bool, outcome: float = np.nan, **extra) -> dict:
    return {
        "market_id": market_id,
        "question": f"Will BTC close above $60,000 ({market_id})?",
        "symbol": "BTC/USD",
        "yes_price": outcome if closed else 0.5,
        "end_ts": ts(end),
        "closed": closed,
        "resolved_outcome": outcome,
        **extra,
    }


class ScriptedProvider:
    """Answers each call with the next scripted snapshot (or raises it, when it is an exception)."""

    name = "scripted"

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls: list[pd.Timestamp] = []

    def fetch_markets(self, instruments, as_of):
        self.calls.append(as_of)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        frame = pd.DataFrame(answer)
        frame["event_ts"] = frame["available_ts"] = as_of
        return frame


NIGHT = [
    market("a", "2024-03-10 00:00", True, 1.0),
    market("b", "2024-03-10 00:00", True, 0.0),
    market("half", "2024-03-10 00:00", True, 0.5),  # 50-50 still counts as resolved: it is evaluated
    market("open", "2024-03-12 00:00", False),
    market("disputed", "2024-03-10 00:00", True, np.nan),  # closed but not resolved: not yet
]


def since(result) -> str:
    return read_cursor(result.cursor, ts("2024-03-10"))[0].isoformat()


def run_ticks(provider, times: list[str], cursor: str | None = None, instruments: list | None = None):
    """Ticks at ``times`` (full timestamps, or bare clock times on 2024-03-10), cursor carried over."""
    results = []
    for t in times:
        result = resolution_tick(
            provider, instruments or [], cursor, ts(t if "-" in t else f"2024-03-10 {t}")
        )
        cursor = result.cursor
        results.append(result)
    return results


def test_first_tick_requests_todays_evaluation_for_what_resolved_since_midnight():
    (result,) = run_ticks(ScriptedProvider(NIGHT), ["00:20"])
    (request,) = result.run_requests
    assert request.partition_key == "2024-03-10"
    assert request.tags["tracer/resolved_markets"] == "3"
    assert request.run_key.startswith("resolutions-2024-03-10-")
    assert since(result) == ts("2024-03-10").isoformat()


def test_no_double_requests_and_new_resolutions_get_their_own():
    later = [*NIGHT, market("c", "2024-03-10 09:00", True, 1.0)]
    results = run_ticks(ScriptedProvider(NIGHT, NIGHT, later, later), ["00:20", "00:25", "09:05", "09:10"])
    requests = [r.run_requests for r in results]
    assert [len(r) for r in requests] == [1, 0, 1, 0]
    assert requests[2][0].tags["tracer/resolved_markets"] == "1"  # only the market resolved since
    assert requests[0][0].run_key != requests[2][0].run_key
    assert results[1].skip_reason is not None and since(results[3]) == ts("2024-03-10 09:00").isoformat()


def test_an_error_tick_keeps_the_cursor_and_the_next_tick_catches_up():
    provider = ScriptedProvider(TimeoutError("read timed out"), ValueError("malformed JSON"), NIGHT, NIGHT)
    results = run_ticks(provider, ["00:20", "00:25", "00:30", "00:35"], cursor="2024-03-09T00:00:00+00:00")
    assert [len(r.run_requests) for r in results] == [0, 0, 1, 0]
    assert "TimeoutError: read timed out" in results[0].skip_reason.skip_message
    assert "scripted" in results[1].skip_reason.skip_message
    assert results[0].cursor == results[1].cursor == "2024-03-09T00:00:00+00:00"
    assert since(results[2]) == ts("2024-03-10").isoformat()


def test_a_result_published_after_the_cursor_passed_its_close_is_still_requested_once():
    late = [*NIGHT, market("late", "2024-03-10 00:00", True, 1.0)]  # closed at midnight, settled at 14:00
    later = [*late, market("c", "2024-03-10 09:00", True, 1.0)]
    results = run_ticks(
        ScriptedProvider(later[:-1][:3], NIGHT[:3] + [later[-1]], late + [later[-1]], later),
        ["00:20", "09:05", "14:05", "14:10"],
    )
    counts = [r.run_requests[0].tags["tracer/resolved_markets"] if r.run_requests else "0" for r in results]
    assert counts == ["3", "1", "1", "0"]  # the late one comes on its own, and only once
    assert since(results[2]) == ts("2024-03-10 09:00").isoformat()


def test_an_unreadable_cursor_starts_from_today():
    (result,) = run_ticks(ScriptedProvider(NIGHT), ["01:00"], cursor="not a time")
    assert len(result.run_requests) == 1


def test_the_close_time_counts_and_older_resolutions_are_not_requested_again():
    snapshot = pd.DataFrame(
        [
            market("early", "2024-03-12 00:00", True, 1.0, closed_ts=ts("2024-03-10 08:00")),
            market("yesterday", "2024-03-09 12:00", True, 1.0),  # before the cursor: already requested
        ]
    )
    snapshot["available_ts"] = snapshot["event_ts"] = ts("2024-03-10 09:00")
    fresh = newly_resolved(snapshot, ts("2024-03-10"), ts("2024-03-10 09:00"))
    assert fresh["question_id"].tolist() == ["early"]
    assert fresh["resolved_ts"].iloc[0] == ts("2024-03-10 08:00")


def test_against_the_sim_world(tracer_env):
    settings = TracerSettings()
    universe = load_universe(settings.market.universe)
    world = SimWorld(settings, universe)
    first, again = run_ticks(world, ["00:30", "06:30"], instruments=list(universe.instruments))
    snapshot = world.fetch_markets(list(universe.instruments), ts("2024-03-10 00:30"))
    resolved_tonight = int((snapshot["closed"] & (snapshot["end_ts"] == ts("2024-03-10"))).sum())
    assert resolved_tonight > 0
    assert len(first.run_requests) == 1 and first.run_requests[0].partition_key == "2024-03-10"
    assert first.run_requests[0].tags["tracer/resolved_markets"] == str(resolved_tonight)
    assert not again.run_requests


class StubTracer:
    def __init__(self, provider):
        self.provider = provider
        self.settings = TracerSettings.model_construct()
        self.universe = load_universe(self.settings.market.universe)

    def markets_provider(self):
        return self.provider


def test_the_dagster_sensor_evaluates_against_the_definitions(monkeypatch):
    from tracer_assets.definitions import defs

    monkeypatch.setattr(resolutions, "utc_now", lambda: ts("2024-03-10 00:20"))
    provider = ScriptedProvider(NIGHT, RuntimeError("HTTP 503"))
    with dg.instance_for_test() as instance:
        with dg.build_sensor_context(
            instance=instance, resources={"tracer": StubTracer(provider)}, definitions=defs
        ) as context:
            data = market_resolution_sensor.evaluate_tick(context)
        assert [r.partition_key for r in data.run_requests] == ["2024-03-10"]
        assert data.run_requests[0].job_name in (None, "resolution_eval_job")
        with dg.build_sensor_context(
            instance=instance,
            cursor=data.cursor,
            resources={"tracer": StubTracer(provider)},
            definitions=defs,
        ) as context:
            failed = market_resolution_sensor.evaluate_tick(context)
        assert not failed.run_requests and failed.cursor == data.cursor
        assert "HTTP 503" in failed.skip_message


@pytest.mark.parametrize("job_name", ["resolution_eval_job"])
def test_the_job_is_daily_and_selects_the_snapshot_and_observations(job_name):
    from tracer_assets.definitions import defs

    job = defs.resolve_job_def(job_name)
    assert job.partitions_def is not None and job.partitions_def.get_partition_keys()[0] == "2024-01-01"
    keys = {k.path[-1] for k in job.asset_layer.executable_asset_keys}
    assert keys == {"polymarket_markets", "eval_observations"}
