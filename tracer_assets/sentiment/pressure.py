"""Per-symbol narrative pressure at decision times, with exponential decay (a true half-life).

    pressure(symbol, t) = sum over the symbol's narratives with available_ts <= t of
        polarity * confidence * novelty * exp(-age * ln 2 / half_life),   age = t - event_ts

A narrative enters at its ``available_ts`` (never before) but decays from its publication ``event_ts``:
a story fetched hours after it was published enters already decayed, so stale news never counts as
fresh. ``polarity`` and ``confidence`` are ``combined_polarity`` / ``combined_confidence`` (model and LLM
blended) only from the time the LLM answer was obtained (``llm_obtained_ts``): before that, or when the
time is unknown, the model's own ``polarity`` / ``confidence`` count, so a backfill never uses an LLM
answer that could have read the price reaction. A missing ``novelty`` counts as 1.

``n_narratives`` counts narratives available in (t - count_half_lives * half_life, t]; ``last_narrative_available_ts``
is the newest available_ts <= t (staleness checks use it).

Vectorised per symbol: each narrative is one event at ``available_ts`` (weight decayed from event_ts
to then) plus, where its LLM answer came later, a second event at ``llm_obtained_ts`` adding the
difference combined - model. With events sorted by time, S_k = sum_{i<=k} w_i exp(-lam (a_k - a_i)) is
a cumulative sum of w_i exp(lam a_i) rescaled by exp(-lam a_k); it is computed in blocks whose exponents
stay below 600 so nothing overflows, and pressure(t) = S_k exp(-lam (t - a_k)) for the last k with
a_k <= t.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pandas as pd

from tracer_assets.settings import SentimentSettings

PRESSURE_COLUMNS = [
    "symbol",
    "decision_ts",
    "pressure",
    "n_narratives",
    "last_narrative_available_ts",
    "event_ts",
    "available_ts",
]
_MAX_EXPONENT = 600.0
_HOUR_NS = 3_600_000_000_000


def decay_weight(age_hours: np.ndarray | float, half_life_hours: float) -> np.ndarray | float:
    """exp(-age * ln2 / half_life): 1 at age 0, 1/2 at one half-life; 0 for negative ages (not yet known)."""
    age = np.asarray(age_hours, dtype=float)
    w = np.where(age >= 0, np.exp(-np.clip(age, 0, None) * math.log(2) / half_life_hours), 0.0)
    return float(w) if w.ndim == 0 else w


def narrative_weights(scores: pd.DataFrame) -> np.ndarray:
    """polarity x confidence x novelty of each score row (combined columns preferred, see module doc)."""
    novelty = _novelty(scores)
    w = _col(scores, "combined_polarity", "polarity") * _col(scores, "combined_confidence", "confidence")
    return np.nan_to_num(np.asarray(w * novelty, dtype=float))


def model_weights(scores: pd.DataFrame) -> np.ndarray:
    """polarity x confidence x novelty from the model alone (no LLM part)."""
    w = scores["polarity"].astype(float) * scores["confidence"].astype(float) * _novelty(scores)
    return np.nan_to_num(np.asarray(w, dtype=float))


def _col(scores: pd.DataFrame, preferred: str, fallback: str) -> pd.Series:
    if preferred in scores.columns:
        return scores[preferred].astype(float).fillna(scores[fallback].astype(float))
    return scores[fallback].astype(float)


def _novelty(scores: pd.DataFrame) -> pd.Series | float:
    return scores["novelty"].astype(float).fillna(1.0) if "novelty" in scores.columns else 1.0


def llm_use_from(scores: pd.DataFrame) -> pd.Series:
    """When each row's LLM part may first count: max(available_ts, llm_obtained_ts); NaT where it never
    may (no LLM answer, or an answer with no recorded time). Frames without LLM columns count the
    combined columns from availability."""
    available = pd.to_datetime(scores["available_ts"], utc=True)
    if "llm_polarity" not in scores.columns:  # no LLM columns: the combined ones are the model's own
        return available
    if "llm_obtained_ts" not in scores.columns:
        return pd.Series(pd.NaT, index=scores.index, dtype=available.dtype)
    obtained = pd.to_datetime(scores["llm_obtained_ts"], utc=True)
    has = scores["llm_polarity"].astype(float).notna() & obtained.notna()
    return obtained.where(obtained > available, available).where(has)


def llm_exclusions(scores: pd.DataFrame, decision_ts: pd.Series | pd.DatetimeIndex) -> dict[str, int]:
    """How many LLM answers came too late: ``llm_late`` obtained after their story's availability (left
    out until obtained), ``llm_excluded`` obtained after the last decision time (left out entirely)."""
    if scores.empty or "llm_polarity" not in scores.columns:
        return {"llm_late": 0, "llm_excluded": 0}
    has_llm = scores["llm_polarity"].astype(float).notna()
    use = llm_use_from(scores)
    available = pd.to_datetime(scores["available_ts"], utc=True)
    last = pd.to_datetime(pd.Series(decision_ts), utc=True).max() if len(decision_ts) else None
    late = has_llm & (use.isna() | (use > available))
    excluded = has_llm & (use.isna() | (use > last if last is not None else True))
    return {"llm_late": int(late.sum()), "llm_excluded": int(excluded.sum())}


def _decayed_running_sum(times_h: np.ndarray, weights: np.ndarray, lam: float) -> np.ndarray:
    """S_k = sum_{i<=k} w_i exp(-lam (a_k - a_i)) for sorted times, overflow-free."""
    x = lam * (times_h - times_h[0])
    out = np.empty_like(weights)
    carry, carry_x = 0.0, 0.0
    block = np.floor(x / _MAX_EXPONENT).astype(np.int64)
    for b in np.unique(block):
        m = np.flatnonzero(block == b)
        xb = x[m]
        scale = np.exp(xb - xb[0])  # at most e^600
        out[m] = np.cumsum(weights[m] * scale) / scale + carry * np.exp(-(xb - carry_x))
        carry, carry_x = out[m[-1]], xb[-1]
    return out


class _Events(NamedTuple):
    """A score frame's weight events, unsorted: one entry per score row (row i is event i), then a
    correction per row whose LLM answer came later (``correction[i]``: row i's event, or -1)."""

    names: np.ndarray  # the sorted distinct symbols; ``code`` indexes them
    code: np.ndarray
    a: np.ndarray  # hours since the epoch
    w: np.ndarray
    ts: np.ndarray  # datetime64[ns]
    entry: np.ndarray
    correction: np.ndarray

    def of_rows(self, rows: np.ndarray) -> np.ndarray:
        """The events of the score ``rows``: their entries, then their corrections, each in row order
        (the order the events of those rows alone would have), found without a pass over all events."""
        rows = np.sort(rows)
        later = self.correction[rows]
        return np.concatenate([rows, later[later >= 0]])


def _events(scores: pd.DataFrame, lam: float) -> _Events:
    """Each narrative's entry at available_ts (model weight, or the combined one when its LLM answer was
    already obtained), decayed from event_ts to then, and a correction event where the LLM answer came
    later. Every value is per row, so the events of a subset of rows are the same subset of these."""
    available = pd.to_datetime(scores["available_ts"], utc=True)
    published = pd.to_datetime(scores["event_ts"], utc=True) if "event_ts" in scores.columns else available
    published = published.fillna(available)
    a = _to_hours(available)
    age_at_entry = np.clip(a - _to_hours(published), 0.0, None)
    model_w, full_w = model_weights(scores), narrative_weights(scores)
    use = llm_use_from(scores)
    llm_now = (use == available).fillna(False).to_numpy(bool)
    entry_w = np.where(llm_now, full_w, model_w) * np.exp(-lam * age_at_entry)
    names, code = np.unique(scores["symbol"].astype(str).to_numpy(), return_inverse=True)
    code, ts = code.reshape(-1), available.to_numpy("datetime64[ns]")
    later = (use > available).fillna(False).to_numpy(bool)
    correction = np.full(len(a), -1, dtype=np.int64)
    correction[later] = len(a) + np.arange(int(later.sum()))
    if not later.any():
        return _Events(names, code, a, entry_w, ts, np.ones(len(a), bool), correction)
    u = _to_hours(use[later])
    age_at_use = np.clip(u - _to_hours(published[later]), 0.0, None)
    delta = (full_w[later] - model_w[later]) * np.exp(-lam * age_at_use)
    return _Events(
        names,
        np.concatenate([code, code[later]]),
        np.concatenate([a, u]),
        np.concatenate([entry_w, delta]),
        np.concatenate([ts, use[later].to_numpy("datetime64[ns]")]),
        np.concatenate([np.ones(len(a), bool), np.zeros(int(later.sum()), bool)]),
        correction,
    )


def _decision_frame(decision_times: pd.DataFrame | pd.DatetimeIndex, scores: pd.DataFrame) -> pd.DataFrame:
    if isinstance(decision_times, pd.DatetimeIndex):
        symbols = sorted(scores["symbol"].dropna().astype(str).unique())
        times = pd.DatetimeIndex(decision_times)
        if times.tz is None:
            raise ValueError("decision times must be tz-aware (UTC)")
        grid = pd.MultiIndex.from_product([symbols, times.tz_convert("UTC")], names=["symbol", "decision_ts"])
        return grid.to_frame(index=False)
    missing = {"symbol", "decision_ts"} - set(decision_times.columns)
    if missing:
        raise ValueError(f"decision_times lacks columns {sorted(missing)}")
    out = decision_times[["symbol", "decision_ts"]].copy()
    if len(out) and pd.to_datetime(out["decision_ts"]).dt.tz is None:
        raise ValueError("decision_ts must be tz-aware (UTC)")
    out["decision_ts"] = pd.to_datetime(out["decision_ts"], utc=True)
    out["symbol"] = out["symbol"].astype(str)
    return out.reset_index(drop=True)


def _to_hours(ts: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    ns = pd.to_datetime(ts, utc=True)
    return np.asarray(ns.astype("datetime64[ns, UTC]").astype(np.int64), dtype=np.float64) / _HOUR_NS


def narrative_pressure(
    scores: pd.DataFrame,
    decision_times: pd.DataFrame | pd.DatetimeIndex,
    settings: SentimentSettings,
    windows: list[tuple[np.ndarray, np.ndarray]] | None = None,
) -> pd.DataFrame:
    """Decayed narrative pressure per (symbol, decision_ts); see the module docstring.

    ``decision_times``: a frame with symbol and decision_ts, or a DatetimeIndex applied to every symbol
    in ``scores``. Rows come back in the order of the decision frame. ``windows``: (decision row
    positions, score row positions) pairs, each computed as if those rows were the only ones given,
    rows back in the order of the windows (None: one window of everything).
    """
    dec = _decision_frame(decision_times, scores)
    if windows is None:
        windows = [(np.arange(len(dec)), np.arange(len(scores)))]
    half_life = settings.pressure_half_life_hours
    lam = math.log(2) / half_life
    found = _Found(len(dec))
    if len(scores) and len(dec):
        events = _events(scores, lam)
        dec_symbols = dec["symbol"].to_numpy()
        dec_hours = _to_hours(dec["decision_ts"])
        for dec_rows, score_rows in windows:
            targets = pd.Series(dec_rows).groupby(dec_symbols[dec_rows], sort=False).indices
            idx = events.of_rows(score_rows)  # entries first, then corrections
            _fill(found, events, idx, {s: dec_rows[p] for s, p in targets.items()}, dec_hours, lam, settings)
    order = np.concatenate([rows for rows, _ in windows]) if windows else np.arange(0)
    out = dec.take(order).reset_index(drop=True)
    out = out.assign(
        pressure=found.pressure[order],
        n_narratives=np.maximum(found.counts[order], 0),
        last_narrative_available_ts=pd.to_datetime(found.last[order]).tz_localize("UTC"),
    )
    out["event_ts"] = out["decision_ts"]
    out["available_ts"] = out["decision_ts"]
    return out[PRESSURE_COLUMNS]


class _Found:
    """Pressure, narrative count and newest availability at each decision row."""

    def __init__(self, n: int):
        self.pressure = np.zeros(n)
        self.counts = np.zeros(n, dtype=np.int64)
        self.last = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")


def _fill(
    found: _Found,
    events: _Events,
    idx: np.ndarray,
    targets: dict[str, np.ndarray],
    dec_hours: np.ndarray,
    lam: float,
    settings: SentimentSettings,
) -> None:
    """Fills the decision rows in ``targets`` (by symbol) from the events ``idx``, sorted by (symbol,
    time) with ties in their given order."""
    count_window = settings.pressure_count_half_lives * settings.pressure_half_life_hours
    idx = idx[np.lexsort((events.a[idx], events.code[idx]))]
    codes = events.code[idx]
    bounds = np.flatnonzero(np.diff(codes)) + 1
    for rows in np.split(idx, bounds) if len(idx) else []:
        target = targets.get(events.names[events.code[rows[0]]])
        if target is None:
            continue
        a = events.a[rows]
        s = _decayed_running_sum(a, events.w[rows], lam)
        t = dec_hours[target]
        k = np.searchsorted(a, t, side="right") - 1
        kk = np.maximum(k, 0)
        found.pressure[target] = np.where(k >= 0, s[kk] * np.exp(-lam * (t - a[kk])), 0.0)
        entry = events.entry[rows]
        ea = a[entry]
        ek = np.searchsorted(ea, t, side="right") - 1
        found.counts[target] = (ek + 1) - np.searchsorted(ea, t - count_window, side="right")
        stamps = events.ts[rows][entry]
        found.last[target] = np.where(ek >= 0, stamps[np.maximum(ek, 0)], np.datetime64("NaT"))


def pressure_lookback(settings: SentimentSettings) -> pd.Timedelta:
    """How far before the first decision time scores must be read: narratives older than this weigh
    less than 2^-pressure_lookback_half_lives each, so truncating there changes pressure negligibly."""
    half_lives = max(settings.pressure_lookback_half_lives, settings.pressure_count_half_lives)
    return pd.Timedelta(hours=half_lives * settings.pressure_half_life_hours)


def hourly_decision_times(symbols: list[str], start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Every (symbol, hour) with the hour in [start, end): the grid of the narrative_pressure asset."""
    hours = pd.date_range(pd.Timestamp(start).ceil("h"), pd.Timestamp(end), freq="h", inclusive="left")
    grid = pd.MultiIndex.from_product([sorted(symbols), hours], names=["symbol", "decision_ts"])
    return grid.to_frame(index=False)
