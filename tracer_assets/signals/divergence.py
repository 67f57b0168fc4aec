"""Divergence: narrative pressure against the price move over the same window, in volatility units.

For each symbol and decision time t (a bar's ``available_ts``):

- ``price_move_z = (log close_t - log close_{t-W}) / (realized_vol_t * sqrt(W))`` where W is
  ``signal_window_hours`` counted in the symbol's own bars (a stock's window spans sessions and skips
  closed hours) and ``realized_vol`` is the per-bar std of hourly log returns;
- ``pressure`` is the latest narrative-pressure reading with ``decision_ts <= t`` (point-in-time).

Bullish divergence: ``pressure >= signal_min_pressure`` while ``price_move_z <= signal_max_aligned_move_z``
(price lagged or fell); bearish in mirror. Strength, in [0, 1):

    strength = 1 - exp(-(max(|pressure| - p_min, 0) / pressure_scale + lag_weight * min(lag, max_lag)))
    lag      = max_aligned_move_z - direction * price_move_z      (>= 0 for a candidate)

so strength grows with both the excess pressure and how far the price lags behind it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tracer_assets.settings import SignalSettings
from tracer_assets.universe import exchange_calendar

FEATURE_REQUIRED = [
    "symbol",
    "asset_class",
    "ts",
    "close",
    "ret_1h",
    "realized_vol",
    "volume_z",
    "available_ts",
]
PRESSURE_REQUIRED = ["symbol", "decision_ts", "pressure"]
HOUR = pd.Timedelta(hours=1)


def require_columns(frame: pd.DataFrame, required: list[str], name: str) -> None:
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} frame is missing columns {missing}")


def _utc(series: pd.Series, name: str) -> pd.Series:
    out = pd.to_datetime(series, utc=False)
    if len(out) and out.dt.tz is None:
        raise ValueError(f"{name} holds naive timestamps; Tracer timestamps are tz-aware UTC")
    return out.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")


def trading_clock_hours(times: pd.Series, asset_class: pd.Series, calendar: str) -> np.ndarray:
    """Hours of trading time elapsed since the epoch: wall-clock for crypto, session hours for stocks.

    Differences of this clock measure gaps between bars in trading time, so an overnight or weekend
    gap in a stock's bars is not mistaken for missing data, while a hole inside a session is.
    """
    t = times.to_numpy(dtype="datetime64[ns]").astype("int64")
    out = t / 3.6e12
    stock = (asset_class == "stock").to_numpy()
    if stock.any():
        cal = exchange_calendar(calendar)
        opens = cal.opens.to_numpy(dtype="datetime64[ns]").astype("int64")
        closes = cal.closes.to_numpy(dtype="datetime64[ns]").astype("int64")
        cum = np.concatenate([[0], np.cumsum(closes - opens)])
        ts = t[stock]
        k = np.searchsorted(opens, ts, side="right") - 1
        kk = np.clip(k, 0, len(opens) - 1)
        inside = np.clip(ts - opens[kk], 0, closes[kk] - opens[kk])
        elapsed = np.where(k >= 0, cum[kk] + inside, 0)
        out[stock] = elapsed / 3.6e12
    return out


def _trend(z: pd.Series, flat_z: float) -> pd.Series:
    """-1, 0 or +1: the sign of a move in vol units, flat inside the dead band (NaN stays NaN)."""
    sign = np.sign(z).where(z.abs() > flat_z, 0.0)
    return sign.where(z.notna())


def decision_frame(
    features: pd.DataFrame,
    pressure: pd.DataFrame,
    settings: SignalSettings,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    calendar: str = "XNYS",
) -> pd.DataFrame:
    """One row per symbol and decision time in [start, end) with every fact the rules read.

    ``features`` should include lookback history before ``start`` (window, daily trend, bar gap).
    ``trend_1h``/``trend_1d`` are computed here (sign of the move in vol units, flat inside
    ``signal_trend_flat_z``), so a ``trend_1d`` column in ``features`` is replaced, not trusted.
    """
    require_columns(features, FEATURE_REQUIRED, "features")
    require_columns(pressure, PRESSURE_REQUIRED, "pressure")
    f = features.copy()
    f["ts"] = _utc(f["ts"], "features.ts")
    f["available_ts"] = _utc(f["available_ts"], "features.available_ts")
    if f.duplicated(["symbol", "available_ts"]).any():
        raise ValueError("features hold duplicate (symbol, available_ts) rows")
    f = f.sort_values(["symbol", "available_ts"]).reset_index(drop=True)
    if "volume" not in f.columns:
        f["volume"] = np.nan
    for col in ("close", "ret_1h", "realized_vol", "volume", "volume_z"):
        f[col] = pd.to_numeric(f[col], errors="coerce").astype(float)
    f["asset_class"] = f["asset_class"].astype(str)
    window = settings.signal_window_hours
    by_symbol = f.groupby("symbol", sort=False)
    f["bar_no"] = by_symbol.cumcount()
    log_close = np.log(f["close"].where(f["close"] > 0))
    f["log_close"] = log_close
    f["price_move_log"] = log_close - log_close.groupby(f["symbol"]).shift(window)
    vol = f["realized_vol"].where(f["realized_vol"] > 0)
    f["price_move_z"] = f["price_move_log"] / (vol * np.sqrt(window))
    clock = pd.Series(trading_clock_hours(f["available_ts"], f["asset_class"], calendar), index=f.index)
    bar_open_clock = pd.Series(trading_clock_hours(f["ts"], f["asset_class"], calendar), index=f.index)
    f["bar_gap_hours"] = bar_open_clock - clock.groupby(f["symbol"]).shift(1)
    f["trend_1h"] = _trend(f["ret_1h"] / vol, settings.signal_trend_flat_z)

    # slow trend: close now vs the last close known a day (of clock time) earlier
    long_h = pd.Timedelta(hours=settings.signal_trend_long_hours)
    ref = f[["symbol", "available_ts", "log_close", "bar_no"]].rename(
        columns={"available_ts": "ref_ts", "log_close": "ref_log_close", "bar_no": "ref_bar_no"}
    )
    q = f[["symbol", "available_ts"]].assign(ref_query=f["available_ts"] - long_h).reset_index()
    m = pd.merge_asof(
        q.sort_values("ref_query"),
        ref.sort_values("ref_ts"),
        left_on="ref_query",
        right_on="ref_ts",
        by="symbol",
        direction="backward",
    ).set_index("index")
    f["ret_1d"] = f["log_close"] - m["ref_log_close"].reindex(f.index)
    bars_1d = (f["bar_no"] - m["ref_bar_no"].reindex(f.index)).where(lambda b: b > 0)
    f["trend_1d"] = _trend(f["ret_1d"] / (vol * np.sqrt(bars_1d)), settings.signal_trend_flat_z)

    if start is not None:
        f = f[f["available_ts"] >= pd.Timestamp(start)]
    if end is not None:
        f = f[f["available_ts"] < pd.Timestamp(end)]
    f = f.rename(columns={"available_ts": "decision_ts"})
    return attach_pressure(f.reset_index(drop=True), pressure)


def attach_pressure(decisions: pd.DataFrame, pressure: pd.DataFrame) -> pd.DataFrame:
    """Latest pressure reading per symbol with ``decision_ts <= t`` (missing readings mean zero)."""
    p = pressure.copy()
    p["pressure_ts"] = _utc(p["decision_ts"], "pressure.decision_ts")
    p["pressure"] = pd.to_numeric(p["pressure"], errors="coerce").astype(float)
    p["n_narratives"] = (
        pd.to_numeric(p["n_narratives"], errors="coerce") if "n_narratives" in p.columns else np.nan
    )
    if "last_narrative_available_ts" in p.columns:
        p["last_narrative_available_ts"] = _utc(
            p["last_narrative_available_ts"], "pressure.last_narrative_available_ts"
        )
        leak = p["last_narrative_available_ts"] > p["pressure_ts"]
        if leak.any():
            bad = p.loc[leak, ["symbol", "pressure_ts"]].iloc[0].to_dict()
            raise ValueError(f"pressure reads a narrative available after its decision time (first: {bad})")
    else:
        p["last_narrative_available_ts"] = pd.Series(pd.NaT, index=p.index, dtype="datetime64[ns, UTC]")
    if "narrative_ids" not in p.columns:
        p["narrative_ids"] = None
    p = p[
        ["symbol", "pressure_ts", "pressure", "n_narratives", "last_narrative_available_ts", "narrative_ids"]
    ]
    if p.duplicated(["symbol", "pressure_ts"]).any():
        raise ValueError("pressure holds duplicate (symbol, decision_ts) rows")
    d = decisions.reset_index(drop=True)
    if p.empty:
        m = d.assign(
            pressure_ts=pd.Series(pd.NaT, index=d.index, dtype="datetime64[ns, UTC]"),
            pressure=np.nan,
            n_narratives=np.nan,
            last_narrative_available_ts=pd.Series(pd.NaT, index=d.index, dtype="datetime64[ns, UTC]"),
            narrative_ids=None,
        )
    else:
        m = (
            pd.merge_asof(
                d.reset_index().sort_values("decision_ts"),
                p.sort_values("pressure_ts"),
                left_on="decision_ts",
                right_on="pressure_ts",
                by="symbol",
                direction="backward",
            )
            .set_index("index")
            .sort_index()
        )
    m["pressure"] = m["pressure"].fillna(0.0)
    m["pressure_age_hours"] = (m["decision_ts"] - m["pressure_ts"]) / HOUR
    m["narrative_age_hours"] = (m["decision_ts"] - m["last_narrative_available_ts"]) / HOUR
    return m


def divergence_candidates(decisions: pd.DataFrame, settings: SignalSettings) -> pd.DataFrame:
    """Rows where pressure and price diverge, with ``direction``, ``lag_z`` and ``strength``.

    Rows with enough pressure but no measurable move (too little history, zero volatility) are kept
    with ``measurable = False`` so they can be counted as held back rather than silently dropped.
    """
    s = settings
    p = decisions["pressure"]
    z = decisions["price_move_z"]
    pressing = (p.abs() >= s.signal_min_pressure) & (p != 0)
    direction = np.sign(p)
    lag = s.signal_max_aligned_move_z - direction * z
    measurable = z.notna() & np.isfinite(z)
    candidate = pressing & (~measurable | (lag >= 0))
    c = decisions[candidate].copy()
    c["direction"] = np.where(direction[candidate] > 0, "long", "short")
    c["sign"] = direction[candidate].astype(float)
    c["measurable"] = measurable[candidate]
    c["lag_z"] = lag[candidate].clip(lower=0.0)
    c["pressure_term"] = (c["pressure"].abs() - s.signal_min_pressure).clip(
        lower=0.0
    ) / s.signal_pressure_scale
    c["lag_term"] = s.signal_lag_weight * c["lag_z"].clip(upper=s.signal_max_lag_z)
    c["strength"] = (1.0 - np.exp(-(c["pressure_term"] + c["lag_term"]))).clip(0.0, 1.0)
    keep = ~c["measurable"] | (c["strength"] >= s.signal_min_strength)
    return c[keep]
