"""A failed run, recorded: one ``run_health`` row (part ``run_failures`` of the day) and alert text."""

from __future__ import annotations

import pandas as pd

from tracer_assets.lake import Lake
from tracer_assets.providers.results import RUN_HEALTH_COLUMNS, run_health_row

RUN_HEALTH_TABLE = "run_health"
FAILURE_PART = "run_failures"
# run_health rows of failed runs carry this provider, so readers can tell them from degraded inputs
RUN_FAILURE_PROVIDER = "dagster"


def failure_row(
    run_id: str, job_name: str, partition: str, reason: str, failed_at: pd.Timestamp, reason_chars: int
) -> dict:
    """The ``run_health`` row of a failed run: asset ``run:<job>``, degraded, the (shortened) reason."""
    reason = " ".join(str(reason).split())
    if len(reason) > reason_chars:
        reason = reason[: reason_chars - 3].rstrip() + "..."
    return run_health_row(run_id, f"run:{job_name}", partition, RUN_FAILURE_PROVIDER, True, reason, failed_at)


def record_failure(lake: Lake, row: dict) -> int:
    """Add ``row`` to its day's ``run_failures`` part (idempotent by health_id); returns the rows there."""
    day = pd.Timestamp(row["event_ts"]).strftime("%Y-%m-%d")
    key = lake.partition_key(RUN_HEALTH_TABLE, day, FAILURE_PART)
    earlier = (
        lake.read_arrow([key])[0].to_pandas()
        if lake.exists(key)
        else pd.DataFrame(columns=RUN_HEALTH_COLUMNS)
    )
    earlier = earlier[earlier["health_id"] != row["health_id"]] if len(earlier) else earlier
    frame = pd.concat([f for f in (earlier, pd.DataFrame([row])) if len(f)], ignore_index=True)
    lake.write_partition(RUN_HEALTH_TABLE, day, frame[RUN_HEALTH_COLUMNS], part=FAILURE_PART)
    return len(frame)


def alert_text(job_name: str, run_id: str, partition: str, reason: str) -> str:
    """Operator alert for a failed run (plain text; numbers allowed, unlike the digest)."""
    return (
        f"Tracer alert: run {run_id[:8]} of {job_name} failed (partition {partition or 'none'}).\n"
        f"Reason: {reason or 'not given'}\n"
        f"Inspect: tracer status; the run in the Dagster UI."
    )
