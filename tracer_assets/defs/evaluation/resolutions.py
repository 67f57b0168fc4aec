"""Resolution sensor: markets that resolved since the cursor trigger today's evaluation at once,
instead of waiting for the next hourly tick.

The cursor is the latest resolution time already requested (ISO 8601). Each tick takes the markets
provider's snapshot now, keeps the markets resolved after the cursor (Yes, No or 50-50, as the
provider derives them) and asks for one run of ``resolution_eval_job`` (the snapshot, then the
observations) on today's partition. The run key names the day and the resolved markets, so a repeat
of the same set is never run twice; a provider error skips the tick with the reason and leaves the
cursor where it was, so nothing is lost.
"""

import hashlib

import dagster as dg
import pandas as pd

from tracer_assets.defs.partitions import daily_partitions
from tracer_assets.defs.resources import TracerResource
from tracer_assets.evaluation.observations import resolved_markets

resolution_eval_job = dg.define_asset_job(
    "resolution_eval_job",
    selection=dg.AssetSelection.assets("polymarket_markets", "eval_observations"),
    partitions_def=daily_partitions,
    description="Refresh one day's market snapshot and score what resolved (requested by the resolution sensor).",
)


def utc_now() -> pd.Timestamp:
    """The sensor's clock (tests replace it)."""
    return pd.Timestamp.now(tz="UTC")


def _since(cursor: str | None, now: pd.Timestamp) -> pd.Timestamp:
    if cursor:
        try:
            ts = pd.Timestamp(cursor)
            return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
        except ValueError:
            pass  # an unreadable cursor starts over from today, as a first tick does
    # A first tick covers today from midnight on (markets often resolve exactly at 00:00).
    return now.floor("D") - pd.Timedelta(microseconds=1)


def newly_resolved(snapshot: pd.DataFrame, since: pd.Timestamp, now: pd.Timestamp) -> pd.DataFrame:
    """Markets in ``snapshot`` resolved in (since, now]: question_id, resolved_ts, resolved_outcome."""
    resolved = resolved_markets(snapshot)
    if resolved.empty:
        return resolved
    ts = pd.to_datetime(resolved["resolved_ts"], utc=True)
    return resolved[(ts > since) & (ts <= now)].sort_values(["resolved_ts", "question_id"])


def resolution_tick(provider, instruments: list, cursor: str | None, now: pd.Timestamp) -> dg.SensorResult:
    """One sensor evaluation against ``provider`` at ``now`` (plain function: tests call it directly)."""
    now = pd.Timestamp(now)
    now = now.tz_localize("UTC") if now.tzinfo is None else now.tz_convert("UTC")
    since = _since(cursor, now)
    try:
        snapshot = provider.fetch_markets(instruments, now)
        fresh = newly_resolved(snapshot, since, now)
    except Exception as exc:  # noqa: BLE001 - any provider failure is a skipped tick, never a lost cursor
        reason = f"markets provider {getattr(provider, 'name', '?')} failed: {type(exc).__name__}: {exc}"
        return dg.SensorResult(skip_reason=reason[:500], cursor=cursor)
    if fresh.empty:
        return dg.SensorResult(
            skip_reason=f"no market resolved since {since.isoformat()}", cursor=since.isoformat()
        )
    day = now.strftime("%Y-%m-%d")
    ids = sorted(fresh["question_id"].astype(str))
    digest = hashlib.sha256("|".join(ids).encode()).hexdigest()[:16]
    request = dg.RunRequest(
        run_key=f"resolutions-{day}-{digest}",
        partition_key=day,
        tags={"tracer/resolved_markets": str(len(ids))},
    )
    newest = pd.Timestamp(fresh["resolved_ts"].max()).tz_convert("UTC")
    return dg.SensorResult(run_requests=[request], cursor=newest.isoformat())


@dg.sensor(
    job=resolution_eval_job,
    minimum_interval_seconds=300,
    description="Polls the markets provider; markets resolved since the cursor trigger today's evaluation.",
)
def market_resolution_sensor(context: dg.SensorEvaluationContext, tracer: TracerResource) -> dg.SensorResult:
    try:
        provider = tracer.markets_provider()
    except Exception as exc:  # noqa: BLE001 - a misconfigured provider skips with the reason
        return dg.SensorResult(
            skip_reason=f"markets provider unavailable: {exc}"[:500], cursor=context.cursor
        )
    instruments = list(tracer.universe.instruments)
    return resolution_tick(provider, instruments, context.cursor, utc_now())
