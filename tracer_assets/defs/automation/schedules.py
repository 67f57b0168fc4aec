"""Jobs, schedules and sensors: the hourly agent tick, weekly evaluation, and the news trigger."""

import dagster as dg
import pandas as pd

from tracer_assets.clock import monday_of
from tracer_assets.defs.common import utc_schedule
from tracer_assets.defs.partitions import CADENCE_TAG
from tracer_assets.defs.resources import TracerResource
from tracer_assets.ops.heal import days_to_heal

DAILY_ASSETS = dg.AssetSelection.tag(CADENCE_TAG, "daily")
WEEKLY_ASSETS = dg.AssetSelection.tag(CADENCE_TAG, "weekly")

agent_job = dg.define_asset_job(
    "agent_job",
    selection=DAILY_ASSETS,
    description="Every daily asset for one day (or a range, in one run).",
)
news_refresh_job = dg.define_asset_job(
    "news_refresh_job",
    selection=dg.AssetSelection.assets("narratives").downstream()
    & DAILY_ASSETS - dg.AssetSelection.groups("evaluation"),
    description="Narratives and everything they feed for one day: what a breaking story re-computes.",
)
evaluation_job = dg.define_asset_job(
    "evaluation_job", selection=WEEKLY_ASSETS, description="Weekly evaluation snapshots."
)
analytics_job = dg.define_asset_job(
    "analytics_job",
    selection=dg.AssetSelection.groups("analytics"),
    description="Analyst SQL models over the lake.",
)


def today_key(now: pd.Timestamp | None = None) -> str:
    return (now or pd.Timestamp.now(tz="UTC")).strftime("%Y-%m-%d")


@utc_schedule(
    agent_job,
    "5 * * * *",
    "Hourly agent tick: re-materialize today's partition (idempotent); the first tick after "
    "midnight also finishes yesterday, whose last hour no earlier tick could see, and every tick re-runs "
    "a recent day whose last run left an input degraded (TRACER_OPS_HEAL_LOOKBACK_DAYS).",
)
def hourly_agent_tick(now: pd.Timestamp, tracer: TracerResource) -> list[dg.RunRequest]:
    heal = days_to_heal(tracer.lake, now, tracer.settings.ops.ops_heal_lookback_days)
    requests = [dg.RunRequest(run_key=f"heal-{day}-at-{now:%Y-%m-%dT%H}", partition_key=day) for day in heal]
    if now.hour == 0:
        yesterday = today_key(now - pd.Timedelta(days=1))
        requests.append(dg.RunRequest(run_key=f"tick-{yesterday}-close", partition_key=yesterday))
    requests.append(dg.RunRequest(run_key=f"tick-{now:%Y-%m-%dT%H}", partition_key=today_key(now)))
    return requests


@utc_schedule(
    evaluation_job,
    "30 1 * * 4",
    "Weekly evaluation of the previous week, on Thursday: observations resolved late in a "
    "week (markets settle after their end) have landed by then (see TRACER_EVAL_WEEK_SLACK_DAYS).",
)
def weekly_evaluation(now: pd.Timestamp) -> dg.RunRequest:
    monday = (monday_of(now) - pd.Timedelta(days=7)).strftime("%Y-%m-%d")
    return dg.RunRequest(run_key=f"eval-{monday}", partition_key=monday)


def news_tick(provider, instruments, cursor: str | None, now: pd.Timestamp) -> dg.SensorResult:
    """One poll of the news provider: a run request for today when stories arrived since ``cursor``.

    The cursor is the newest ``available_ts`` already acted on; ``run_key`` is derived from it, so
    a repeated tick never requests the same refresh twice.
    """
    since = pd.Timestamp(cursor) if cursor else now.normalize()
    fresh = provider.fetch_narratives(instruments, now.normalize(), now)
    if len(fresh):
        fresh = fresh[(fresh["available_ts"] > since) & (fresh["available_ts"] <= now)]
    if not len(fresh):
        return dg.SensorResult(
            skip_reason=f"no narratives available since {since.isoformat()}", cursor=since.isoformat()
        )
    newest = pd.Timestamp(fresh["available_ts"].max())
    request = dg.RunRequest(
        run_key=f"news-{newest.isoformat()}",
        partition_key=today_key(now),
        tags={"tracer/new_narratives": str(len(fresh))},
    )
    return dg.SensorResult(run_requests=[request], cursor=newest.isoformat())


@dg.sensor(
    job=news_refresh_job,
    minimum_interval_seconds=300,
    description="Polls the news provider; a new story re-computes today's signals before the next hourly tick.",
)
def new_narratives_sensor(context: dg.SensorEvaluationContext, tracer: TracerResource) -> dg.SensorResult:
    return news_tick(
        tracer.news_provider(), list(tracer.universe.instruments), context.cursor, pd.Timestamp.now(tz="UTC")
    )


JOBS = [agent_job, news_refresh_job, evaluation_job, analytics_job]
SCHEDULES = [hourly_agent_tick, weekly_evaluation]
SENSORS = [new_narratives_sensor]
