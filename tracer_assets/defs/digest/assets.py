"""Digest domain: the day's ranked top-N signals as chat text, delivered once per content."""

import json
import math

import dagster as dg
import pandas as pd

from tracer_assets.defs.common import DAILY_FRESHNESS, DAY, clip_to_now, partition_days, table_result
from tracer_assets.defs.partitions import DAILY
from tracer_assets.defs.polymarket.assets import polymarket_markets
from tracer_assets.defs.resources import TracerResource
from tracer_assets.defs.signals.assets import signals
from tracer_assets.lake import new_id
from tracer_assets.providers.health import carry_degraded, read_health


def degraded_inputs(lake, day: str) -> list[str]:
    """Short names of the day's degraded inputs ("bars from alpaca") for the digest's one plain line;
    the full reasons stay in run_health and the asset metadata."""
    health = read_health(lake, day, day)
    bad = health[health["degraded"]] if len(health) else health
    return (
        sorted({f"{a} from {p}" for a, p in zip(bad["asset"], bad["provider"], strict=True)})
        if len(bad)
        else []
    )


def delivery_key(day: str, rows: pd.DataFrame) -> str:
    """Send-once key: the day and what the digest shows (signals, markets, degraded flag), not the hour
    it was built, so an hourly tick that finds nothing new sends nothing new."""
    shown = rows[rows["section"] != "digest"]
    parts = sorted(
        shown["signal_id"].fillna("").astype(str) + "/" + shown["market_id"].fillna("").astype(str)
    )
    return new_id("digest-delivery", day, *parts, bool(rows["degraded"].fillna(False).any()))


@dg.asset(
    **DAILY,
    group_name="digest",
    kinds={"python", "parquet"},
    deps=[signals, polymarket_markets],
    freshness_policy=DAILY_FRESHNESS,
    description="Ranked top-N universe digest per day (chat text without digits; the rows keep every number), "
    "delivered through the notifier at most once per day and content.",
)
def digest(context: dg.AssetExecutionContext, tracer: TracerResource) -> dg.MaterializeResult:
    from tracer_assets.digest.build import build_digest

    s = tracer.settings
    notifier = tracer.notifier()
    frames, counts, deliveries = [], {}, []
    window_days = math.ceil(s.digest_window_hours / 24)
    now = pd.Timestamp.now(tz="UTC")
    for day in partition_days(context):
        start = pd.Timestamp(day, tz="UTC")
        as_of = clip_to_now(start + DAY - pd.Timedelta(seconds=1))
        # the ranking looks back digest_window_hours, which reaches into earlier days' signals
        sigs = tracer.lake.read("signals", start - DAY * window_days, day)
        markets = tracer.lake.read("polymarket_markets", day, day)
        built = build_digest(sigs, markets, s, as_of, degraded_inputs(tracer.lake, day))
        tracer.lake.write_partition("digest", day, built.rows)
        tracer.lake.write_text(
            f"artifacts/digest/{day}.json", json.dumps(built.artifact, indent=2, default=str)
        )
        # a backfill of old days rebuilds their digests but does not push a year of stale messages
        if now - as_of <= pd.Timedelta(hours=s.digest_deliver_max_age_hours):
            delivery = notifier.send(built.text, key=delivery_key(day, built.rows))
            sent, chunks = delivery.delivered, delivery.chunks
        else:
            sent, chunks = False, 0
        deliveries.append({"day": day, "digest_id": built.digest_id, "delivered": sent, "chunks": chunks})
        counts[day] = len(built.rows)
        frames.append(built.rows)
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return table_result(
        "digest",
        df,
        counts,
        notifier=notifier.name,
        newly_delivered=sum(d["delivered"] for d in deliveries),
        deliveries=dg.MetadataValue.json(deliveries[-10:]),
        latest_text=dg.MetadataValue.md(built.text if deliveries else ""),
        **carry_degraded(tracer.lake, partition_days(context)),
    )
