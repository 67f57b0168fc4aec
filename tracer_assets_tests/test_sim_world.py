"""The sim world: determinism, exchange sessions, bar sanity, markets and the truth/pipeline split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tracer_assets.lake.schemas import contract_columns
from tracer_assets.lake.store import to_arrow
from tracer_assets.providers.protocols import BarsProvider, MarketsProvider, NewsProvider
from tracer_assets.providers.sim import SimWorld
from tracer_assets.settings import DEFAULT_UNIVERSE, TracerSettings
from tracer_assets.universe import load_universe, sessions_on

UNIVERSE = load_universe(DEFAULT_UNIVERSE)
INSTRUMENTS = list(UNIVERSE.instruments)
CRYPTO = UNIVERSE.of_class("crypto")
STOCKS = UNIVERSE.of_class("stock")
HOUR = pd.Timedelta(hours=1)
DAY = pd.Timedelta(days=1)


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def sim_settings(**overrides) -> TracerSettings:
    """Settings with every sim knob explicit, so the environment cannot change the world."""
    values = dict(
        sim_seed=7,
        sim_effect_strength=1.0,
        sim_narratives_per_day=1.5,
        sim_effect_lag_hours=2.0,
        sim_effect_ramp_hours=12.0,
        sim_effect_decay_hours=72.0,
        sim_markets_per_day=2,
        sim_market_max_days=7,
    )
    values.update(overrides)
    return TracerSettings(_env_file=None, **values)


@pytest.fixture(scope="module")
def world() -> SimWorld:
    return SimWorld(sim_settings(), UNIVERSE)


def test_sim_world_implements_the_provider_protocols(world):
    assert world.name == "sim"
    assert isinstance(world, BarsProvider)
    assert isinstance(world, NewsProvider)
    assert isinstance(world, MarketsProvider)


# --- determinism ---------------------------------------------------------------------------------


def test_a_day_of_bars_alone_equals_the_same_day_inside_a_range():
    day = utc("2024-03-14")
    alone = SimWorld(sim_settings(), UNIVERSE).fetch_bars(INSTRUMENTS, day, day + DAY)
    ranged = SimWorld(sim_settings(), UNIVERSE).fetch_bars(INSTRUMENTS, day - 10 * DAY, day + 5 * DAY)
    in_day = ranged[(ranged["ts"] >= day) & (ranged["ts"] < day + DAY)].reset_index(drop=True)
    assert len(alone) == 6 * 24 + 6 * 7
    pd.testing.assert_frame_equal(alone, in_day, check_exact=True)


def test_days_generated_in_reverse_order_give_identical_bars():
    days = [utc("2024-05-01") + i * DAY for i in range(4)]
    forward = SimWorld(sim_settings(), UNIVERSE)
    backward = SimWorld(sim_settings(), UNIVERSE)
    fwd = {d: forward.fetch_bars(INSTRUMENTS, d, d + DAY) for d in days}
    bwd = {d: backward.fetch_bars(INSTRUMENTS, d, d + DAY) for d in reversed(days)}
    for d in days:
        pd.testing.assert_frame_equal(fwd[d], bwd[d], check_exact=True)


def test_a_day_of_narratives_alone_equals_the_same_day_inside_a_range():
    day = utc("2024-03-14")
    alone = SimWorld(sim_settings(), UNIVERSE).fetch_narratives(INSTRUMENTS, day, day + DAY)
    ranged = SimWorld(sim_settings(), UNIVERSE).fetch_narratives(INSTRUMENTS, day - 10 * DAY, day + 5 * DAY)
    in_day = ranged[(ranged["event_ts"] >= day) & (ranged["event_ts"] < day + DAY)].reset_index(drop=True)
    assert len(alone) > 0
    pd.testing.assert_frame_equal(alone, in_day, check_exact=True)
    truth_alone = SimWorld(sim_settings(), UNIVERSE).truth_narratives(INSTRUMENTS, day, day + DAY)
    assert truth_alone["narrative_id"].tolist() == alone["narrative_id"].tolist()


def test_a_market_snapshot_does_not_depend_on_what_was_generated_before():
    as_of = utc("2024-03-14 23:00")
    fresh = SimWorld(sim_settings(), UNIVERSE).fetch_markets(INSTRUMENTS, as_of)
    busy = SimWorld(sim_settings(), UNIVERSE)
    busy.fetch_bars(INSTRUMENTS, as_of - 20 * DAY, as_of + 5 * DAY)
    for back in (3, 9, 1):
        busy.fetch_markets(INSTRUMENTS, as_of - back * DAY)
    assert len(fresh) > 0
    pd.testing.assert_frame_equal(fresh, busy.fetch_markets(INSTRUMENTS, as_of), check_exact=True)


def test_two_worlds_with_the_same_seed_agree_and_another_seed_differs():
    start, end = utc("2024-06-03"), utc("2024-06-05")
    a = SimWorld(sim_settings(), UNIVERSE)
    b = SimWorld(sim_settings(), UNIVERSE)
    pd.testing.assert_frame_equal(
        a.fetch_bars(INSTRUMENTS, start, end), b.fetch_bars(INSTRUMENTS, start, end)
    )
    pd.testing.assert_frame_equal(
        a.fetch_narratives(INSTRUMENTS, start, end), b.fetch_narratives(INSTRUMENTS, start, end)
    )
    other = SimWorld(sim_settings(sim_seed=8), UNIVERSE).fetch_bars(INSTRUMENTS, start, end)
    assert not np.allclose(other["close"], a.fetch_bars(INSTRUMENTS, start, end)["close"])


# --- sessions ------------------------------------------------------------------------------------


def test_crypto_has_24_hourly_bars_every_day(world):
    bars = world.fetch_bars(CRYPTO, utc("2024-11-25"), utc("2025-01-02"))
    per_day = bars.groupby([bars["symbol"], bars["ts"].dt.floor("D")]).size()
    assert len(per_day) == len(CRYPTO) * 38
    assert (per_day == 24).all()
    assert (bars["ts"].dt.minute == 0).all()
    assert ((bars["event_ts"] - bars["ts"]) == HOUR).all()


def test_stock_bars_lie_inside_exchange_sessions_only(world):
    bars = world.fetch_bars(STOCKS, utc("2024-11-25"), utc("2025-01-02"))
    assert len(bars) > 0
    for (_, day), group in bars.groupby([bars["symbol"], bars["ts"].dt.floor("D")]):
        session = sessions_on(day)
        assert session is not None, f"stock bar on a closed day {day}"
        open_, close = session
        assert group["ts"].min() == open_
        assert group["event_ts"].max() == close
        assert (group["ts"] >= open_).all() and (group["event_ts"] <= close).all()
    days = set(bars["ts"].dt.strftime("%Y-%m-%d"))
    for closed in ("2024-12-25", "2024-11-28", "2024-12-28", "2024-12-29", "2025-01-01"):
        assert closed not in days


def test_early_close_ends_with_a_shorter_bar_at_18_utc(world):
    bars = world.fetch_bars(STOCKS[:1], utc("2024-11-29"), utc("2024-11-30"))
    assert bars["ts"].iloc[0] == utc("2024-11-29 14:30")
    assert bars["event_ts"].iloc[-1] == utc("2024-11-29 18:00")
    assert bars["event_ts"].iloc[-1] - bars["ts"].iloc[-1] == pd.Timedelta(minutes=30)
    assert len(bars) == 4


def test_a_summer_session_opens_at_13_30_utc(world):
    bars = world.fetch_bars(STOCKS[:1], utc("2024-07-10"), utc("2024-07-11"))
    assert bars["ts"].iloc[0] == utc("2024-07-10 13:30")
    assert bars["event_ts"].iloc[-1] == utc("2024-07-10 20:00")
    assert len(bars) == 7


# --- bar sanity ----------------------------------------------------------------------------------


def test_bars_are_consistent_typed_and_fit_the_lake_contract(world):
    bars = world.fetch_bars(INSTRUMENTS, utc("2024-02-01"), utc("2024-03-01"))
    assert list(bars.columns) == contract_columns("bars")
    for col in ("open", "high", "low", "close", "volume"):
        assert bars[col].dtype == np.float64
        assert np.isfinite(bars[col]).all()
    lo = np.minimum(bars["open"], bars["close"])
    hi = np.maximum(bars["open"], bars["close"])
    assert (bars["low"] > 0).all()
    assert (bars["low"] <= lo).all() and (hi <= bars["high"]).all()
    assert (bars["volume"] > 0).all()
    assert (bars["available_ts"] == bars["event_ts"]).all()
    assert (bars["source"] == "sim").all()
    assert not bars.duplicated(["symbol", "ts"]).any()
    assert str(bars["ts"].dt.tz) == "UTC"
    to_arrow("bars", bars)  # raises if the frame breaks the contract


def test_prices_join_across_midnight_without_a_seam(world):
    btc = CRYPTO[0]
    bars = world.fetch_bars([btc], utc("2024-04-01"), utc("2024-04-03")).set_index("ts")
    last, first = bars.loc[utc("2024-04-01 23:00")], bars.loc[utc("2024-04-02 00:00")]
    assert first["open"] == pytest.approx(last["close"], rel=1e-12)


def test_prices_stay_near_the_universe_scale_and_move_like_their_vol(world):
    bars = world.fetch_bars(INSTRUMENTS, utc("2024-01-01"), utc("2024-07-01"))
    for inst in INSTRUMENTS:
        sym = bars[bars["symbol"] == inst.symbol]
        ratio = sym["close"].median() / inst.sim_price
        assert 0.2 < ratio < 5.0, inst.symbol
        if inst.asset_class == "crypto":
            hourly = np.diff(np.log(sym["close"].to_numpy())).std() * np.sqrt(24 * 365)
            assert 0.5 * inst.sim_vol_annual < hourly < 2.0 * inst.sim_vol_annual, inst.symbol


def test_bad_ranges_and_instruments_fail_clearly(world):
    empty = world.fetch_bars(INSTRUMENTS, utc("2024-01-02"), utc("2024-01-02"))
    assert len(empty) == 0 and list(empty.columns) == contract_columns("bars")
    with pytest.raises(ValueError, match="sim world covers"):
        world.fetch_bars(CRYPTO, utc("2017-06-01"), utc("2017-06-02"))
    with pytest.raises(ValueError, match="sim world covers"):
        world.fetch_narratives(CRYPTO, utc("2036-02-01"), utc("2036-02-02"))
    bad = type(CRYPTO[0])(symbol="XYZ", asset_class="crypto", sim_price=-1.0)
    with pytest.raises(ValueError, match="sim_price"):
        world.fetch_bars([bad], utc("2024-01-02"), utc("2024-01-03"))


# --- narratives ----------------------------------------------------------------------------------


def test_narratives_frame_carries_no_hidden_truth(world):
    start, end = utc("2024-02-01"), utc("2024-02-15")
    news = world.fetch_narratives(INSTRUMENTS, start, end)
    assert list(news.columns) == contract_columns("narratives")
    leaky = {"true_polarity", "effect_size", "polarity", "is_follow_up", "hard_phrasing", "magnitude"}
    assert not leaky & set(news.columns)
    truth = world.truth_narratives(INSTRUMENTS, start, end)
    assert set(truth["true_polarity"]) <= {-1, 0, 1}
    assert set(truth["narrative_id"]) == set(news["narrative_id"])
    assert news["narrative_id"].is_unique
    assert (truth.loc[truth["true_polarity"] == 0, "effect_size"] == 0).all()
    polar = truth[truth["true_polarity"] != 0]
    assert (np.sign(polar["effect_size"]) == polar["true_polarity"]).all()
    to_arrow("narratives", news)


def test_narratives_arrive_at_any_hour_with_a_short_ingest_delay(world):
    start = utc("2024-01-01")
    news = world.fetch_narratives(INSTRUMENTS, start, start + 120 * DAY)
    delay = (news["available_ts"] - news["event_ts"]).dt.total_seconds()
    assert delay.between(60, 600).all()
    assert news["event_ts"].dt.hour.nunique() == 24
    per_symbol_day = len(news) / (len(INSTRUMENTS) * 120)
    assert 1.3 < per_symbol_day < 1.7
    stocks = news[news["symbol"].isin([s.symbol for s in STOCKS])]
    outside = [
        sessions_on(ts.floor("D")) is None
        or not (sessions_on(ts.floor("D"))[0] <= ts < sessions_on(ts.floor("D"))[1])
        for ts in stocks["event_ts"]
    ]
    assert 0.3 < np.mean(outside) < 0.95
    assert news["headline"].str.len().gt(15).all()
    assert news["url"].str.startswith("https://").all()


def test_follow_ups_repeat_an_earlier_headline_of_the_same_day(world):
    start, end = utc("2024-01-01"), utc("2024-03-01")
    news = world.fetch_narratives(INSTRUMENTS, start, end)
    truth = world.truth_narratives(INSTRUMENTS, start, end).set_index("narrative_id")
    follow = news[news["narrative_id"].map(truth["is_follow_up"])]
    assert len(follow) > 20
    for row in follow.itertuples():
        same_day = news[
            (news["symbol"] == row.symbol) & (news["event_ts"].dt.floor("D") == row.event_ts.floor("D"))
        ]
        earlier = same_day[same_day["event_ts"] < row.event_ts]["headline"]
        assert any(row.headline.endswith(text) for text in earlier)


# --- markets -------------------------------------------------------------------------------------


def test_market_snapshots_are_well_formed(world):
    as_of = utc("2024-05-10 23:00")
    snap = world.fetch_markets(INSTRUMENTS, as_of)
    assert list(snap.columns[:9]) == contract_columns("polymarket_markets")
    assert set(snap["symbol"]) == {c.symbol for c in CRYPTO}
    assert (snap["created_ts"] <= as_of).all()
    assert (snap["end_ts"] >= as_of.floor("D")).all()
    assert (snap["closed"] == (snap["end_ts"] <= as_of)).all()
    open_ = snap[~snap["closed"]]
    assert open_["yes_price"].between(0.01, 0.99).all()
    assert open_["resolved_outcome"].isna().all()
    assert (open_["best_bid"] <= open_["yes_price"]).all() and (open_["yes_price"] <= open_["best_ask"]).all()
    assert (snap["event_ts"] == as_of).all() and (snap["available_ts"] == as_of).all()
    assert ((snap["end_ts"] - snap["created_ts"]) <= 8 * DAY).all()
    assert (snap["outcome_type"] == "binary").all() and (~snap["neg_risk"]).all()
    assert snap["market_id"].is_unique
    assert (
        snap["question"]
        .str.match(r"^Will [A-Z]+/USD close above \$[\d,.]+ on \d{4}-\d{2}-\d{2} \(UTC daily close\)\?$")
        .all()
    )
    to_arrow("polymarket_markets", snap)


def test_markets_resolve_from_the_sim_close_against_the_strike(world):
    snaps = [world.fetch_markets(INSTRUMENTS, utc("2024-04-01 23:00") + i * DAY) for i in range(30)]
    closed = pd.concat(snaps).query("closed").drop_duplicates("market_id")
    assert len(closed) > 100
    bars = world.fetch_bars(CRYPTO, utc("2024-03-20"), utc("2024-05-05"))
    close_at = bars.set_index(["symbol", "event_ts"])["close"]
    final = np.array([close_at[(s, t)] for s, t in zip(closed["symbol"], closed["end_ts"], strict=True)])
    expected = (final > closed["strike"].to_numpy()).astype(float)
    assert (closed["resolved_outcome"].to_numpy() == expected).all()
    assert (closed["yes_price"] == closed["resolved_outcome"]).all()
    assert 0.2 < expected.mean() < 0.8
    # the question's date is the end_ts day minus one
    dates = closed["question"].str.extract(r"on (\d{4}-\d{2}-\d{2})")[0]
    assert (pd.to_datetime(dates, utc=True) + DAY == closed["end_ts"]).all()


def test_market_prices_are_informative_about_the_outcome(world):
    rows = []
    for i in range(60):
        snap = world.fetch_markets(CRYPTO, utc("2024-06-01 23:00") + i * DAY)
        rows.append(snap)
    allrows = pd.concat(rows)
    outcome = (
        allrows[allrows["closed"]].drop_duplicates("market_id").set_index("market_id")["resolved_outcome"]
    )
    open_ = allrows[~allrows["closed"]].copy()
    open_["outcome"] = open_["market_id"].map(outcome)
    open_ = open_.dropna(subset=["outcome"])
    brier = ((open_["yes_price"] - open_["outcome"]) ** 2).mean()
    assert brier < 0.2  # a coin flip scores 0.25


def test_strikes_are_round_numbers_near_the_price_at_creation(world):
    snap = pd.concat(
        [world.fetch_markets(CRYPTO, utc("2024-06-01 23:00") + i * DAY) for i in range(0, 20, 4)]
    )
    snap = snap.drop_duplicates("market_id")
    bars = world.fetch_bars(CRYPTO, utc("2024-05-20"), utc("2024-06-25"))
    price_at = bars.set_index(["symbol", "ts"])["open"]
    spot = np.array(
        [price_at[(s, t.floor("h"))] for s, t in zip(snap["symbol"], snap["created_ts"], strict=True)]
    )
    vol = snap["symbol"].map({c.symbol: c.sim_vol_annual for c in CRYPTO}).to_numpy()
    years = ((snap["end_ts"] - snap["created_ts"]).dt.total_seconds() / (365 * 86400)).to_numpy()
    log_gap = np.abs(np.log(snap["strike"].to_numpy() / spot))
    assert (log_gap < 4 * 0.6 * vol * np.sqrt(years) + 0.1).all()
    two_digits = snap["strike"].map(lambda x: float(f"{x:.2g}"))
    assert (snap["strike"] == two_digits).all()  # two significant digits: 65,000 / 3,100 / 0.15
