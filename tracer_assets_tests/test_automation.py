"""Schedules and sensors: the hourly tick, weekly evaluation, and the new-narratives trigger."""

from __future__ import annotations

import dagster as dg
import pandas as pd

from tracer_assets.defs.automation.schedules import hourly_agent_tick, news_tick, weekly_evaluation
from tracer_assets.providers.sim import SimWorld
from tracer_assets.settings import TracerSettings
from tracer_assets.universe import load_universe


def test_hourly_tick_requests_todays_partition():
    ctx = dg.build_schedule_context(scheduled_execution_time=pd.Timestamp("2024-03-05 13:05", tz="UTC"))
    (request,) = hourly_agent_tick(ctx)
    assert request.partition_key == "2024-03-05"
    assert request.run_key == "tick-2024-03-05T13"


def test_first_tick_after_midnight_also_finishes_yesterday():
    ctx = dg.build_schedule_context(scheduled_execution_time=pd.Timestamp("2024-03-06 00:05", tz="UTC"))
    assert [r.partition_key for r in hourly_agent_tick(ctx)] == ["2024-03-05", "2024-03-06"]


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
