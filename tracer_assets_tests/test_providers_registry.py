"""Provider selection from settings, start-up key checks, and replay from the raw zone."""

from __future__ import annotations

import httpx
import pandas as pd
import pytest

from tracer_assets.providers import registry
from tracer_assets.providers.alpaca_bars import AlpacaBarsProvider
from tracer_assets.providers.alpaca_news import AlpacaNewsProvider
from tracer_assets.providers.outbox import OutboxNotifier
from tracer_assets.providers.perplexity_discovery import PerplexityDiscoveryProvider
from tracer_assets.providers.perplexity_news import PerplexityNewsProvider
from tracer_assets.providers.polymarket_gamma import PolymarketGammaProvider
from tracer_assets.providers.protocols import BarsProvider, MarketsProvider, NewsProvider, Notifier
from tracer_assets.providers.replay import ReplayBarsProvider, ReplayMarketsProvider, ReplayNewsProvider
from tracer_assets.providers.resilience import BREAKERS, ProviderConfigError
from tracer_assets.providers.telegram import TelegramNotifier
from tracer_assets.settings import TracerSettings
from tracer_assets.universe import Universe
from tracer_assets_tests.providers_helpers import (
    AAPL,
    BTC,
    COIN,
    ETH,
    SOL,
    UNIVERSE,
    Harness,
    LocalServer,
    MockService,
    Reply,
    fixed_now,
    live_client,
    make_settings,
    payload,
    payload_json,
)

CRYPTO_ONLY = Universe((BTC, ETH))
WITH_STOCKS = Universe((BTC, AAPL))
START = pd.Timestamp("2024-01-01T00:00:00Z")
END = pd.Timestamp("2024-01-03T00:00:00Z")


def test_defaults_are_offline_and_need_no_keys(tmp_path):
    assert registry.check_provider_keys(make_settings(tmp_path)) == []


def test_crypto_bars_need_no_keys_but_stocks_do(tmp_path):
    settings = make_settings(tmp_path, bars_provider="alpaca")
    assert registry.check_provider_keys(settings, CRYPTO_ONLY) == []
    problems = registry.check_provider_keys(settings, WITH_STOCKS)
    assert problems == [
        "TRACER_BARS_PROVIDER=alpaca needs TRACER_ALPACA_KEY_ID and TRACER_ALPACA_SECRET_KEY (the universe holds stocks)"
    ]
    with pytest.raises(ProviderConfigError, match="TRACER_ALPACA_KEY_ID"):
        registry.build_bars_provider(settings, tmp_path, WITH_STOCKS)
    assert isinstance(registry.build_bars_provider(settings, tmp_path, CRYPTO_ONLY), AlpacaBarsProvider)


def test_each_missing_setting_is_named(tmp_path):
    settings = make_settings(
        tmp_path,
        bars_provider="alpaca",
        news_provider="perplexity",
        markets_provider="perplexity",
        notifier="telegram",
        alpaca_key_id="only-the-id",
        telegram_bot_token="123:abc",
    )
    problems = registry.check_provider_keys(settings, WITH_STOCKS)
    assert problems == [
        "TRACER_BARS_PROVIDER=alpaca: TRACER_ALPACA_SECRET_KEY is missing (Alpaca keys come in pairs)",
        "TRACER_NEWS_PROVIDER=perplexity needs TRACER_PERPLEXITY_API_KEY",
        "TRACER_MARKETS_PROVIDER=perplexity needs TRACER_PERPLEXITY_API_KEY",
        "TRACER_NOTIFIER=telegram needs TRACER_TELEGRAM_CHAT_ID",
    ]
    for build, setting in (
        (registry.build_news_provider, "TRACER_PERPLEXITY_API_KEY"),
        (registry.build_markets_provider, "TRACER_PERPLEXITY_API_KEY"),
        (registry.build_notifier, "TRACER_TELEGRAM_CHAT_ID"),
    ):
        with pytest.raises(ProviderConfigError, match=setting):
            build(settings, tmp_path)
    news_alpaca = make_settings(tmp_path, news_provider="alpaca")
    assert registry.check_provider_keys(news_alpaca, CRYPTO_ONLY) == [
        "TRACER_NEWS_PROVIDER=alpaca needs TRACER_ALPACA_KEY_ID and TRACER_ALPACA_SECRET_KEY"
    ]


def test_selectors_switch_to_real_clients_with_no_other_change(tracer_env, monkeypatch):
    for key, value in {
        "TRACER_BARS_PROVIDER": "alpaca",
        "TRACER_NEWS_PROVIDER": "alpaca",
        "TRACER_MARKETS_PROVIDER": "polymarket",
        "TRACER_NOTIFIER": "telegram",
        "TRACER_ALPACA_KEY_ID": "id",
        "TRACER_ALPACA_SECRET_KEY": "secret",
        "TRACER_TELEGRAM_BOT_TOKEN": "123:abc",
        "TRACER_TELEGRAM_CHAT_ID": "-1",
    }.items():
        monkeypatch.setenv(key, value)
    settings = TracerSettings()
    root = settings.lake.lake_root
    bars, news = registry.build_bars_provider(settings, root), registry.build_news_provider(settings, root)
    markets, notifier = (
        registry.build_markets_provider(settings, root),
        registry.build_notifier(settings, root),
    )
    assert isinstance(bars, AlpacaBarsProvider) and isinstance(bars, BarsProvider)
    assert isinstance(news, AlpacaNewsProvider) and isinstance(news, NewsProvider)
    assert isinstance(markets, PolymarketGammaProvider) and isinstance(markets, MarketsProvider)
    assert isinstance(notifier, TelegramNotifier) and isinstance(notifier, Notifier)
    # one process-level breaker registry behind every client
    assert bars.resilience.breakers is news.resilience.breakers is markets.resilience.breakers is BREAKERS
    monkeypatch.setenv("TRACER_NEWS_PROVIDER", "perplexity")
    monkeypatch.setenv("TRACER_MARKETS_PROVIDER", "perplexity")
    monkeypatch.setenv("TRACER_PERPLEXITY_API_KEY", "pplx")
    settings = TracerSettings()
    assert isinstance(registry.build_news_provider(settings, root), PerplexityNewsProvider)
    assert isinstance(registry.build_markets_provider(settings, root), PerplexityDiscoveryProvider)


def test_replay_and_outbox_selection(tmp_path):
    settings = make_settings(
        tmp_path, bars_provider="replay", news_provider="replay", markets_provider="replay"
    )
    assert isinstance(registry.build_bars_provider(settings, tmp_path), ReplayBarsProvider)
    assert isinstance(registry.build_news_provider(settings, tmp_path), ReplayNewsProvider)
    assert isinstance(registry.build_markets_provider(settings, tmp_path), ReplayMarketsProvider)
    assert isinstance(registry.build_notifier(settings, tmp_path), OutboxNotifier)


def test_sim_is_imported_lazily_with_settings_and_universe(tmp_path, monkeypatch):
    import tracer_assets.providers.sim as sim

    class FakeWorld:
        name = "sim"

        def __init__(self, settings, universe):
            self.args = (settings, universe)

    monkeypatch.setattr(sim, "SimWorld", FakeWorld, raising=False)
    settings = make_settings(tmp_path)
    world = registry.build_bars_provider(settings, tmp_path, CRYPTO_ONLY)
    assert isinstance(world, FakeWorld) and world.args == (settings, CRYPTO_ONLY)
    loaded = registry.build_markets_provider(settings, tmp_path)  # universe read from TRACER_UNIVERSE
    assert "BTC/USD" in loaded.args[1].symbols


# ---- replay -------------------------------------------------------------------------------------


def live_bars(tmp_path, pages):
    """Fetch bars live from a local server serving ``pages`` (page 1, page 2), into tmp_path's lake."""
    with LocalServer() as srv:
        srv.route(
            "/v1beta3/crypto/us/bars",
            lambda q: Reply(200, payload(pages[1]) if q.get("page_token") else payload(pages[0])),
        )
        settings = make_settings(tmp_path, alpaca_data_url=srv.url)
        live = AlpacaBarsProvider(
            settings, settings.lake.lake_root, resilience=Harness(settings).resilience(), now=fixed_now()
        )
        return settings, live.fetch_bars([BTC, ETH], START, END)


def test_replay_serves_bars_from_raw_alone(tmp_path):
    settings, live = live_bars(tmp_path, ("alpaca_crypto_bars_page1.json", "alpaca_crypto_bars_page2.json"))
    replay = ReplayBarsProvider(settings, settings.lake.lake_root)
    result = replay.fetch_bars_result([BTC, ETH], START, END)
    assert not result.degraded and result.stats["raw_records"] == 2
    pd.testing.assert_frame_equal(result.frame, live)
    part = replay.fetch_bars([BTC], START + pd.Timedelta(hours=1), START + pd.Timedelta(hours=3))
    assert list(part["ts"].dt.hour) == [1, 2] and set(part["symbol"]) == {"BTC/USD"}


def test_replay_keeps_the_latest_fetch_of_a_bar(tmp_path):
    settings, _ = live_bars(tmp_path, ("alpaca_crypto_bars_page1.json", "alpaca_crypto_bars_page2.json"))
    revised = payload_json("alpaca_crypto_bars_page2.json")
    revised["bars"]["ETH/USD"][0]["c"] = 2290.0
    with LocalServer() as srv:
        srv.route("/v1beta3/crypto/us/bars", lambda q: Reply(200, revised))
        later = make_settings(tmp_path, alpaca_data_url=srv.url)
        refetch = AlpacaBarsProvider(
            later,
            later.lake.lake_root,
            resilience=Harness(later).resilience(),
            now=fixed_now(END + pd.Timedelta(days=1)),
        )
        refetch.fetch_bars([BTC, ETH], START, END)
    frame = ReplayBarsProvider(settings, settings.lake.lake_root).fetch_bars([BTC, ETH], START, END)
    assert len(frame) == 6 and frame.set_index(["symbol", "ts"]).loc[("ETH/USD", START), "close"] == 2290.0


def test_replay_reparses_history_with_todays_parser(tmp_path):
    settings, live = live_bars(tmp_path, ("alpaca_crypto_bars_bad.json", "alpaca_crypto_bars_bad.json"))
    replayed = ReplayBarsProvider(settings, settings.lake.lake_root).fetch_bars_result([BTC, ETH], START, END)
    assert list(replayed.frame["ts"].dt.hour) == list(live["ts"].dt.hour) == [0, 7, 8]
    assert len(replayed.quarantine) == 9 and set(replayed.quarantine["provider"]) == {"replay:alpaca_bars"}


def test_replay_without_raw_is_degraded_and_empty(tmp_path):
    result = ReplayBarsProvider(make_settings(tmp_path), tmp_path).fetch_bars_result([BTC], START, END)
    assert result.degraded and "no stored response covers bars" in result.reason and len(result.frame) == 0


def test_replay_news_and_markets(tmp_path):
    settings = make_settings(
        tmp_path, perplexity_api_key="k", perplexity_symbols_per_request=10, gamma_page_size=100
    )
    pplx, gamma = MockService(), MockService()
    pplx.route("/chat/completions", lambda r: httpx.Response(200, content=payload("perplexity_news.json")))
    gamma.route(
        "/markets",
        lambda r: httpx.Response(
            200,
            content=payload(
                "gamma_markets_closed.json"
                if r.url.params.get("closed") == "true"
                else "gamma_markets_page1.json"
            ),
        ),
    )
    news, harness = live_client(PerplexityNewsProvider, settings, transport=pplx.transport)
    markets, _ = live_client(PolymarketGammaProvider, settings, harness, transport=gamma.transport)
    day_start, day_end = START, START + pd.Timedelta(days=1)
    live_news = news.fetch_narratives([BTC, SOL, AAPL], day_start, day_end)
    as_of = pd.Timestamp("2024-01-02T12:00:00Z")
    live_markets = markets.fetch_markets(UNIVERSE, as_of)
    replay_news = ReplayNewsProvider(settings, settings.lake.lake_root).fetch_narratives(
        [BTC, SOL, AAPL], day_start, day_end
    )
    pd.testing.assert_frame_equal(replay_news[live_news.columns], live_news)
    replay_markets = ReplayMarketsProvider(settings, settings.lake.lake_root)
    pd.testing.assert_frame_equal(replay_markets.fetch_markets(UNIVERSE, as_of), live_markets)
    other_day = replay_markets.fetch_markets_result([BTC, COIN], as_of + pd.Timedelta(days=1))
    assert other_day.degraded and len(other_day.frame) == 0


def test_frames_quarantine_and_run_health_rows_write_to_the_lake(tmp_path):
    from tracer_assets.lake import Lake
    from tracer_assets.providers.results import run_health_row

    settings, bars = live_bars(tmp_path, ("alpaca_crypto_bars_bad.json", "alpaca_crypto_bars_bad.json"))
    result = ReplayBarsProvider(settings, settings.lake.lake_root).fetch_bars_result([BTC, ETH], START, END)
    gamma = MockService()
    gamma.route("/markets", lambda r: httpx.Response(200, content=payload("gamma_markets_closed.json")))
    markets = PolymarketGammaProvider(
        settings,
        settings.lake.lake_root,
        resilience=Harness(settings).resilience(),
        transport=gamma.transport,
        now=fixed_now(),
    ).fetch_markets_result(UNIVERSE, pd.Timestamp("2024-01-02T12:00:00Z"))
    lake = Lake(tmp_path / "out")
    lake.write_partitions("bars", bars, ["2024-01-01", "2024-01-02"])
    lake.write_partitions("polymarket_markets", markets.frame, ["2024-01-02"])
    lake.write_partitions("quarantine", result.quarantine, ["2024-01-01"])
    health = pd.DataFrame(
        [
            run_health_row(
                "r1", "bars", "2024-01-01", "replay", True, "x", pd.Timestamp("2024-01-03T00:00:00Z")
            )
        ]
    )
    lake.write_partition("run_health", "2024-01-03", health)
    assert len(lake.read("bars")) == 3 and len(lake.read("quarantine")) == 9
    back = lake.read("polymarket_markets")
    assert back["resolved_outcome"].isna().sum() == 1 and set(back["neg_risk"]) == {False}
    assert lake.query("SELECT count(*) AS n FROM run_health WHERE degraded").loc[0, "n"] == 1


def test_a_missing_key_fails_the_asset_at_once_without_retries(tracer_env, monkeypatch):
    import dagster as dg

    from tracer_assets.definitions import ALL_ASSETS, build_definitions

    monkeypatch.setenv("TRACER_NEWS_PROVIDER", "perplexity")
    narratives = [a for a in ALL_ASSETS if a.key.path[-1] == "narratives"]
    result = dg.materialize(
        narratives,
        resources={"tracer": build_definitions().resources["tracer"]},
        partition_key="2024-03-04",
        raise_on_error=False,
    )
    assert not result.success
    failures = [e for e in result.all_events if e.is_step_failure]
    assert len(failures) == 1 and "TRACER_PERPLEXITY_API_KEY" in failures[0].step_failure_data.error.message
    assert not [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
