"""The signals stage: signals and held-back candidates for a window, from the stored features, the
stored ``narrative_pressure`` (never recomputed here), earlier signals (cooldown state) and resolved
outcomes (calibration), with degraded input days held back."""

from __future__ import annotations

import math

import pandas as pd

from tracer_assets.evaluation.observations import signal_observations
from tracer_assets.pipeline.governed import governed_segments
from tracer_assets.pipeline.store import Store
from tracer_assets.pipeline.window import DAY, last_day
from tracer_assets.providers.health import read_health
from tracer_assets.settings import TracerSettings
from tracer_assets.signals import SignalsResult, compute_signals
from tracer_assets.signals.pipeline import HELD_BACK_COLUMNS

SIGNAL_INPUT_ASSETS = ("bars", "narratives")


def prior_outcomes(store: Store, before: pd.Timestamp) -> pd.DataFrame:
    """Signal outcomes already stored (earlier runs), known before ``before``."""
    obs = store.read("eval_observations", None, before - DAY)
    if obs.empty:
        return obs
    return obs[(obs["kind"] == "signal") & (obs["available_ts"] < before)]


def degraded_input_days(store: Store, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame | None:
    """Provider flags (``flag``, ``start_ts``, ``end_ts``) for the days in [start, end) whose bars or
    narratives were degraded, None when none were: signals those days are held back (and counted)
    rather than computed from partial inputs."""
    health = read_health(store, start, last_day(end))
    if len(health):
        health = health[health["degraded"] & health["asset"].isin(SIGNAL_INPUT_ASSETS)]
    if not len(health):
        return None
    day = pd.to_datetime(health["partition"].astype(str), utc=True)
    return pd.DataFrame(
        {"flag": "provider:" + health["provider"].astype(str), "start_ts": day, "end_ts": day + DAY}
    )


def stored_pressure(store: Store, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """The ``narrative_pressure`` rows with decision times in [start, end)."""
    last = last_day(end)
    pressure = store.read("narrative_pressure", start.floor("D"), last)
    if pressure.empty:
        return pressure
    ts = pd.to_datetime(pressure["decision_ts"], utc=True)
    return pressure[(ts >= start) & (ts < end)].reset_index(drop=True)


def signals(
    store: Store,
    settings: TracerSettings,
    start: pd.Timestamp,
    end: pd.Timestamp,
    degraded=None,
    *,
    check_degraded: bool = True,
    calibrate: bool = True,
) -> SignalsResult:
    """Signals with decision times in [start, end), from the store as it stands, each decision time
    with the governed parameters in force at it (``pipeline.governed``; the settings when none).

    Two passes: which signals fire does not depend on calibration, so the first pass finds them,
    their outcomes (resolved inside the range) join the store's earlier ones, and the second pass
    calibrates each day on outcomes resolved before it. A range therefore equals its days run alone.
    ``calibrate=False`` stops after the first pass (same signals and sizes, uncalibrated
    ``internal_prob``: what a threshold search needs). ``degraded`` defaults to the degraded input days
    recorded in ``run_health`` (``check_degraded``). Under a stand-aside version no signal is emitted:
    what would have fired is held back with reason ``stand_aside`` (see ``stand_aside``).
    """
    if degraded is None and check_degraded:
        degraded = degraded_input_days(store, start, end)
    parts: list[SignalsResult] = []
    for seg in governed_segments(store, settings, start, end):
        fired = [p.signals for p in parts if len(p.signals)]
        earlier = pd.concat(fired, ignore_index=True) if fired else None
        calibrated = calibrate and not seg.stand_aside  # nothing is emitted to calibrate
        result = _window_signals(
            store, seg.settings, seg.start, seg.end, degraded, calibrated, earlier, start
        )
        parts.append(stand_aside(result) if seg.stand_aside else result)
    if len(parts) == 1:
        return parts[0]
    return SignalsResult(
        pd.concat([p.signals for p in parts if len(p.signals)] or [parts[0].signals], ignore_index=True),
        pd.concat(
            [p.held_back for p in parts if len(p.held_back)] or [parts[0].held_back], ignore_index=True
        ),
        sum(p.n_decisions for p in parts),
    )


def stand_aside(result: SignalsResult) -> SignalsResult:
    """``result`` under a stand-aside version: no tradeable signal; the candidates that passed every
    check are held back with reason ``stand_aside`` (the others keep their own reasons)."""
    passed = result.signals
    if passed.empty:
        return result
    held = passed.assign(reason="stand_aside", reasons="stand_aside")[HELD_BACK_COLUMNS]
    frames = [h for h in (result.held_back, held) if len(h)]
    held_back = pd.concat(frames, ignore_index=True).sort_values(["decision_ts", "symbol"], kind="stable")
    return SignalsResult(passed.iloc[:0], held_back.reset_index(drop=True), result.n_decisions)


def _window_signals(
    store: Store,
    settings: TracerSettings,
    start: pd.Timestamp,
    end: pd.Timestamp,
    degraded,
    calibrate: bool,
    earlier: pd.DataFrame | None,
    run_start: pd.Timestamp,
) -> SignalsResult:
    """``signals`` for one window under one parameter set. Stored signals decided before ``run_start``
    and ``earlier`` (this run's signals of earlier governed segments) are the cooldown state."""
    s = settings
    lookback = DAY * s.signals.signal_lookback_days
    last = last_day(end)  # end is exclusive, maybe mid-day
    feats = store.read("price_features", start - lookback, last)
    pressure = stored_pressure(store, start, end)
    horizon_days = math.ceil(s.signals.signal_horizon_hours / 24) + 1
    back = DAY * max(math.ceil(s.signals.cooldown_hours / 24 + 1), horizon_days)
    prior = store.read("signals", start - back, min(start, run_start) - DAY)
    if earlier is not None and len(earlier):
        prior = pd.concat([p for p in (prior, earlier) if len(p)], ignore_index=True)
    earlier_outcomes = prior_outcomes(store, start)
    first = compute_signals(
        feats, pressure, prior, earlier_outcomes, s.signals, degraded, start=start, end=end
    )
    if first.signals.empty or not calibrate:
        return first
    # outcomes that resolve inside the range: of this range's signals, and of signals decided just
    # before it (a day run alone finds those in eval_observations; a range must compute them too)
    bars_df = store.read("bars", start - DAY * horizon_days, last + DAY * horizon_days)
    before = prior[prior["decision_ts"] >= start - DAY * horizon_days] if len(prior) else prior
    # bars are complete up to the range's end for every outcome calibration may use (resolved before
    # a decision day's midnight), and stocks have no bar after a weekend horizon: resolve by `end`
    fresh = signal_observations(pd.concat([before, first.signals], ignore_index=True), bars_df, as_of=end)
    if len(fresh):
        fresh = fresh[fresh["available_ts"] >= start]
    outcomes = (
        pd.concat([o for o in (earlier_outcomes, fresh) if len(o)], ignore_index=True)
        if len(fresh)
        else earlier_outcomes
    )
    return compute_signals(feats, pressure, prior, outcomes, s.signals, degraded, start=start, end=end)
