"""Signals domain: divergence between narrative pressure and the price move, confirmed, cooled
down, sized and calibrated, all point-in-time."""

import math

import dagster as dg
import pandas as pd

from tracer_assets.defs.common import DAILY_FRESHNESS, DAY, partition_days, table_result, window
from tracer_assets.defs.market.assets import bars, price_features
from tracer_assets.defs.partitions import DAILY
from tracer_assets.defs.resources import TracerResource
from tracer_assets.defs.sentiment.assets import narrative_scores, pressure_by_day
from tracer_assets.evaluation.observations import signal_observations
from tracer_assets.lake import Lake
from tracer_assets.providers.health import carry_degraded, read_health
from tracer_assets.settings import TracerSettings
from tracer_assets.signals import compute_signals


def prior_outcomes(lake: Lake, before: pd.Timestamp) -> pd.DataFrame:
    """Signal outcomes already in the lake (earlier runs), known before ``before``."""
    obs = lake.read("eval_observations", None, before - DAY)
    if obs.empty:
        return obs
    return obs[(obs["kind"] == "signal") & (obs["available_ts"] < before)]


def signals_for_range(
    lake: Lake, settings: TracerSettings, start: pd.Timestamp, end: pd.Timestamp, degraded=None
):
    """Signals with decision times in [start, end), from the lake as it stands.

    Two passes: which signals fire does not depend on calibration, so the first pass finds them,
    their outcomes (resolved inside the range) join the lake's earlier ones, and the second pass
    calibrates each day on outcomes resolved before it. A range therefore equals its days run alone.
    """
    s = settings
    lookback = DAY * s.signal_lookback_days
    last_day = (end - pd.Timedelta(microseconds=1)).floor("D")  # end is exclusive, maybe mid-day
    feats = lake.read("price_features", start - lookback, last_day)
    in_range = (
        feats[(feats["available_ts"] >= start) & (feats["available_ts"] < end)] if len(feats) else feats
    )
    pressure = pressure_by_day(
        lake, s, in_range.rename(columns={"available_ts": "decision_ts"})[["symbol", "decision_ts"]]
    )
    horizon_days = math.ceil(s.signal_horizon_hours / 24) + 1
    prior = lake.read(
        "signals", start - DAY * max(math.ceil(s.cooldown_hours / 24 + 1), horizon_days), start - DAY
    )
    earlier = prior_outcomes(lake, start)
    first = compute_signals(feats, pressure, prior, earlier, s, degraded, start=start, end=end)
    if first.signals.empty:
        return first
    # outcomes that resolve inside the range: of this range's signals, and of signals decided just
    # before it (a day run alone finds those in eval_observations; a range must compute them too)
    bars_df = lake.read("bars", start - DAY * horizon_days, last_day + DAY * horizon_days)
    before = prior[prior["decision_ts"] >= start - DAY * horizon_days] if len(prior) else prior
    # bars are complete up to the range's end for every outcome calibration may use (resolved before
    # a decision day's midnight), and stocks have no bar after a weekend horizon: resolve by `end`
    fresh = signal_observations(pd.concat([before, first.signals], ignore_index=True), bars_df, as_of=end)
    if len(fresh):
        fresh = fresh[fresh["available_ts"] >= start]
    outcomes = (
        pd.concat([o for o in (earlier, fresh) if len(o)], ignore_index=True) if len(fresh) else earlier
    )
    return compute_signals(feats, pressure, prior, outcomes, s, degraded, start=start, end=end)


SIGNAL_INPUT_ASSETS = ("bars", "narratives")


def degraded_flags(lake: Lake, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Provider flags for the days whose bars or narratives were degraded: signals those days are
    held back (and counted) rather than computed from partial inputs."""
    health = read_health(lake, start, end - DAY)
    if len(health):
        health = health[health["degraded"] & health["asset"].isin(SIGNAL_INPUT_ASSETS)]
    if not len(health):
        return pd.DataFrame(columns=["flag", "start_ts", "end_ts"])
    day = pd.to_datetime(health["partition"].astype(str), utc=True)
    return pd.DataFrame(
        {"flag": "provider:" + health["provider"].astype(str), "start_ts": day, "end_ts": day + DAY}
    )


@dg.asset(
    **DAILY,
    group_name="signals",
    kinds={"pandas", "parquet"},
    deps=[price_features, narrative_scores, bars],
    freshness_policy=DAILY_FRESHNESS,
    description="Directional signals (divergence, confirmed, cooled down, sized, calibrated) by decision day; "
    "candidates that failed a check go to signals_held_back with their reasons.",
)
def signals(context: dg.AssetExecutionContext, tracer: TracerResource) -> dg.MaterializeResult:
    start, end = window(context)
    flags = degraded_flags(tracer.lake, start, end)
    result = signals_for_range(tracer.lake, tracer.settings, start, end, flags if len(flags) else None)
    days = partition_days(context)
    counts = tracer.lake.write_partitions("signals", result.signals, days, by="decision_ts")
    tracer.lake.write_partitions("signals_held_back", result.held_back, days, by="decision_ts")
    out = result.signals
    longs = int((out["direction"] == "long").sum()) if len(out) else 0
    return table_result(
        "signals",
        out,
        counts,
        decisions=result.n_decisions,
        longs=longs,
        shorts=len(out) - longs,
        held_back=dg.MetadataValue.json(result.held_back_counts),
        **carry_degraded(tracer.lake, days),
    )
