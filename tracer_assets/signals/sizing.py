"""Volatility-targeted position sizes, as fractions of capital.

    horizon_vol = realized_vol * sqrt(horizon_hours)          (per-bar vol scaled to the horizon)
    raw         = target_risk / horizon_vol * strength
    size        = 0                      if raw < floor
                  min(raw, cap)          otherwise
    then, per asset class and decision time, sizes are scaled by min(1, class_cap / sum(size)); a
    size the scaling pushes below the floor becomes zero (never a dust position).

A stock's horizon in clock hours overstates its trading-hour volatility, so stock sizes err small.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tracer_assets.settings import SignalSettings

BUCKETS = ("small", "medium", "large")


def position_sizes(candidates: pd.DataFrame, settings: SignalSettings) -> pd.DataFrame:
    """``size_raw`` and ``size`` for each row (needs realized_vol, strength, asset_class, decision_ts)."""
    s = settings
    horizon_vol = candidates["realized_vol"].astype(float) * np.sqrt(s.signal_horizon_hours)
    raw = s.sizing_target_risk / horizon_vol.where(horizon_vol > 0) * candidates["strength"].astype(float)
    raw = raw.where(np.isfinite(raw), 0.0)
    size = raw.clip(upper=s.sizing_cap).where(raw >= s.sizing_floor, 0.0)
    total = size.groupby([candidates["asset_class"], candidates["decision_ts"]]).transform("sum")
    scale = (s.sizing_class_cap / total.where(total > 0)).clip(upper=1.0).fillna(1.0)
    size = size * scale
    size = size.where(size >= s.sizing_floor, 0.0)
    return pd.DataFrame({"size_raw": raw, "size_class_scale": scale, "size": size}, index=candidates.index)


def size_bucket(size: pd.Series, settings: SignalSettings) -> pd.Series:
    """'none' for zero, else 'small' / 'medium' / 'large' by size as a share of the per-signal cap."""
    edges = list(settings.sizing_bucket_edges)
    if len(edges) != len(BUCKETS) - 1 or edges != sorted(edges):
        raise ValueError(f"sizing_bucket_edges needs {len(BUCKETS) - 1} increasing values, got {edges}")
    share = size.astype(float) / settings.sizing_cap
    idx = np.searchsorted(np.asarray(edges), share.to_numpy(), side="right")
    words = np.asarray(BUCKETS, dtype=object)[np.clip(idx, 0, len(BUCKETS) - 1)]
    return pd.Series(np.where(size > 0, words, "none"), index=size.index, dtype=object)
