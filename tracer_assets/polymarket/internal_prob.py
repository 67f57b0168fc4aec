"""Our own probability for "will X close above K at T", from price, realised volatility and time left.

Model: the price is a driftless lognormal martingale (Black-Scholes with zero rates), so with
``s = vol * sqrt(hours)`` (``vol`` is the per-hour standard deviation of log returns, the feature
table's ``realized_vol`` on hourly bars):

    P(S_T > K) = N(d2),   d2 = (ln(S / K) - s^2 / 2) / s

With no time or no volatility left the answer is certain: 1 above the strike, 0 below and 0.5 exactly
at it (the model's limit). Invalid inputs (non-positive price or strike, negative or missing
volatility, missing time) give NaN rather than a made-up number.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
from scipy.special import ndtr

from tracer_assets.clock import utc
from tracer_assets.universe import exchange_calendar

ArrayLike = float | np.ndarray


def _unwrap(result: np.ndarray, scalar: bool) -> ArrayLike:
    return float(result) if scalar else result


def internal_prob_above(
    price: ArrayLike, strike: ArrayLike, vol_per_sqrt_hour: ArrayLike, hours_to_end: ArrayLike
) -> ArrayLike:
    """P(price at the end > strike); broadcasts over arrays (a float in, a float out).

    Negative ``hours_to_end`` (the end has passed) is treated as no time left.
    """
    inputs = [np.asarray(x, dtype=float) for x in (price, strike, vol_per_sqrt_hour, hours_to_end)]
    scalar = all(x.ndim == 0 for x in inputs)
    s0, k, vol, hours = np.broadcast_arrays(*inputs)
    valid = np.isfinite(s0) & np.isfinite(k) & np.isfinite(vol) & np.isfinite(hours) & (s0 > 0) & (k > 0)
    valid &= vol >= 0
    spread = np.where(valid, vol, 0.0) * np.sqrt(np.clip(np.where(valid, hours, 0.0), 0.0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        log_moneyness = np.log(np.where(valid, s0, 1.0) / np.where(valid, k, 1.0))
        d2 = (log_moneyness - 0.5 * spread**2) / np.where(spread > 0, spread, 1.0)
    certain = np.where(log_moneyness > 0, 1.0, np.where(log_moneyness < 0, 0.0, 0.5))
    prob = np.where(spread > 0, ndtr(d2), certain)
    return _unwrap(np.where(valid, prob, np.nan), scalar)


def internal_prob_below(
    price: ArrayLike, strike: ArrayLike, vol_per_sqrt_hour: ArrayLike, hours_to_end: ArrayLike
) -> ArrayLike:
    """P(price at the end < strike) = 1 - P(above) (the tie has probability 0 when vol > 0)."""
    above = internal_prob_above(price, strike, vol_per_sqrt_hour, hours_to_end)
    return 1.0 - above


def internal_prob_between(
    price: ArrayLike, low: ArrayLike, high: ArrayLike, vol_per_sqrt_hour: ArrayLike, hours_to_end: ArrayLike
) -> ArrayLike:
    """P(low < price at the end <= high), for range questions; NaN where ``low >= high``."""
    above_low = np.asarray(internal_prob_above(price, low, vol_per_sqrt_hour, hours_to_end))
    above_high = np.asarray(internal_prob_above(price, high, vol_per_sqrt_hour, hours_to_end))
    ordered = np.asarray(low, dtype=float) < np.asarray(high, dtype=float)
    result = np.where(ordered, np.clip(above_low - above_high, 0.0, 1.0), np.nan)
    return float(result) if result.ndim == 0 else result


# ---- our probability beside a market snapshot ------------------------------------------------------

MODEL_ID = "lognormal_rv"  # the predictor's name in evaluation (source_model)

SNAPSHOT_PROB_COLUMNS = [
    "asset_class",
    "strike",
    "strike_side",
    "underlying_close",
    "underlying_vol",
    "underlying_ts",
    "model_hours",
    "internal_prob",
    "gap",
]

_NUMBER = r"\$\s?(\d[\d,]*(?:\.\d+)?)\s?(k|K)?(?![\w.])"
# "... price of Bitcoin be above $100,000 on ..." / "... close above $65,000 ..." / "... settle below $2.5k ..."
_PRICE_QUESTION = re.compile(
    r"\b(?:close|closes|closing|price|priced|trade|trades|trading|settle|settles|be)\s+"
    r"(?:at\s+or\s+)?(above|over|higher\s+than|greater\s+than|below|under|lower\s+than|less\s+than)\s+"
    + _NUMBER,
    re.IGNORECASE,
)
# Questions about touching a level at any time before the end are barrier questions, not close-above.
_BARRIER_WORDS = re.compile(r"\b(reach|reaches|hit|hits|touch|touches|dip|dips|between|all[- ]time)\b", re.I)


def parse_price_question(question: str | None) -> tuple[str | None, float]:
    """("above" | "below", strike) for a close-above / close-below price question, else (None, nan).

    Conservative on purpose: barrier ("reach", "hit"), range ("between") and anything that is not a
    plain price level in dollars stays unparsed, so no made-up probability is shown beside it.
    """
    if not isinstance(question, str) or _BARRIER_WORDS.search(question):
        return None, math.nan
    found = _PRICE_QUESTION.search(question)
    if not found:
        return None, math.nan
    word, number, thousands = found.group(1).lower(), found.group(2), found.group(3)
    strike = float(number.replace(",", "")) * (1000.0 if thousands else 1.0)
    side = "above" if word.split()[0] in ("above", "over", "higher", "greater") else "below"
    return side, strike


def trading_hours_between(start: pd.Timestamp, end: pd.Timestamp, calendar: str = "XNYS") -> float:
    """Exchange trading hours in [start, end): the clock a stock's per-bar volatility runs on."""
    if pd.isna(start) or pd.isna(end) or end <= start:
        return 0.0
    cal = exchange_calendar(calendar)
    lo, hi = max(start, cal.first_minute), min(end, cal.last_minute)
    if hi <= lo:
        return 0.0
    return len(cal.minutes_in_range(lo.floor("min"), (hi - pd.Timedelta(minutes=1)).floor("min"))) / 60.0


def latest_features(features: pd.DataFrame, as_of: pd.Timestamp, max_age_hours: float) -> pd.DataFrame:
    """Per symbol, the newest ``price_features`` row known at ``as_of`` (``available_ts <= as_of``)
    and no older than ``max_age_hours``: index symbol, columns close, realized_vol, available_ts."""
    cols = ["close", "realized_vol", "available_ts"]
    if features is None or features.empty:
        return pd.DataFrame(columns=cols, index=pd.Index([], name="symbol"))
    ts = features["available_ts"]
    if not (isinstance(ts.dtype, pd.DatetimeTZDtype) and str(ts.dtype.tz) == "UTC"):  # as stored: as is
        ts = pd.to_datetime(ts, utc=True)
    known = ((ts <= as_of) & (ts > as_of - pd.Timedelta(hours=max_age_hours))).to_numpy()
    # filtered before anything is copied: a range of days' features, of which few rows are kept
    f = features.loc[known, ["symbol", *cols]].assign(available_ts=ts[known])
    f = f.sort_values(["symbol", "available_ts"], kind="stable").drop_duplicates("symbol", keep="last")
    return f.set_index("symbol")[cols]


def snapshot_internal_probs(
    snapshot: pd.DataFrame,
    features: pd.DataFrame,
    as_of: pd.Timestamp,
    asset_classes: dict[str, str],
    max_feature_age_hours: float,
    calendar: str = "XNYS",
) -> pd.DataFrame:
    """``snapshot`` with ``SNAPSHOT_PROB_COLUMNS`` added: our probability for each open price question.

    The strike is the snapshot's ``strike`` column (the sim's "close above" questions) or, where that
    is missing, parsed from the question text (``parse_price_question``). The underlying's close and
    per-bar realised volatility are the newest ``price_features`` row known at ``as_of``; time left
    is clock hours for crypto and exchange trading hours for stocks, matching the bars the volatility
    was measured on. Closed markets, unparsed questions and stale or missing features give NaN
    (never a made-up number). ``gap = internal_prob - yes_price``.
    """
    as_of = utc(as_of)
    df = snapshot.copy()
    n = len(df)
    df["asset_class"] = df["symbol"].map(asset_classes).astype(object) if n else pd.Series(dtype=object)
    given = (
        pd.to_numeric(df["strike"], errors="coerce") if "strike" in df else pd.Series(np.nan, index=df.index)
    )
    parsed = [parse_price_question(q) for q in (df["question"] if "question" in df else [None] * n)]
    parsed_side = pd.Series([p[0] for p in parsed], index=df.index, dtype=object)
    parsed_strike = pd.Series([p[1] for p in parsed], index=df.index, dtype=float)
    has_given = given.notna() & (given > 0)
    df["strike"] = given.where(has_given, parsed_strike).astype(float)
    side = pd.Series(np.where(has_given, "above", parsed_side.fillna("")), index=df.index, dtype=object)
    df["strike_side"] = side.where(side != "", None)

    latest = latest_features(features, as_of, max_feature_age_hours).reindex(df["symbol"].to_numpy())
    df["underlying_close"] = pd.to_numeric(latest["close"], errors="coerce").to_numpy(dtype=float)
    df["underlying_vol"] = pd.to_numeric(latest["realized_vol"], errors="coerce").to_numpy(dtype=float)
    df["underlying_ts"] = pd.to_datetime(latest["available_ts"], utc=True).set_axis(df.index)

    end = pd.to_datetime(df["end_ts"], utc=True) if n else pd.Series(dtype="datetime64[us, UTC]")
    clock = ((end - as_of) / pd.Timedelta(hours=1)).astype(float).clip(lower=0.0)
    is_stock = (df["asset_class"] == "stock").to_numpy(dtype=bool)
    hours = clock.to_numpy(dtype=float).copy()
    for i in np.flatnonzero(is_stock):
        hours[i] = trading_hours_between(as_of, end.iloc[i], calendar)
    df["model_hours"] = hours

    closed = df["closed"].astype("boolean").fillna(False).to_numpy(dtype=bool) if "closed" in df else False
    above = np.asarray(
        internal_prob_above(df["underlying_close"], df["strike"], df["underlying_vol"], df["model_hours"]),
        dtype=float,
    ).reshape(-1)
    prob = np.where(df["strike_side"] == "below", 1.0 - above, above)
    usable = df["strike_side"].notna().to_numpy(dtype=bool) & ~closed
    df["internal_prob"] = np.where(usable, prob, np.nan)
    yes = pd.to_numeric(df["yes_price"], errors="coerce") if "yes_price" in df else np.nan
    df["gap"] = (df["internal_prob"] - yes).astype(float)
    return df
