"""The monitoring cadence: nightly self-check, monthly governance re-audit, run-failure alerts."""

import dagster as dg
import pandas as pd

from tracer_assets.defs.common import utc_schedule
from tracer_assets.defs.monitoring.assets import lake_audit
from tracer_assets.defs.resources import TracerResource
from tracer_assets.monitoring.run_failures import alert_text, failure_row, record_failure

# crons (UTC) are the code location's shape, as the other schedules' are: constants, read at no import
NIGHTLY_SELF_CHECK_CRON = "15 2 * * *"
MONTHLY_GOVERNANCE_CRON = "45 3 1 * *"
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"

self_check_job = dg.define_asset_job(
    "self_check_job",
    selection=dg.AssetSelection.assets(lake_audit) | dg.AssetSelection.assets("hit_rate_trend"),
    description="Nightly: re-read yesterday's partitions of every table and check them; the hit-rate "
    "self-check on the evaluation trend.",
)
governance_job = dg.define_asset_job(
    "governance_job",
    selection=dg.AssetSelection.assets(lake_audit),
    description="Monthly: re-audit every day of the previous month (late rewrites and backfills included).",
)


@utc_schedule(self_check_job, NIGHTLY_SELF_CHECK_CRON, "Nightly self-check of yesterday (02:15 UTC).")
def nightly_self_check(now: pd.Timestamp) -> dg.RunRequest:
    day = (now.normalize() - pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    return dg.RunRequest(run_key=f"self-check-{day}", partition_key=day)


def previous_month(now: pd.Timestamp) -> tuple[str, str]:
    """First and last day (keys) of the calendar month before ``now``'s."""
    first_this = now.normalize().replace(day=1)
    last_prev = first_this - pd.Timedelta(days=1)
    return last_prev.replace(day=1).strftime("%Y-%m-%d"), last_prev.strftime("%Y-%m-%d")


@utc_schedule(
    governance_job,
    MONTHLY_GOVERNANCE_CRON,
    "Monthly governance re-audit of the previous month, one run (the 1st, 03:45 UTC).",
)
def monthly_governance(now: pd.Timestamp) -> dg.RunRequest:
    first, last = previous_month(now)
    return dg.RunRequest(run_key=f"governance-{first[:7]}", tags={RANGE_START: first, RANGE_END: last})


def run_partition(tags: dict[str, str]) -> str:
    if "dagster/partition" in tags:
        return tags["dagster/partition"]
    if RANGE_START in tags:
        return f"{tags[RANGE_START]}...{tags.get(RANGE_END, '')}"
    return ""


def _root_message(error) -> str:
    """The user's exception, not Dagster's "Error occurred while executing op" wrapper around it."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    return error.message.strip()


def failure_reason(context: dg.RunFailureSensorContext) -> str:
    steps = [
        f"{e.step_key}: {_root_message(e.event_specific_data.error)}"
        for e in context.get_step_failure_events()
        if getattr(e.event_specific_data, "error", None) is not None
    ]
    return "; ".join(steps) or (context.failure_event.message or "")


@dg.run_failure_sensor(
    name="run_failure_alert",
    description="A failed run writes a run_health row (provider 'dagster', asset run:<job>) and alerts the "
    "operator through the notifier (outbox or Telegram), once per run.",
)
def run_failure_alert(context: dg.RunFailureSensorContext, tracer: TracerResource) -> None:
    from tracer_assets.providers.redact import Redactor

    run = context.dagster_run
    settings = tracer.settings
    reason = Redactor.from_settings(settings).text(failure_reason(context))
    partition = run_partition(dict(run.tags))
    row = failure_row(
        run.run_id,
        run.job_name,
        partition,
        reason,
        pd.Timestamp.now(tz="UTC"),
        settings.ops.ops_alert_reason_chars,
    )
    record_failure(tracer.lake, row)
    delivery = tracer.notifier().send(
        alert_text(run.job_name, run.run_id, partition, row["reason"]), key=f"alert-run-failure-{run.run_id}"
    )
    context.log.info(f"run {run.run_id[:8]} failure recorded; alert delivered={delivery.delivered}")


JOBS = [self_check_job, governance_job]
SCHEDULES = [nightly_self_check, monthly_governance]
SENSORS = [run_failure_alert]
