"""Healing: the past days a later tick fetches again because their last run left an input degraded.

A day is closed by the first tick after its midnight; a transient fault at that closing fetch (an
empty answer read short every time, a provider down for a minute) would otherwise leave the day's
stored rows stale for good, since no later tick touches it. ``days_to_heal`` names the recent days
whose ``run_health`` still calls an input degraded, so the hourly tick re-runs them until one run gets
them whole.
"""

from __future__ import annotations

import pandas as pd

from tracer_assets.pipeline.digest import degraded_inputs
from tracer_assets.pipeline.store import Store
from tracer_assets.pipeline.window import DAY


def days_to_heal(store: Store, now: pd.Timestamp, lookback_days: int) -> list[str]:
    """The past days (oldest first, at most ``lookback_days`` back from ``now``'s day) with a degraded
    input; yesterday is left out at the midnight hour, whose tick closes it anyway."""
    today = pd.Timestamp(now).normalize()
    first_back = 2 if pd.Timestamp(now).hour == 0 else 1
    days = [(today - DAY * k).strftime("%Y-%m-%d") for k in range(lookback_days, first_back - 1, -1)]
    return [day for day in days if degraded_inputs(store, day)]
