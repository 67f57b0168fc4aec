"""Cooldown: one signal per symbol and direction per window, across partitions and runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandas.testing as pdt

from tracer_assets.signals import compute_signals
from tracer_assets.signals.cooldown_filter import apply_cooldown, prior_state
from tracer_assets_tests.conftest import settings_factory
from tracer_assets_tests.synthetic_signals import hourly_features, pressure_at

T0 = pd.Timestamp("2024-03-04 00:00", tz="UTC")
DAY1 = pd.Timestamp("2024-03-05", tz="UTC")
DAY2 = pd.Timestamp("2024-03-06", tz="UTC")
DAY3 = pd.Timestamp("2024-03-07", tz="UTC")
PRESSURE_FROM = pd.Timestamp("2024-03-05 10:00", tz="UTC")


settings = settings_factory(
    signal_window_hours=12,
    signal_min_pressure=0.5,
    signal_min_volume_z=-10.0,
    cooldown_hours=24,
    cooldown_allow_reversal=True,
)


def world(sign: float = 1.0):
    """Persistent divergence from PRESSURE_FROM on: coverage one way, price drifting the other."""
    n = 72
    f = hourly_features("BTC/USD", "crypto", 100 * np.exp(-sign * 0.001 * np.arange(n)), T0)
    on = (f["available_ts"] >= PRESSURE_FROM).to_numpy()
    return f, pressure_at(f, np.where(on, sign * 1.5, 0.0))


def test_cooldown_holds_across_a_partition_boundary():
    f, p = world()
    s = settings()
    day1 = compute_signals(f, p, None, None, s.signals, start=DAY1, end=DAY2)
    assert day1.signals["decision_ts"].tolist() == [PRESSURE_FROM]
    day2 = compute_signals(f, p, day1.signals, None, s.signals, start=DAY2, end=DAY3)
    assert day2.signals["decision_ts"].tolist() == [PRESSURE_FROM + pd.Timedelta(hours=24)]
    # every other hour of day two is held back: ten before the signal, thirteen after it
    assert day2.held_back_counts["cooldown"] == 23
    # without the lake's state the boundary would leak a second signal at midnight
    blind = compute_signals(f, p, None, None, s.signals, start=DAY2, end=DAY3)
    assert blind.signals["decision_ts"].iloc[0] == DAY2
    # one range-aware run over both days agrees with the two partitioned runs
    both = compute_signals(f, p, None, None, s.signals, start=DAY1, end=DAY3)
    pdt.assert_frame_equal(both.signals, pd.concat([day1.signals, day2.signals], ignore_index=True))


def test_rerunning_a_partition_is_idempotent():
    f, p = world()
    s = settings()
    day1 = compute_signals(f, p, None, None, s.signals, start=DAY1, end=DAY2).signals
    day2 = compute_signals(f, p, day1, None, s.signals, start=DAY2, end=DAY3).signals
    again = compute_signals(f, p, pd.concat([day1, day2]), None, s.signals, start=DAY2, end=DAY3).signals
    pdt.assert_frame_equal(day2, again)


def test_opposite_direction_inside_the_window_is_a_reversal_allowed_only_if_set():
    f, p = world(sign=-1.0)  # shorts from PRESSURE_FROM on
    prior = pd.DataFrame(
        {
            "signal_id": ["old"],
            "symbol": ["BTC/USD"],
            "direction": ["long"],
            "decision_ts": [PRESSURE_FROM - pd.Timedelta(hours=3)],
            "available_ts": [PRESSURE_FROM - pd.Timedelta(hours=3)],
        }
    )
    start = PRESSURE_FROM - pd.Timedelta(hours=2)  # the prior long is from before this run's range
    allowed = compute_signals(
        f, p, prior, None, settings(cooldown_allow_reversal=True).signals, start=start, end=DAY3
    )
    assert allowed.signals["decision_ts"].iloc[0] == PRESSURE_FROM
    assert '"flip": true' in allowed.signals["checks"].iloc[0]
    assert "reverses the previous call" in allowed.signals["evidence"].iloc[0]
    blocked = compute_signals(
        f, p, prior, None, settings(cooldown_allow_reversal=False).signals, start=start, end=DAY3
    )
    # blocked until the long's window ends, 21 hours after the first short candidate
    assert blocked.signals["decision_ts"].iloc[0] == PRESSURE_FROM + pd.Timedelta(hours=21)
    early = blocked.held_back[blocked.held_back["decision_ts"] < PRESSURE_FROM + pd.Timedelta(hours=21)]
    assert len(early) == 21 and set(early["reason"]) == {"cooldown"}


def test_prior_state_is_point_in_time():
    first = pd.Timestamp("2024-03-05 10:00", tz="UTC")
    prior = pd.DataFrame(
        {
            "signal_id": ["a", "b", "c"],
            "symbol": ["X", "X", "Y"],
            "direction": ["long", "long", "short"],
            "decision_ts": [
                first - pd.Timedelta(hours=5),
                first + pd.Timedelta(hours=1),
                first - pd.Timedelta(hours=1),
            ],
            # c was decided before but only written later (a late run): not known at the decision
            "available_ts": [
                first - pd.Timedelta(hours=5),
                first + pd.Timedelta(hours=1),
                first + pd.Timedelta(hours=2),
            ],
        }
    )
    assert prior_state(prior, first) == {("X", "long"): first - pd.Timedelta(hours=5)}


def test_same_direction_after_a_flip_is_still_blocked():
    t = pd.Timestamp("2024-03-05 10:00", tz="UTC")
    state = {("X", "long"): t - pd.Timedelta(hours=5), ("X", "short"): t - pd.Timedelta(hours=2)}
    cands = pd.DataFrame({"symbol": ["X", "X"], "direction": ["long", "short"], "decision_ts": [t, t]})
    out = apply_cooldown(cands, dict(state), 24, allow_reversal=True)
    assert [out[i].passed for i in cands.index] == [False, False]
    out = apply_cooldown(cands, dict(state), 4, allow_reversal=True)  # long window over, short still hot
    assert [out[i].passed for i in cands.index] == [True, False]
