"""Hourly price features per symbol: returns, realised volatility, volume participation.

Each feature row is stamped with the bar's close (``event_ts``/``available_ts``), so a decision at
time t may use the row only if ``available_ts <= t``. Lookbacks run over the symbol's own bars in
order, so a stock's window spans sessions and skips closed hours.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FEATURE_COLUMNS = [
    "symbol",
    "asset_class",
    "ts",
    "close",
    "volume",
    "ret_1h",
    "realized_vol",
    "volume_z",
    "ret_24h",
    "trend_1d",
    "event_ts",
    "available_ts",
]


def price_features(bars: pd.DataFrame, vol_window: int, volume_window: int | None = None) -> pd.DataFrame:
    """Features for every bar in ``bars`` (which should include lookback history before the range).

    - ``ret_1h``: log return from the previous bar's close;
    - ``realized_vol``: std of ``ret_1h`` over the last ``vol_window`` bars (per-bar, not annualised);
    - ``volume_z``: z-score of log volume against the previous ``volume_window`` bars (excluding this one);
    - ``ret_24h``: log return over the last 24 bars; ``trend_1d``: sign of the daily-close trend
      (last close vs the close one UTC day earlier, from daily resampled closes).
    """
    volume_window = volume_window or vol_window
    if bars.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in FEATURE_COLUMNS})
    df = bars.sort_values(["symbol", "ts"]).reset_index(drop=True)
    g = df.groupby("symbol", sort=False)
    log_close = np.log(df["close"].astype(float))
    df["ret_1h"] = log_close - log_close.groupby(df["symbol"]).shift(1)
    min_periods = max(3, vol_window // 4)
    df["realized_vol"] = (
        df.groupby("symbol")["ret_1h"]
        .rolling(vol_window, min_periods=min_periods)
        .std()
        .reset_index(level=0, drop=True)
    )
    log_vol = np.log1p(df["volume"].astype(float).clip(lower=0))
    prev = log_vol.groupby(df["symbol"]).shift(1)
    roll = prev.groupby(df["symbol"]).rolling(volume_window, min_periods=min_periods)
    mean = roll.mean().reset_index(level=0, drop=True)
    std = roll.std().reset_index(level=0, drop=True)
    df["volume_z"] = (log_vol - mean) / std.replace(0.0, np.nan)
    df["ret_24h"] = log_close - log_close.groupby(df["symbol"]).shift(24)
    day = pd.to_datetime(df["event_ts"], utc=True).dt.floor("D")
    daily_close = df.assign(day=day, log_close=log_close).groupby(["symbol", "day"])["log_close"].last()
    prev_daily = daily_close.groupby(level=0).shift(1).rename("prev_day_log_close").reset_index()
    df = df.assign(day=day).merge(prev_daily, on=["symbol", "day"], how="left")
    df["trend_1d"] = np.sign(log_close.values - df["prev_day_log_close"].values)
    del g
    return df[FEATURE_COLUMNS]
