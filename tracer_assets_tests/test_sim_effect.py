"""The sim world's planted effect: stories move prices in their hidden direction, only when planted."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from tracer_assets.providers.sim import SimWorld
from tracer_assets.providers.sim.narratives import NarrativeParams, effect_kernel
from tracer_assets_tests.test_sim_world import CRYPTO, INSTRUMENTS, UNIVERSE, sim_settings, utc

START = utc("2024-02-01")
DAYS = 120
HORIZON = pd.Timedelta(hours=24)


def trade_the_story(world: SimWorld) -> pd.DataFrame:
    """Enter at the first bar close after each polar story is available, exit 24h later; one row per trade."""
    end = START + pd.Timedelta(days=DAYS)
    bars = world.fetch_bars(INSTRUMENTS, START, end + pd.Timedelta(days=3))
    news = world.fetch_narratives(INSTRUMENTS, START, end)
    truth = world.truth_narratives(INSTRUMENTS, START, end)
    news = news.merge(truth[["narrative_id", "true_polarity"]], on="narrative_id")
    news = news[news["true_polarity"] != 0].sort_values("available_ts")
    closes = bars[["symbol", "event_ts", "close"]].sort_values("event_ts")
    entry = pd.merge_asof(
        news, closes.rename(columns={"event_ts": "entry_ts", "close": "entry"}),
        left_on="available_ts", right_on="entry_ts", by="symbol", direction="forward",
    )  # fmt: skip
    entry["exit_at"] = entry["entry_ts"] + HORIZON
    trades = pd.merge_asof(
        entry.dropna(subset=["entry_ts"]).sort_values("exit_at"),
        closes.rename(columns={"event_ts": "exit_ts", "close": "exit"}),
        left_on="exit_at", right_on="exit_ts", by="symbol", direction="backward",
    )  # fmt: skip
    trades = trades[trades["exit_ts"] > trades["entry_ts"]]
    move = np.sign(np.log(trades["exit"] / trades["entry"]))
    return trades.assign(win=(move == trades["true_polarity"]))


def epoch_hours(ts: pd.Series) -> np.ndarray:
    return ts.dt.tz_convert(None).to_numpy().astype("datetime64[s]").astype("int64") / 3600.0


def binomial_interval(wins: int, n: int) -> tuple[float, float]:
    p = wins / n
    half = 1.96 * math.sqrt(p * (1 - p) / n)
    return p - half, p + half


def test_with_the_effect_planted_trading_the_story_wins_clearly_more_than_half():
    trades = trade_the_story(SimWorld(sim_settings(sim_effect_strength=1.0), UNIVERSE))
    assert len(trades) > 1000
    assert trades["win"].mean() > 0.55
    crypto = trades[trades["symbol"].isin([c.symbol for c in CRYPTO])]
    assert crypto["win"].mean() > 0.58


def test_without_an_effect_trading_the_story_is_a_coin_flip():
    trades = trade_the_story(SimWorld(sim_settings(sim_effect_strength=0.0), UNIVERSE))
    low, high = binomial_interval(int(trades["win"].sum()), len(trades))
    assert low <= 0.5 <= high


def test_strength_zero_keeps_the_random_path_and_removes_only_the_effect():
    start, end = utc("2024-03-01"), utc("2024-03-08")
    planted = SimWorld(sim_settings(sim_effect_strength=1.0), UNIVERSE).truth_prices(CRYPTO, start, end)
    flat = SimWorld(sim_settings(sim_effect_strength=0.0), UNIVERSE).truth_prices(CRYPTO, start, end)
    assert (flat["planted_effect"] == 0).all()
    assert planted["planted_effect"].abs().max() > 0
    np.testing.assert_allclose(
        planted["log_price"] - planted["planted_effect"], flat["log_price"], rtol=0, atol=1e-9
    )


def test_the_planted_effect_is_the_sum_of_each_story_pushing_its_way_after_the_lag():
    world = SimWorld(sim_settings(sim_effect_strength=1.0), UNIVERSE)
    start, end = utc("2024-03-10"), utc("2024-03-20")
    truth = world.truth_narratives(CRYPTO, start - pd.Timedelta(days=world.params.days_back + 1), end)
    latent = world.truth_prices(CRYPTO, start, end)
    for inst in CRYPTO:
        path = latent[latent["symbol"] == inst.symbol]
        stories = truth[truth["symbol"] == inst.symbol]
        tau_h = epoch_hours(path["ts"])[:, None] - epoch_hours(stories["event_ts"])[None, :]
        rebuilt = effect_kernel(tau_h, world.params) @ stories["effect_size"].to_numpy()
        np.testing.assert_allclose(path["planted_effect"].to_numpy(), rebuilt, rtol=0, atol=1e-12)
        # story effects are a few hourly vols: visible, yet small next to a day's move
        hourly_vol = inst.sim_vol_annual / math.sqrt(24 * 365)
        polar = stories.loc[stories["true_polarity"] != 0, "effect_size"].abs()
        assert 0.5 * hourly_vol < polar.median() < 6 * hourly_vol


def test_effect_kernel_lags_ramps_decays_and_ends_at_zero():
    p = NarrativeParams(1.5, 0.25, 0.2, 0.15, 0.25, 0.5, 60, 600, lag_h=2.0, ramp_h=12.0, decay_h=72.0)
    tau = np.array([-5.0, 0.0, 2.0, 8.0, 14.0, 14.0 + 72.0, p.lag_h + p.ramp_h + 5 * 72.0, 1e4])
    g = effect_kernel(tau, p)
    assert g[0] == g[1] == g[2] == 0.0
    assert g[3] == pytest.approx(0.5)
    assert g[4] == pytest.approx(1.0)
    assert 0.3 < g[5] < math.exp(-1)
    assert g[6] == 0.0 and g[7] == 0.0
    dense = effect_kernel(np.linspace(0, 400, 40001), p)
    assert np.abs(np.diff(dense)).max() < 1e-3  # continuous: no jump at the ramp end or the cutoff
    assert p.days_back * 24 >= p.reach_hours


def test_volume_rises_in_the_hours_after_a_story():
    world = SimWorld(sim_settings(), UNIVERSE)
    start, end = utc("2024-02-01"), utc("2024-04-01")
    bars = world.fetch_bars(CRYPTO, start, end)
    news = world.fetch_narratives(CRYPTO, start, end)
    bars = bars.assign(log_volume=np.log(bars["volume"]))
    bars["log_volume"] -= bars.groupby(["symbol", bars["ts"].dt.hour])["log_volume"].transform("mean")
    after = set()
    for row in news.itertuples():
        for h in range(3, 8):
            after.add((row.symbol, (row.event_ts + pd.Timedelta(hours=h)).floor("h")))
    in_window = [(s, t) in after for s, t in zip(bars["symbol"], bars["ts"], strict=True)]
    lifted = bars.loc[in_window, "log_volume"].mean()
    quiet = bars.loc[[not x for x in in_window], "log_volume"].mean()
    assert lifted - quiet > 0.2
