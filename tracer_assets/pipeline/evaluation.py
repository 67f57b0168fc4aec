"""The evaluation stages: observations known in a window, the nightly hit-rate trend, and the weekly
tables (metrics, calibration bins, all-time metrics, cohort win rates), each a pure function of the
stored observations and the settings."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from tracer_assets.evaluation.all_time import all_time_tables
from tracer_assets.evaluation.lead_time import lead_hours_list
from tracer_assets.evaluation.metrics import (
    default_settings,
    parse_week,
    prepare_observations,
    weekly_calibration_bins,
    weekly_metrics,
    win_rates_by_cohort,
)
from tracer_assets.evaluation.observations import (
    combine_observations,
    market_observations,
    signal_observations,
)
from tracer_assets.evaluation.self_check import TrendInputs
from tracer_assets.evaluation.self_check import hit_rate_trend as compute_hit_rate_trend
from tracer_assets.pipeline.store import Store
from tracer_assets.pipeline.window import DAY, clip_to_now, last_day
from tracer_assets.settings import TracerSettings
from tracer_assets.universe import Universe


def eval_observations(
    store: Store,
    settings: TracerSettings,
    universe: Universe,
    start: pd.Timestamp,
    end: pd.Timestamp,
    now: pd.Timestamp | None = None,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Observations that became known in [start, end): signals whose horizon passed, and resolved
    market questions priced at every lead time by the market and by us. Returns (rows, market counts).

    A signal resolves once its horizon is passed by the data horizon (``end``, clipped to ``now`` for
    today's partition), even with no later bar of its symbol (a stock over a weekend), so a day run
    alone scores what a range scores."""
    s = settings
    classes = {i.symbol: i.asset_class for i in universe.instruments}
    sig_lookback = DAY * (math.ceil(s.signals.signal_horizon_hours / 24) + 1)
    sigs = store.read("signals", start - sig_lookback, last_day(end))
    bars_df = store.read("bars", start - sig_lookback, last_day(end))
    obs_sig = signal_observations(
        sigs, bars_df, source_model=s.sentiment.polarity_model, as_of=clip_to_now(end, now=now)
    )
    leads = lead_hours_list(s.evaluation)
    # the frozen price may be the longest lead (plus the day cut-off) before the end
    mkt_lookback = DAY * (math.ceil(max(leads) / 24) + 2)
    snaps = store.read("polymarket_markets", start - mkt_lookback, last_day(end))
    obs_mkt, stats = market_observations(snaps, leads, classes, s.evaluation.eval_score_rejected_markets)
    obs = combine_observations(obs_sig, obs_mkt)
    obs = obs[(obs["available_ts"] >= start) & (obs["available_ts"] < end)].reset_index(drop=True)
    return obs, stats


def hit_rate_trend(
    store: Store, settings: TracerSettings, days: list[str], now: pd.Timestamp | None = None
) -> dict[str, pd.DataFrame]:
    """Each night's hit-rate trend (last window against its baseline), by day key."""
    s = settings
    span = DAY * (s.evaluation.eval_selfcheck_window_days + s.evaluation.eval_selfcheck_baseline_days + 1)
    # one read for the whole range, then each night's window of partition days (= available_ts days)
    history = store.read("eval_observations", pd.Timestamp(days[0], tz="UTC") - span, days[-1])
    if len(history):
        # prepared and reduced to arrays once; each night masks its window of partition days
        # (= available_ts days, as read from the lake)
        known = pd.to_datetime(history["available_ts"], utc=True).dt.strftime("%Y-%m-%d")
        history = prepare_observations(history.assign(_known_day=known), default_settings())
        known_day = pd.to_datetime(history["_known_day"], format="%Y-%m-%d").to_numpy(dtype="datetime64[D]")
        inputs = TrendInputs(history)
    window, baseline = s.evaluation.eval_selfcheck_window_days, s.evaluation.eval_selfcheck_baseline_days
    out = {}
    for day in days:
        as_of = clip_to_now(pd.Timestamp(day, tz="UTC") + DAY, now=now) - pd.Timedelta(microseconds=1)
        if len(history):
            first = (as_of - span).floor("D").tz_convert(None).to_datetime64().astype("datetime64[D]")
            rows = (known_day >= first) & (known_day <= np.datetime64(day, "D"))
            out[day] = inputs.trend(as_of, window, baseline, rows)
        else:
            out[day] = compute_hit_rate_trend(history, as_of, window, baseline)
    return out


def week_observations(store: Store, settings: TracerSettings, week: str) -> pd.DataFrame:
    """Observations that may belong to ``week`` (by resolved_ts): a prediction resolved late on Sunday
    can become known days later, so read ``eval_week_slack_days`` past the week's end; the weekly
    functions drop other weeks' rows."""
    monday = parse_week(week)
    return store.read(
        "eval_observations", monday, monday + DAY * (6 + settings.evaluation.eval_week_slack_days)
    )


def eval_metrics(store: Store, settings: TracerSettings, week: str) -> pd.DataFrame:
    """The week's scores per kind, predictor and cohort."""
    return weekly_metrics(week_observations(store, settings, week), week, settings.evaluation)


def calibration_bins(store: Store, settings: TracerSettings, week: str) -> pd.DataFrame:
    """The week's reliability bins (uniform and quantile) per kind and predictor."""
    return weekly_calibration_bins(week_observations(store, settings, week), week, settings.evaluation)


def eval_win_rates(store: Store, settings: TracerSettings, week: str) -> pd.DataFrame:
    """The week's win rate per cohort, over observations resolved inside the week."""
    monday = parse_week(week)
    obs = prepare_observations(week_observations(store, settings, week), settings.evaluation)
    obs = obs[(obs["resolved_ts"] >= monday) & (obs["resolved_ts"] < monday + DAY * 7)]
    rates = win_rates_by_cohort(obs, settings.evaluation)
    rates.insert(0, "week", week)
    return rates


def eval_metrics_all_time(
    store: Store, settings: TracerSettings, weeks: list[str]
) -> dict[str, pd.DataFrame]:
    """All-time metrics as of each week's end (every observation known by then), by week key.

    One read and one fold for the whole range (``evaluation.all_time``): each week adds its own rows to
    the intervals' running sums, so a range costs linear time in its weeks; a week alone folds its
    history from the first observation to the same numbers."""
    history = prepare_observations(
        store.read("eval_observations", None, parse_week(weeks[-1]) + DAY * 7), settings.evaluation
    )
    ends = {week: parse_week(week) + DAY * 7 for week in weeks}
    tables = all_time_tables(history, list(ends.values()), settings.evaluation)
    out = {}
    for week, end in ends.items():
        metrics = tables[end]
        metrics.insert(1, "through_week", week)
        out[week] = metrics
    return out


WEEKLY_TABLES = {
    "eval_metrics": eval_metrics,
    "calibration_bins": calibration_bins,
    "eval_win_rates": eval_win_rates,
}
