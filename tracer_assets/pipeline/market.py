"""The price_features stage: per-bar features, each day from that day's bars plus a fixed lookback."""

from __future__ import annotations

import pandas as pd

from tracer_assets.market.price_features import price_features as compute_price_features
from tracer_assets.pipeline.store import Store
from tracer_assets.pipeline.window import DAY, StampIndex, days_of, last_day
from tracer_assets.settings import TracerSettings


def features_by_day(
    bars_df: pd.DataFrame, days: list[str], lookback: pd.Timedelta, vol_window: int
) -> pd.DataFrame:
    """Each day's features from exactly that day's bars plus ``lookback`` before it, so a day computed
    alone equals the same day inside a range (rolling windows carry floating-point state from where
    they start)."""
    if bars_df.empty:
        return compute_price_features(bars_df, vol_window)
    stamps = StampIndex(bars_df["ts"])
    out = []
    for day in days:
        d0 = pd.Timestamp(day, tz="UTC")
        feats = compute_price_features(bars_df.take(stamps.positions(d0 - lookback, d0 + DAY)), vol_window)
        out.append(feats[feats["ts"] >= d0])
    return pd.concat(out, ignore_index=True)


def price_features(
    store: Store, settings: TracerSettings, start: pd.Timestamp, end: pd.Timestamp
) -> pd.DataFrame:
    """Features of the bars opening in [start, end); lookbacks read earlier bars partitions."""
    lookback = DAY * settings.market.feature_lookback_days
    bars_df = store.read("bars", start - lookback, last_day(end))
    return features_by_day(bars_df, days_of(start, end), lookback, settings.market.vol_window_hours)
