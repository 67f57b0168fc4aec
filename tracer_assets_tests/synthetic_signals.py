"""A seeded synthetic universe of hourly features and narrative pressure, for benchmarks and tests.

Not the sim world (that lives with the providers): just enough realistic shape for the signals
rules to run at scale: crypto bars every hour, stock bars inside exchange sessions, narratives
arriving at random with a decayed pressure read at every bar close.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tracer_assets.market.price_features import price_features
from tracer_assets.universe import exchange_calendar


def _bar_opens(asset_class: str, start: pd.Timestamp, end: pd.Timestamp, calendar: str) -> pd.DataFrame:
    if asset_class == "crypto":
        ts = pd.date_range(start, end, freq="h", inclusive="left")
        return pd.DataFrame({"ts": ts, "event_ts": ts + pd.Timedelta(hours=1)})
    cal = exchange_calendar(calendar)
    sessions = cal.sessions_in_range(
        start.tz_localize(None).normalize(), (end - pd.Timedelta("1ns")).tz_localize(None).normalize()
    )
    parts = []
    for label in sessions:
        o, c = cal.session_open(label), cal.session_close(label)
        ts = pd.date_range(o, c, freq="h", inclusive="left")
        parts.append(
            pd.DataFrame({"ts": ts, "event_ts": pd.Series(ts + pd.Timedelta(hours=1)).clip(upper=c)})
        )
    return pd.concat(parts, ignore_index=True)


def synthetic_bars(
    symbols: dict[str, str], start: pd.Timestamp, end: pd.Timestamp, seed: int = 0, calendar: str = "XNYS"
) -> pd.DataFrame:
    """Hourly bars (random-walk closes, lognormal volume) for {symbol: asset_class} in [start, end)."""
    rng = np.random.default_rng(seed)
    parts = []
    for symbol, asset_class in symbols.items():
        b = _bar_opens(asset_class, start, end, calendar)
        for col in ("ts", "event_ts"):
            b[col] = pd.to_datetime(b[col], utc=True).astype("datetime64[ns, UTC]")
        n = len(b)
        vol = rng.uniform(0.004, 0.012)
        close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, vol, n)))
        b["symbol"], b["asset_class"] = symbol, asset_class
        b["open"] = np.r_[100.0, close[:-1]]
        b["high"] = np.maximum(b["open"], close) * (1 + vol / 2)
        b["low"] = np.minimum(b["open"], close) * (1 - vol / 2)
        b["close"] = close
        b["volume"] = rng.lognormal(10.0, 0.5, n)
        b["available_ts"] = b["event_ts"]
        b["source"] = "synthetic"
        parts.append(b)
    return pd.concat(parts, ignore_index=True)


def synthetic_pressure(
    features: pd.DataFrame, seed: int = 0, narratives_per_day: float = 1.5, half_life_hours: float = 12.0
) -> pd.DataFrame:
    """Decayed narrative pressure at every feature row's available_ts, per symbol."""
    rng = np.random.default_rng(seed + 1)
    parts = []
    for symbol, f in features.groupby("symbol", sort=True):
        times = f["available_ts"].sort_values().reset_index(drop=True)
        span_h = (times.iloc[-1] - times.iloc[0]) / pd.Timedelta(hours=1)
        n = rng.poisson(narratives_per_day * span_h / 24)
        arrive = times.iloc[0] + pd.to_timedelta(np.sort(rng.uniform(0, span_h, n)), unit="h")
        weight = rng.choice([-1.0, 1.0], n) * rng.uniform(0.3, 1.0, n)
        t_h = ((times - times.iloc[0]) / pd.Timedelta(hours=1)).to_numpy()
        a_h = ((arrive - times.iloc[0]) / pd.Timedelta(hours=1)).to_numpy()
        # decayed sum via the running sum of weights scaled to a common origin (stable per day chunk)
        k = np.log(2) / half_life_hours
        idx = np.searchsorted(a_h, t_h, side="right")
        pressure = np.zeros(len(t_h))
        last = np.full(len(t_h), np.nan)
        for i, (t, j) in enumerate(zip(t_h, idx, strict=True)):
            if j:
                lo = max(0, j - 50)
                pressure[i] = float(np.sum(weight[lo:j] * np.exp(-k * (t - a_h[lo:j]))))
                last[i] = a_h[j - 1]
        parts.append(
            pd.DataFrame(
                {
                    "symbol": symbol,
                    "decision_ts": times,
                    "pressure": pressure,
                    "n_narratives": idx - np.searchsorted(a_h, t_h - 24, side="right"),
                    "last_narrative_available_ts": (times.iloc[0] + pd.to_timedelta(last, unit="h")).floor(
                        "s"
                    ),
                    "narrative_ids": [f"{symbol}-n{j}" if j else "" for j in idx],
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def synthetic_universe(
    n_crypto: int, n_stock: int, start: pd.Timestamp, end: pd.Timestamp, vol_window: int = 72, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(features, pressure) for ``n_crypto`` crypto pairs and ``n_stock`` stocks over [start, end)."""
    symbols = {f"C{chr(65 + i)}X/USD": "crypto" for i in range(n_crypto)}
    symbols |= {f"S{chr(65 + i)}X": "stock" for i in range(n_stock)}
    bars = synthetic_bars(symbols, start, end, seed)
    features = price_features(bars, vol_window)
    return features, synthetic_pressure(features, seed)


def hourly_features(
    symbol: str,
    asset_class: str,
    closes: list[float] | np.ndarray,
    start: pd.Timestamp,
    realized_vol: float | np.ndarray = 0.01,
    volume_z: float | np.ndarray = 0.0,
    calendar: str = "XNYS",
) -> pd.DataFrame:
    """Hand-built ``price_features`` rows: one bar per close, hourly from ``start`` (stocks: session
    bars from the first one opening at or after ``start``), with the given vol and volume z-score."""
    n = len(closes)
    if asset_class == "crypto":
        opens = _bar_opens("crypto", start, start + pd.Timedelta(hours=n), calendar)
    else:
        opens = _bar_opens("stock", start, start + pd.Timedelta(days=3 + 2 * n // 7 + 7), calendar)
        opens = opens[pd.to_datetime(opens["ts"], utc=True) >= start]
        if len(opens) < n:
            raise ValueError("not enough sessions after start for the requested bars")
    opens = opens.head(n).reset_index(drop=True)
    log_close = np.log(np.asarray(closes, dtype=float))
    f = pd.DataFrame(
        {
            "symbol": symbol,
            "asset_class": asset_class,
            "ts": pd.to_datetime(opens["ts"], utc=True),
            "close": np.asarray(closes, dtype=float),
            "ret_1h": np.r_[np.nan, np.diff(log_close)],
            "realized_vol": np.broadcast_to(np.asarray(realized_vol, dtype=float), (n,)).copy(),
            "volume": 1000.0,
            "volume_z": np.broadcast_to(np.asarray(volume_z, dtype=float), (n,)).copy(),
            "event_ts": pd.to_datetime(opens["event_ts"], utc=True),
        }
    )
    f["available_ts"] = f["event_ts"]
    return f


def pressure_at(
    features: pd.DataFrame,
    pressure: float | np.ndarray,
    n_narratives: int = 3,
    narrative_lag_hours: float = 1.0,
    narrative_ids: str = "n-a,n-b",
) -> pd.DataFrame:
    """Hand-built pressure readings at every feature row's ``available_ts``."""
    t = pd.to_datetime(features["available_ts"], utc=True)
    return pd.DataFrame(
        {
            "symbol": features["symbol"].to_numpy(),
            "decision_ts": t.to_numpy(),
            "pressure": np.broadcast_to(np.asarray(pressure, dtype=float), (len(features),)).copy(),
            "n_narratives": n_narratives,
            "last_narrative_available_ts": (t - pd.Timedelta(hours=narrative_lag_hours)).to_numpy(),
            "narrative_ids": narrative_ids,
        }
    )
