"""A sentinel secret set as every key never shows up in raw metadata, outputs, messages or logs,
even when servers echo it back in their error bodies."""

from __future__ import annotations

import json
import logging

import httpx
import pandas as pd

from tracer_assets.providers.alpaca_bars import AlpacaBarsProvider
from tracer_assets.providers.alpaca_news import AlpacaNewsProvider
from tracer_assets.providers.perplexity_discovery import PerplexityDiscoveryProvider
from tracer_assets.providers.perplexity_news import PerplexityNewsProvider
from tracer_assets.providers.raw_zone import RawZone
from tracer_assets.providers.telegram import TelegramNotifier
from tracer_assets_tests.providers_helpers import (
    AAPL,
    BTC,
    ETH,
    NVDA,
    SENTINEL,
    SOL,
    Harness,
    LocalServer,
    MockService,
    Reply,
    fixed_now,
    make_settings,
    payload,
    scan_for,
)

START = pd.Timestamp("2024-01-01T00:00:00Z")
END = pd.Timestamp("2024-01-03T00:00:00Z")
SECRETS = {
    "alpaca_key_id": f"AK-{SENTINEL}",
    "alpaca_secret_key": f"SK-{SENTINEL}",
    "perplexity_api_key": f"pplx-{SENTINEL}",
    "telegram_bot_token": f"987654:{SENTINEL}",
    "telegram_chat_id": "-100777",
}


def echo_keys(headers) -> str:
    """What a careless server puts in an error body: the credentials it received."""
    return f"invalid credentials {headers.get('APCA-API-KEY-ID') or headers.get('authorization')} {headers.get('APCA-API-SECRET-KEY')}"


def test_sentinel_secret_never_leaks(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    outputs: list[str] = []

    with LocalServer() as srv:
        calls = {"stocks": 0}

        def stocks(query):
            calls["stocks"] += 1
            if calls["stocks"] == 1:
                return Reply(429, {"message": "slow down"}, {"Retry-After": "1"})
            if calls["stocks"] == 2:
                return Reply(200, payload("alpaca_stock_bars.json"))
            return Reply(401, {"code": 40110000, "message": echo_keys(srv.seen[-1].headers)})

        srv.route("/v2/stocks/bars", stocks)
        srv.route("/v1beta3/crypto/us/bars", lambda q: Reply(200, b'{"bars": {"BTC/USD": [{"t": "2024-'))
        srv.route("/v1beta1/news", lambda q: Reply(502, payload("html_error.html").decode()))
        settings = make_settings(tmp_path, alpaca_data_url=srv.url, retry_max_attempts=2, **SECRETS)
        harness = Harness(settings)
        bars = AlpacaBarsProvider(
            settings, settings.lake.lake_root, resilience=harness.resilience(), now=fixed_now()
        )
        news = AlpacaNewsProvider(
            settings, settings.lake.lake_root, resilience=harness.resilience(), now=fixed_now()
        )
        results = [
            bars.fetch_bars_result([BTC, AAPL], START, END),  # malformed crypto page, 429 then ok stocks
            bars.fetch_bars_result([AAPL], START, END),  # 401 whose body echoes both keys
            news.fetch_narratives_result([BTC, AAPL], START, END),  # HTML 5xx
        ]
        assert (
            srv.seen and srv.hits("/v2/stocks/bars")[0].headers["APCA-API-KEY-ID"] == SECRETS["alpaca_key_id"]
        )

    pplx, gamma, tg = MockService(), MockService(), MockService()
    pplx_calls = {"n": 0}

    def chat(request):
        pplx_calls["n"] += 1
        if pplx_calls["n"] == 1:
            return httpx.Response(
                401, json={"error": {"message": echo_keys(request.headers), "type": "auth"}}
            )
        name = "perplexity_discovery.json" if b"Polymarket" in request.content else "perplexity_news.json"
        return httpx.Response(200, content=payload(name))

    pplx.route("/chat/completions", chat)
    gamma.route("/markets", lambda r: httpx.Response(200, json=[]))
    gamma.route("/events", lambda r: httpx.Response(500, text=f"upstream said {r.url}"))
    token = SECRETS["telegram_bot_token"]
    tg_calls = {"n": 0}

    def send(request):
        tg_calls["n"] += 1
        if tg_calls["n"] == 1:
            return httpx.Response(429, json=json.loads(payload("telegram_429.json")))
        if tg_calls["n"] == 2:
            return httpx.Response(
                400,
                json={
                    "ok": False,
                    "error_code": 400,
                    "description": f"Bad Request: chat not found via {request.url}",
                },
            )
        return httpx.Response(200, content=payload("telegram_ok.json"))

    tg.route(f"/bot{token}/sendMessage", send)
    settings = make_settings(tmp_path, retry_max_attempts=2, **SECRETS)
    harness = Harness(settings)
    common = dict(resilience=harness.resilience(), now=fixed_now())
    pnews = PerplexityNewsProvider(settings, settings.lake.lake_root, transport=pplx.transport, **common)
    results.append(pnews.fetch_narratives_result([BTC, SOL, AAPL], START, END))  # 401 echo
    results.append(pnews.fetch_narratives_result([BTC, SOL, AAPL], START, END))  # ok
    disc = PerplexityDiscoveryProvider(
        settings,
        settings.lake.lake_root,
        perplexity_transport=pplx.transport,
        gamma_transport=gamma.transport,
        **common,
    )
    results.append(disc.fetch_markets_result([BTC, ETH, SOL, NVDA], pd.Timestamp("2024-01-02T12:00:00Z")))
    bot = TelegramNotifier(settings, settings.lake.lake_root, transport=tg.transport, **common)
    deliveries = [bot.send("<b>digest</b>", key="d1"), bot.send("<b>digest</b>", key="d1")]

    # the runs did exercise the error paths that could leak
    assert results[1].degraded and "invalid credentials" in results[1].reason
    assert results[3].degraded and "invalid credentials" in results[3].reason
    assert not deliveries[0].delivered and "Bad Request" in deliveries[0].detail and deliveries[1].delivered
    assert any("sendMessage" in r.getMessage() for r in caplog.records if r.name == "httpx")

    for result in results:
        outputs += [
            result.frame.to_json(),
            result.quarantine.to_json(),
            json.dumps(result.metadata()),
            result.reason,
        ]
        outputs.append(
            json.dumps(
                result.health_row("run", "asset", "2024-01-01", pd.Timestamp("2024-01-03T00:00:00Z")),
                default=str,
            )
        )
    outputs += [repr(d) for d in deliveries]
    outputs.append(caplog.text)
    outputs += [r.getMessage() for r in caplog.records]
    for text in outputs:
        assert SENTINEL not in text

    raw_records = [
        r
        for p in RawZone(settings.lake.lake_root).providers()
        for r in RawZone(settings.lake.lake_root).records(p, ok_only=False)
    ]
    assert {r.provider for r in raw_records} >= {
        "alpaca_bars",
        "alpaca_news",
        "perplexity_news",
        "perplexity_discovery",
        "polymarket_gamma",
        "telegram",
    }
    for record in raw_records:
        assert SENTINEL not in json.dumps(record.sidecar())
    # Every file written: raw bodies (a server echoed the keys into some) and sidecars, the Telegram
    # ledger, the outbox.
    assert scan_for(tmp_path, SENTINEL) == []
    assert any(b"invalid credentials" in r.body and b"***" in r.body for r in raw_records)
