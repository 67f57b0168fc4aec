"""Resolution sensor: markets that resolved since the cursor trigger today's evaluation at once,
instead of waiting for the next hourly tick.

The cursor (JSON) holds ``since``, the latest resolution time already requested, and ``seen``, the
markets requested whose resolution time lies within the lookback before it. A market's resolution
time is backdated to its close, and a result can be published hours later: such a market resolves
"before" the cursor yet was never requested, so each tick looks back ``lookback`` and requests every
resolved market it has not seen. One run of ``resolution_eval_job`` (the snapshot, then the
observations) on today's partition per tick with news; the run key names the day and the markets, so a
repeat of the same set is never run twice; a provider error skips the tick with the reason and leaves
the cursor where it was, so nothing is lost. A bare ISO timestamp is read as ``since`` with nothing seen.
"""

import hashlib
import json

import dagster as dg
import pandas as pd

from tracer_assets.clock import utc, utc_now
from tracer_assets.defs.partitions import daily_partitions
from tracer_assets.defs.resources import TracerResource
from tracer_assets.evaluation.observations import resolved_markets
from tracer_assets.settings import EvaluationSettings

resolution_eval_job = dg.define_asset_job(
    "resolution_eval_job",
    selection=dg.AssetSelection.assets("polymarket_markets", "eval_observations"),
    partitions_def=daily_partitions,
    description="Refresh one day's market snapshot and score what resolved (requested by the resolution sensor).",
)


def _start_of(now: pd.Timestamp) -> pd.Timestamp:
    # A first tick covers today from midnight on (markets often resolve exactly at 00:00).
    return now.floor("D") - pd.Timedelta(microseconds=1)


def read_cursor(cursor: str | None, now: pd.Timestamp) -> tuple[pd.Timestamp, dict[str, str]]:
    """(since, seen) from a cursor; an empty or unreadable one starts over from today."""
    if cursor:
        try:
            state = json.loads(cursor) if cursor.lstrip().startswith("{") else {"since": cursor}
            return utc(state["since"]), dict(state.get("seen", {}))
        except (ValueError, KeyError, TypeError):
            pass
    return _start_of(now), {}


def write_cursor(since: pd.Timestamp, seen: dict[str, str]) -> str:
    return json.dumps({"since": since.isoformat(), "seen": dict(sorted(seen.items()))})


def newly_resolved(snapshot: pd.DataFrame, since: pd.Timestamp, now: pd.Timestamp) -> pd.DataFrame:
    """Markets in ``snapshot`` resolved in (since, now]: question_id, resolved_ts, resolved_outcome."""
    resolved = resolved_markets(snapshot)
    if resolved.empty:
        return resolved
    ts = pd.to_datetime(resolved["resolved_ts"], utc=True)
    return resolved[(ts > since) & (ts <= now)].sort_values(["resolved_ts", "question_id"])


def resolution_tick(
    provider,
    instruments: list,
    cursor: str | None,
    now: pd.Timestamp,
    lookback: pd.Timedelta | None = None,
) -> dg.SensorResult:
    """One sensor evaluation against ``provider`` at ``now`` (plain function: tests call it directly).

    ``lookback`` defaults to the ``resolution_lookback_hours`` setting's default."""
    if lookback is None:
        lookback = pd.Timedelta(hours=EvaluationSettings.model_fields["resolution_lookback_hours"].default)
    now = utc(str(pd.Timestamp(now)))
    since, seen = read_cursor(cursor, now)
    try:
        snapshot = provider.fetch_markets(instruments, now)
        recent = newly_resolved(snapshot, since - lookback, now)
    except Exception as exc:  # noqa: BLE001 - any provider failure is a skipped tick, never a lost cursor
        reason = f"markets provider {getattr(provider, 'name', '?')} failed: {type(exc).__name__}: {exc}"
        return dg.SensorResult(skip_reason=reason[:500], cursor=cursor)
    fresh = recent[~recent["question_id"].astype(str).isin(seen)] if len(recent) else recent
    if fresh.empty:
        return dg.SensorResult(
            skip_reason=f"no market resolved since {since.isoformat()}", cursor=write_cursor(since, seen)
        )
    day = now.strftime("%Y-%m-%d")
    ids = sorted(fresh["question_id"].astype(str))
    digest = hashlib.sha256("|".join(ids).encode()).hexdigest()[:16]
    request = dg.RunRequest(
        run_key=f"resolutions-{day}-{digest}",
        partition_key=day,
        tags={"tracer/resolved_markets": str(len(ids))},
    )
    newest = max(since, pd.Timestamp(fresh["resolved_ts"].max()).tz_convert("UTC"))
    seen |= {
        str(q): pd.Timestamp(t).isoformat()
        for q, t in zip(fresh["question_id"], fresh["resolved_ts"], strict=True)
    }
    # forget markets that fell out of the lookback: no tick can return them again
    seen = {q: t for q, t in seen.items() if utc(t) > newest - lookback}
    return dg.SensorResult(run_requests=[request], cursor=write_cursor(newest, seen))


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
    lookback = pd.Timedelta(hours=tracer.settings.evaluation.resolution_lookback_hours)
    return resolution_tick(provider, instruments, context.cursor, utc_now(), lookback)
