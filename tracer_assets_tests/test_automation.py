"""Schedules and sensors: the hourly tick, weekly evaluation, and the new-narratives trigger."""

from __future__ import annotations

import dagster as dg
import pandas as pd

from tracer_assets.defs.automation.schedules import hourly_agent_tick, news_tick, weekly_evaluation
from tracer_assets.defs.resources import TracerResource
from tracer_assets.lake import Lake
from tracer_assets.providers.results import RUN_HEALTH_COLUMNS, run_health_row
from tracer_assets.providers.sim import SimWorld
from tracer_assets.settings import TracerSettings
from tracer_assets.universe import load_universe


def tick_at(when: str) -> list[dg.RunRequest]:
    """The hourly tick's requests at ``when``, against the test's lake."""
    ctx = dg.build_schedule_context(
        scheduled_execution_time=pd.Timestamp(when, tz="UTC"), resources={"tracer": TracerResource()}
    )
    return list(hourly_agent_tick(ctx))


def test_hourly_tick_requests_todays_partition(tracer_env):
    (request,) = tick_at("2024-03-05 13:05")
    assert request.partition_key == "2024-03-05"
    assert request.run_key == "tick-2024-03-05T13"


def test_first_tick_after_midnight_also_finishes_yesterday(tracer_env):
    assert [r.partition_key for r in tick_at("2024-03-06 00:05")] == ["2024-03-05", "2024-03-06"]


def write_health(day: str, asset: str, degraded: bool) -> None:
    row = run_health_row(
        "r1", asset, day, "sim", degraded, "empty answer" if degraded else "", pd.Timestamp(day)
    )
    Lake(TracerSettings().lake.lake_root).write_partition(
        "run_health", day, pd.DataFrame([row], columns=RUN_HEALTH_COLUMNS), part=asset
    )


def test_a_day_its_closing_run_left_degraded_is_run_again_each_tick_until_whole(tracer_env):
    """Burn-in finding: a fault at a day's closing fetch left its markets board stale for good."""
    write_health("2024-03-05", "polymarket_markets", degraded=True)
    heal, today = tick_at("2024-03-06 01:05")
    assert heal.partition_key == "2024-03-05" and today.partition_key == "2024-03-06"
    assert heal.run_key == "heal-2024-03-05-at-2024-03-06T01"
    assert tick_at("2024-03-06 02:05")[0].run_key == "heal-2024-03-05-at-2024-03-06T02"
    # the midnight tick closes yesterday anyway: no second request for it
    assert [r.partition_key for r in tick_at("2024-03-06 00:05")] == ["2024-03-05", "2024-03-06"]
    write_health("2024-03-05", "polymarket_markets", degraded=False)  # a later run got it whole
    assert [r.partition_key for r in tick_at("2024-03-06 03:05")] == ["2024-03-06"]


def test_healing_looks_back_as_far_as_the_setting(tracer_env, monkeypatch):
    write_health("2024-03-04", "bars", degraded=True)
    write_health("2024-03-05", "narratives", degraded=True)
    assert [r.partition_key for r in tick_at("2024-03-06 05:05")] == ["2024-03-05", "2024-03-06"]
    monkeypatch.setenv("TRACER_OPS_HEAL_LOOKBACK_DAYS", "2")
    assert [r.partition_key for r in tick_at("2024-03-06 05:05")] == [
        "2024-03-04",
        "2024-03-05",
        "2024-03-06",
    ]
    monkeypatch.setenv("TRACER_OPS_HEAL_LOOKBACK_DAYS", "0")
    assert [r.partition_key for r in tick_at("2024-03-06 05:05")] == ["2024-03-06"]
    # a failed delivery is an operator alert, not a degraded input to fetch again
    write_health("2024-03-05", "narratives", degraded=False)
    write_health("2024-03-05", "digest_delivery", degraded=True)
    monkeypatch.delenv("TRACER_OPS_HEAL_LOOKBACK_DAYS")
    assert [r.partition_key for r in tick_at("2024-03-06 05:05")] == ["2024-03-06"]


def test_weekly_evaluation_requests_the_previous_week_after_the_slack():
    ctx = dg.build_schedule_context(scheduled_execution_time=pd.Timestamp("2024-03-14 01:30", tz="UTC"))
    assert weekly_evaluation(ctx).partition_key == "2024-03-04"


def test_new_story_requests_a_refresh_once(tracer_env):
    settings = TracerSettings()
    universe = load_universe(settings.market.universe)
    world = SimWorld(settings, universe)
    day = pd.Timestamp("2024-03-05", tz="UTC")
    stories = world.fetch_narratives(list(universe.instruments), day, day + pd.Timedelta(days=1)).sort_values(
        "available_ts"
    )
    first, second = stories["available_ts"].iloc[0], stories["available_ts"].iloc[1]
    now = first + pd.Timedelta(seconds=1)
    if second <= now:
        now = second - pd.Timedelta(seconds=1)
    tick = news_tick(world, list(universe.instruments), None, now)
    assert len(tick.run_requests) == 1 and tick.run_requests[0].partition_key == "2024-03-05"
    assert pd.Timestamp(tick.cursor) == first
    # the same moment again: nothing new, no second request
    again = news_tick(world, list(universe.instruments), tick.cursor, now)
    assert not again.run_requests and again.cursor == tick.cursor
    # later, more stories: a new request with a new run key
    later = news_tick(world, list(universe.instruments), tick.cursor, day + pd.Timedelta(hours=23))
    assert len(later.run_requests) == 1
    assert later.run_requests[0].run_key != tick.run_requests[0].run_key
    assert pd.Timestamp(later.cursor) > first


def test_definitions_carry_jobs_schedules_and_sensors():
    from tracer_assets.definitions import defs

    repo = defs.get_repository_def()
    assert {"agent_job", "news_refresh_job", "evaluation_job", "analytics_job"} <= {
        j.name for j in repo.get_all_jobs()
    }
    assert {"hourly_agent_tick", "weekly_evaluation"} <= {s.name for s in repo.schedule_defs}
    assert "new_narratives_sensor" in {s.name for s in repo.sensor_defs}
