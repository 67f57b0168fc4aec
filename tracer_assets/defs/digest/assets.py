"""Digest domain: the day's ranked top-N signals as chat text, delivered once per content."""

import json

import dagster as dg
import pandas as pd

from tracer_assets.defs.common import DAILY_FRESHNESS, partition_days, table_result
from tracer_assets.defs.partitions import DAILY
from tracer_assets.defs.polymarket.assets import polymarket_markets
from tracer_assets.defs.resources import TracerResource
from tracer_assets.defs.signals.assets import signals
from tracer_assets.defs.skip import skip_unchanged
from tracer_assets.monitoring.digest_checks import digest_problems
from tracer_assets.ops.pause import pause_state
from tracer_assets.pipeline.digest import (
    daily_digest,
    delivery_key,
    digest_reads,
    digest_time,
    newly_delivered,
)
from tracer_assets.pipeline.window import concat
from tracer_assets.providers.health import carry_degraded, record_delivery
from tracer_assets.providers.redact import Redactor


@dg.asset(
    **DAILY,
    group_name="digest",
    kinds={"python", "parquet"},
    deps=[signals, polymarket_markets, "portfolio"],
    freshness_policy=DAILY_FRESHNESS,
    description="Ranked top-N universe digest per day (chat text without digits; the rows keep every number), "
    "delivered through the notifier at most once per day and content.",
)
@skip_unchanged
def digest(context: dg.AssetExecutionContext, tracer: TracerResource) -> dg.MaterializeResult:
    s = tracer.settings
    notifier = tracer.notifier()
    frames, counts, deliveries, failures = [], {}, [], []
    now = pd.Timestamp.now(tz="UTC")
    paused = pause_state(tracer.lake)
    reads = digest_reads(tracer.lake, s, partition_days(context))
    for day in partition_days(context):
        built = daily_digest(reads, s, day, now)
        tracer.lake.write_partition("digest", day, built.rows)
        tracer.lake.write_text(
            f"artifacts/digest/{day}.json", json.dumps(built.artifact, indent=2, default=str)
        )
        problems = digest_problems(built.rows)
        sent, chunks, skipped = False, 0, ""
        if paused is not None:
            skipped = f"paused by {paused.who} at {paused.when}: {paused.why}"
        elif problems:  # never send a digest that fails its own self-check
            skipped = "self-check failed: " + "; ".join(problems)
            context.log.error(f"digest {day} not delivered: {skipped}")
        # a backfill of old days rebuilds their digests but does not push a year of stale messages
        elif now - digest_time(day, now) <= pd.Timedelta(hours=s.digest.digest_deliver_max_age_hours):
            delivery = notifier.send(built.text, key=delivery_key(day, built.rows))
            sent, chunks = newly_delivered(delivery), delivery.chunks
            why = record_delivery(
                tracer.lake, delivery, day=day, run_id=context.run_id, redactor=Redactor.from_settings(s)
            )
            if why:
                context.log.warning(f"digest {day}: {why}")
                failures.append(f"{day}: {why}")
        deliveries.append(
            {
                "day": day,
                "digest_id": built.digest_id,
                "delivered": sent,
                "chunks": chunks,
                "skipped": skipped,
            }
        )
        counts[day] = len(built.rows)
        frames.append(built.rows)
    return table_result(
        "digest",
        concat(frames),
        counts,
        notifier=notifier.name,
        paused=paused is not None,
        delivery_paused=(
            f"paused by {paused.who} at {paused.when}: {paused.why}" if paused else "not paused"
        ),
        newly_delivered=sum(d["delivered"] for d in deliveries),
        deliveries=dg.MetadataValue.json(deliveries[-10:]),
        delivery_failed=bool(failures),
        delivery_failure_reason="; ".join(failures[-3:]),
        latest_text=dg.MetadataValue.md(built.text if deliveries else ""),
        **carry_degraded(tracer.lake, partition_days(context)),
    )
