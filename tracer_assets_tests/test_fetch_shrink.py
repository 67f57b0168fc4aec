"""An empty, all-bad or much smaller answer never wipes a day the lake holds (issue 13, item 2).

The real ``bars`` asset runs twice against a local Alpaca server: first a whole day, then an answer
that would shrink it. The stored rows stay, ``run_health`` and the metadata say why.
"""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest

from tracer_assets.defs.market.assets import bars
from tracer_assets.defs.resources import TracerResource
from tracer_assets.lake import Lake
from tracer_assets.providers.health import keeps_earlier, record_fetch, write_fetched
from tracer_assets.providers.results import FetchResult, empty_frame
from tracer_assets_tests.providers_helpers import LocalServer, Reply

DAY = "2024-03-04"
CRYPTO = "/v1beta3/crypto/us/bars"


def alpaca_bar(hour: int, close: float = 100.0) -> dict:
    t = (pd.Timestamp(DAY, tz="UTC") + pd.Timedelta(hours=hour)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"t": t, "o": close, "h": close + 1, "l": close - 1, "c": close, "v": 5.0, "n": 3, "vw": close}


def answer(items: list[dict]) -> Reply:
    return Reply(200, {"bars": {"BTC/USD": items} if items else {}, "next_page_token": None})


@pytest.fixture
def alpaca_env(tracer_env, monkeypatch):
    universe = tracer_env / "universe.yaml"
    universe.write_text("instruments:\n  - {symbol: BTC/USD, asset_class: crypto}\n")
    with LocalServer() as server:
        monkeypatch.setenv("TRACER_BARS_PROVIDER", "alpaca")
        monkeypatch.setenv("TRACER_ALPACA_DATA_URL", server.url)
        monkeypatch.setenv("TRACER_UNIVERSE", str(universe))
        monkeypatch.setenv("TRACER_RETRY_MAX_ATTEMPTS", "1")
        yield server, tracer_env


def materialize_bars(root, instance):
    return dg.materialize(
        [bars],
        resources={"tracer": TracerResource(lake_root=str(root / "lake"))},
        partition_key=DAY,
        instance=instance,
    )


def test_a_short_answer_is_read_once_more_and_a_full_second_answer_is_taken(alpaca_env):
    """Burn-in finding: an empty 200 is often transient; reading again before settling heals it."""
    server, root = alpaca_env
    instance = dg.DagsterInstance.ephemeral()
    server.route(CRYPTO, [answer([alpaca_bar(h) for h in range(24)])])
    assert materialize_bars(root, instance).success
    hits = len(server.hits(CRYPTO))
    server.route(CRYPTO, [answer([]), answer([alpaca_bar(h, close=101.0) for h in range(24)])])
    out = materialize_bars(root, instance)
    assert out.success and len(server.hits(CRYPTO)) == hits + 2
    lake = Lake(root / "lake")
    assert (lake.read("bars", DAY, DAY)["close"] == 101.0).all() and len(lake.read("bars", DAY, DAY)) == 24
    health = lake.read("run_health", DAY, DAY)
    assert health.loc[health["run_id"] == out.run_id, "degraded"].tolist() == [False]


@pytest.mark.parametrize(
    "second, got",
    [
        (answer([]), 0),  # 200 with no rows
        (answer([{**alpaca_bar(h), "c": -1.0} for h in range(24)]), 0),  # every row fails validation
        (answer([alpaca_bar(h) for h in range(3)]), 3),  # far fewer rows than stored
    ],
    ids=["empty-200", "all-quarantined", "far-fewer"],
)
def test_a_shrinking_answer_keeps_the_stored_day_and_says_why(alpaca_env, second, got):
    server, root = alpaca_env
    instance = dg.DagsterInstance.ephemeral()
    server.route(CRYPTO, [answer([alpaca_bar(h) for h in range(24)])])
    assert materialize_bars(root, instance).success
    lake = Lake(root / "lake")
    before = lake.read("bars", DAY, DAY).sort_values("ts").reset_index(drop=True)
    assert len(before) == 24

    server.route(CRYPTO, [second])
    out = materialize_bars(root, instance)
    assert out.success
    after = lake.read("bars", DAY, DAY).sort_values("ts").reset_index(drop=True)
    pd.testing.assert_frame_equal(after[before.columns], before)  # no row lost, none changed
    health = lake.read("run_health", DAY, DAY)
    latest = health[health["run_id"] == out.run_id]
    assert latest["degraded"].tolist() == [True]
    assert f"brought {got} rows" in latest["reason"].iloc[0] and "lake holds 24" in latest["reason"].iloc[0]
    meta = out.get_asset_materialization_events()[0].materialization.metadata
    assert meta["degraded"].value is True and "lake holds 24" in meta["degraded_reason"].value
    assert meta["kept_from_earlier_runs"].value == 24 - got


def test_a_whole_answer_still_replaces_the_day(alpaca_env):
    server, root = alpaca_env
    instance = dg.DagsterInstance.ephemeral()
    server.route(CRYPTO, [answer([alpaca_bar(h) for h in range(24)])])
    assert materialize_bars(root, instance).success
    server.route(CRYPTO, [answer([alpaca_bar(h, close=200.0) for h in range(20)])])
    out = materialize_bars(root, instance)
    closes = Lake(root / "lake").read("bars", DAY, DAY)["close"]
    assert len(closes) == 20 and (closes == 200.0).all()
    meta = out.get_asset_materialization_events()[0].materialization.metadata
    assert meta["degraded"].value is False


def snapshot(n: int) -> pd.DataFrame:
    ts = pd.Timestamp(DAY, tz="UTC") + pd.Timedelta(hours=23)
    return pd.DataFrame(
        {
            "market_id": [f"m{i}" for i in range(n)],
            "question": "Will it?",
            "symbol": "BTC/USD",
            "yes_price": 0.5,
            "end_ts": [ts + pd.Timedelta(days=30)] * n,
            "closed": False,
            "resolved_outcome": None,
            "event_ts": [ts] * n,
            "available_ts": [ts] * n,
        }
    )


def test_polymarket_snapshot_that_shrinks_keeps_the_stored_board(tmp_path):
    lake = Lake(tmp_path)
    lake.write_partition("polymarket_markets", DAY, snapshot(10))
    fetched = FetchResult("polymarket", snapshot(0))  # a healthy 200 with no markets
    record_fetch(lake, fetched, asset="polymarket_markets", days=[DAY], run_id="r1", min_kept_ratio=0.5)
    assert keeps_earlier(lake, "polymarket_markets", DAY, fetched) is True
    assert fetched.degraded and "lake holds 10" in fetched.reason
    assert lake.read("run_health", DAY, DAY)["degraded"].tolist() == [True]


def test_write_fetched_alone_never_shrinks_a_day_with_a_ratio(tmp_path):
    lake = Lake(tmp_path)
    ts = pd.Timestamp(DAY, tz="UTC")
    stored = pd.DataFrame(
        {
            "symbol": ["BTC/USD"] * 4,
            "asset_class": ["crypto"] * 4,
            "ts": [ts + pd.Timedelta(hours=h) for h in range(4)],
            "open": 1.0,
            "high": 1.0,
            "low": 1.0,
            "close": 1.0,
            "volume": 1.0,
            "event_ts": [ts + pd.Timedelta(hours=h + 1) for h in range(4)],
            "available_ts": [ts + pd.Timedelta(hours=h + 1) for h in range(4)],
            "source": "test",
        }
    )
    lake.write_partition("bars", DAY, stored)
    empty = FetchResult("alpaca", empty_frame("bars"))
    counts, kept = write_fetched(lake, "bars", [DAY], empty, by="ts", min_kept_ratio=0.5)
    assert counts == {DAY: 4} and kept == 4 and empty.degraded
    one = FetchResult("alpaca", stored.iloc[:1].assign(close=2.0))
    counts, kept = write_fetched(lake, "bars", [DAY], one, by="ts", min_kept_ratio=0.5)
    back = lake.read("bars", DAY, DAY).sort_values("ts")
    assert counts == {DAY: 4} and kept == 3 and back["close"].tolist() == [2.0, 1.0, 1.0, 1.0]


class ScriptedMarkets:
    """The sim's snapshot, answered per read as the script says: ``full`` (marked with ``yes_price``),
    ``empty`` (a 200 with no markets) or ``bad`` (every market quarantined)."""

    name = "scripted"

    def __init__(self, inner, script: list[str], yes_price: float = 0.42):
        self.inner, self.script, self.yes_price, self.reads = inner, list(script), yes_price, 0

    def fetch_markets_result(self, instruments, as_of) -> FetchResult:
        self.reads += 1
        frame = self.inner.fetch_markets(instruments, as_of)
        step = self.script.pop(0) if self.script else "full"
        if step == "full":
            return FetchResult(self.name, frame.assign(yes_price=self.yes_price))
        bad = pd.DataFrame(
            {
                "quarantine_id": [f"q{i}" for i in range(len(frame))],
                "table": "polymarket_markets",
                "reason": "yes_price outside [0, 1]",
                "payload": "{}",
                "provider": self.name,
                "raw_ref": "",
                "event_ts": pd.Timestamp(as_of),
                "available_ts": pd.Timestamp(as_of),
            }
        )
        return FetchResult(self.name, frame.iloc[0:0], quarantine=bad if step == "bad" else bad.iloc[0:0])


def materialize_markets(instance, monkeypatch, provider=None):
    from tracer_assets.defs.polymarket.assets import polymarket_markets

    monkeypatch.setenv("TRACER_SKIP_UNCHANGED", "0")  # the same day twice: every run must fetch
    if provider is not None:
        monkeypatch.setattr(TracerResource, "markets_provider", lambda self: provider)
    return dg.materialize(
        [polymarket_markets], resources={"tracer": TracerResource()}, partition_key=DAY, instance=instance
    )


def sim_markets():
    return TracerResource().markets_provider()


@pytest.mark.parametrize("short", ["empty", "bad"])
def test_a_short_markets_snapshot_is_read_again_and_a_whole_one_is_taken(tracer_env, monkeypatch, short):
    """Burn-in finding (seed 7): an empty markets answer at a day's closing tick left the board stale."""
    instance = dg.DagsterInstance.ephemeral()
    assert materialize_markets(instance, monkeypatch).success
    lake = Lake(TracerResource().settings.lake.lake_root)
    stored = len(lake.read("polymarket_markets", DAY, DAY))
    assert stored > 0
    scripted = ScriptedMarkets(sim_markets(), [short, short, "full"])
    out = materialize_markets(instance, monkeypatch, scripted)
    assert out.success and scripted.reads == 3
    board = lake.read("polymarket_markets", DAY, DAY)
    assert len(board) == stored and (board["yes_price"] == 0.42).all()
    health = lake.read("run_health", DAY, DAY)
    assert health.loc[health["run_id"] == out.run_id, "degraded"].tolist() == [False]
    meta = out.get_asset_materialization_events()[0].materialization.metadata
    assert meta["fetch_short_answers_read_again"].value == 2
    assert meta["quarantined_rows"].value == (2 * stored if short == "bad" else 0)


@pytest.mark.parametrize("rereads", [0, 3])
def test_a_markets_snapshot_short_on_every_read_keeps_the_stored_board(tracer_env, monkeypatch, rereads):
    monkeypatch.setenv("TRACER_FETCH_SHORT_REREADS", str(rereads))
    instance = dg.DagsterInstance.ephemeral()
    assert materialize_markets(instance, monkeypatch).success
    lake = Lake(TracerResource().settings.lake.lake_root)
    before = lake.read("polymarket_markets", DAY, DAY)
    scripted = ScriptedMarkets(sim_markets(), ["empty"] * 10)
    out = materialize_markets(instance, monkeypatch, scripted)
    assert out.success and scripted.reads == 1 + rereads
    after = lake.read("polymarket_markets", DAY, DAY)
    pd.testing.assert_frame_equal(after.reset_index(drop=True), before.reset_index(drop=True))
    latest = lake.read("run_health", DAY, DAY)
    latest = latest[latest["run_id"] == out.run_id]
    assert latest["degraded"].tolist() == [True]
    assert f"brought 0 rows where the lake holds {len(before)}" in latest["reason"].iloc[0]


def test_the_single_run_chain_keeps_a_stored_day_a_short_answer_would_shrink(tracer_env):
    """``run_chain`` (research, backfills) writes through the same guard as the assets."""
    from tracer_assets.pipeline.chain import Providers, run_chain
    from tracer_assets.pipeline.store import MemoryStore
    from tracer_assets.settings import TracerSettings

    settings = TracerSettings()
    sim = TracerResource().bars_provider()
    store = MemoryStore()

    class ShortAfterFirst:
        name, reads = "scripted", 0

        def fetch_bars(self, *args):
            self.reads += 1
            frame = sim.fetch_bars(*args)
            return frame if self.reads == 1 else frame.iloc[:2]

    provider = ShortAfterFirst()
    chain = Providers(bars=provider, news=None, markets=None)
    run_chain(store, settings, DAY, DAY, providers=chain, stages=["bars"])
    before = store.read("bars", DAY, DAY)
    assert len(before) > 4
    run_chain(store, settings, DAY, DAY, providers=chain, stages=["bars"], run_id="second")
    assert provider.reads == 2 + settings.safety.fetch_short_rereads
    after = store.read("bars", DAY, DAY)
    assert len(after) == len(before)
    health = store.read("run_health", DAY, DAY)
    assert health.loc[health["run_id"] == "second", "degraded"].tolist() == [True]
