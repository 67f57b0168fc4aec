"""Perplexity structured news and PPLX-only market discovery, served through httpx.MockTransport."""

from __future__ import annotations

import json

import httpx
import pandas as pd
import pytest

from tracer_assets.lake.schemas import contract_columns
from tracer_assets.providers.perplexity import AnswerError, answer_json, answer_sources
from tracer_assets.providers.perplexity_discovery import PerplexityDiscoveryProvider, slugs_from_url
from tracer_assets.providers.perplexity_news import PerplexityNewsProvider
from tracer_assets.providers.raw_zone import RawZone
from tracer_assets.providers.resilience import ProviderConfigError
from tracer_assets_tests.providers_helpers import (
    AAPL,
    AMZN,
    BTC,
    COIN,
    ETH,
    NVDA,
    SOL,
    TSLA,
    MockService,
    live_client,
    make_settings,
    payload,
    payload_json,
)

CHAT = "/chat/completions"
START = pd.Timestamp("2024-01-01T00:00:00Z")
END = pd.Timestamp("2024-01-02T00:00:00Z")


def ok(name: str):
    return lambda request: httpx.Response(
        200, content=payload(name), headers={"content-type": "application/json"}
    )


def news_provider(tmp_path, service, **overrides):
    overrides = {"perplexity_api_key": "pplx-test-key", "perplexity_symbols_per_request": 10, **overrides}
    settings = make_settings(tmp_path, **overrides)
    return live_client(PerplexityNewsProvider, settings, transport=service.transport)


def test_structured_news_request_and_rows_with_sources(tmp_path):
    service = MockService()
    service.route(CHAT, ok("perplexity_news.json"))
    provider, _ = news_provider(tmp_path, service)
    result = provider.fetch_narratives_result([BTC, SOL, AAPL], START, END)
    frame = result.frame
    assert not result.degraded and len(result.quarantine) == 0
    assert list(frame.columns[: len(contract_columns("narratives"))]) == contract_columns("narratives")
    assert list(frame["symbol"]) == ["SOL/USD", "AAPL", "BTC/USD"]  # SOLUSD normalised; sorted by event_ts
    assert (frame["available_ts"] == pd.Timestamp("2024-01-03T00:00:00Z")).all()  # known when answered
    assert frame.loc[frame.symbol == "AAPL", "event_ts"].iloc[0] == pd.Timestamp("2024-01-01T12:30:00Z")
    assert list(frame["cited"]) == [
        False,
        True,
        True,
    ]  # the Solana URL is in neither citations nor search_results
    sources = json.loads(frame["sources_json"].iloc[0])
    assert {s["url"] for s in sources} == set(payload_json("perplexity_news.json")["citations"])
    assert any(s["title"] == "Apple downgraded by Barclays" for s in sources)
    request = service.hits(CHAT)[0]
    body = json.loads(request.content)
    assert request.headers["authorization"] == "Bearer pplx-test-key"
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"]["required"] == ["items"]
    assert body["model"] == "sonar" and body["search_recency_filter"] == "day"
    assert "BTC/USD, SOL/USD, AAPL" in body["messages"][1]["content"]


def test_symbols_are_batched_per_request(tmp_path):
    service = MockService()
    service.route(CHAT, ok("perplexity_news.json"))
    provider, _ = news_provider(tmp_path, service, perplexity_symbols_per_request=2)
    provider.fetch_narratives([BTC, ETH, SOL, AAPL, NVDA], START, END)
    assert len(service.hits(CHAT)) == 3


def test_news_parser_quarantines_each_bad_case_and_keeps_the_rest(tmp_path):
    service = MockService()
    service.route(CHAT, ok("perplexity_news_bad.json"))
    provider, _ = news_provider(tmp_path, service)
    result = provider.fetch_narratives_result([ETH, NVDA, TSLA, AMZN, COIN], START, END)
    assert list(result.frame["symbol"]) == ["ETH/USD"]  # parsed after the <think> block
    reasons = list(result.quarantine["reason"])
    for fragment in (
        "symbol not in universe: XRP/USD",
        "headline: String should have at least 1 character",
        "naive timestamp",
        "published_at after the answer was received",
        "duplicate item",
        "published_at: Field required",
    ):
        assert sum(fragment in r for r in reasons) == 1, (fragment, reasons)
    assert len(reasons) == 6 and not result.degraded


def test_truncated_answer_is_quarantined_whole(tmp_path):
    service = MockService()
    service.route(CHAT, ok("perplexity_news_truncated.json"))
    provider, _ = news_provider(tmp_path, service)
    result = provider.fetch_narratives_result([BTC], START, END)
    assert len(result.frame) == 0 and list(result.quarantine["reason"]) == ["answer truncated at max_tokens"]


def test_429_with_retry_after_then_success(tmp_path):
    service = MockService()
    service.route(
        CHAT,
        [
            httpx.Response(429, json={"error": {"message": "rate limited"}}, headers={"Retry-After": "9"}),
            ok("perplexity_news.json"),
        ],
    )
    provider, harness = news_provider(tmp_path, service)
    assert len(provider.fetch_narratives([BTC, SOL, AAPL], START, END)) == 3
    assert harness.sleeps == [9.0] and len(service.hits(CHAT)) == 2


def test_5xx_then_success(tmp_path):
    service = MockService()
    service.route(
        CHAT,
        [
            httpx.Response(500, json={"error": {"message": "internal"}}),
            httpx.Response(503, text=""),
            ok("perplexity_news.json"),
        ],
    )
    provider, harness = news_provider(tmp_path, service)
    result = provider.fetch_narratives_result([BTC, SOL, AAPL], START, END)
    assert not result.degraded and len(result.frame) == 3 and len(harness.sleeps) == 2


def test_timeout_then_success_and_timeouts_to_the_end(tmp_path):
    service = MockService()
    service.route(CHAT, [httpx.ReadTimeout("slow"), ok("perplexity_news.json")])
    provider, _ = news_provider(tmp_path, service)
    assert len(provider.fetch_narratives([BTC, SOL, AAPL], START, END)) == 3
    service.route(CHAT, [httpx.ConnectTimeout("slow")])
    result = provider.fetch_narratives_result([BTC], START, END)
    assert result.degraded and "timeout (ConnectTimeout)" in result.reason


def test_malformed_json_body_is_quarantined_not_retried(tmp_path):
    service = MockService()
    service.route(
        CHAT,
        lambda r: httpx.Response(
            200, content=b'{"choices": [{"message": ', headers={"content-type": "application/json"}
        ),
    )
    provider, harness = news_provider(tmp_path, service)
    result = provider.fetch_narratives_result([BTC], START, END)
    assert result.degraded and "malformed JSON" in result.reason and harness.sleeps == []
    assert len(service.hits(CHAT)) == 1 and result.quarantine.loc[0, "reason"].startswith("malformed JSON")


def test_html_401_is_not_retried_and_reads_clearly(tmp_path):
    service = MockService()
    service.route(
        CHAT,
        lambda r: httpx.Response(
            401, content=payload("perplexity_401.html"), headers={"content-type": "text/html"}
        ),
    )
    provider, harness = news_provider(tmp_path, service)
    result = provider.fetch_narratives_result([BTC], START, END)
    assert (
        result.degraded and "HTTP 401: non-JSON body (text/html): 401 Authorization Required" in result.reason
    )
    assert len(service.hits(CHAT)) == 1 and harness.sleeps == []


def test_json_error_body_is_read(tmp_path):
    service = MockService()
    service.route(CHAT, lambda r: httpx.Response(400, content=payload("perplexity_error_400.json")))
    provider, _ = news_provider(tmp_path, service)
    assert "Invalid model 'sonar-xl'" in provider.fetch_narratives_result([BTC], START, END).reason


def test_breaker_opens_then_recovers(tmp_path):
    service = MockService()
    state = {"down": True}
    service.route(
        CHAT,
        lambda r: httpx.Response(502, text="bad gateway") if state["down"] else ok("perplexity_news.json")(r),
    )
    provider, harness = news_provider(tmp_path, service, retry_max_attempts=2, breaker_failure_threshold=2)
    assert provider.fetch_narratives_result([BTC], START, END).degraded
    skipped = provider.fetch_narratives_result([BTC], START, END)
    assert "circuit open" in skipped.reason and len(service.hits(CHAT)) == 2
    state["down"] = False
    harness.clock.advance(harness.settings.providers.breaker_cooldown_s)
    assert not provider.fetch_narratives_result([BTC, SOL, AAPL], START, END).degraded


def test_answer_reading_helpers():
    with pytest.raises(AnswerError, match="no choices"):
        answer_json({"choices": []})
    fenced = {"choices": [{"message": {"content": '```json\n{"items": []}\n```'}, "finish_reason": "stop"}]}
    assert answer_json(fenced) == {"items": []}
    with pytest.raises(AnswerError, match="not JSON"):
        answer_json({"choices": [{"message": {"content": "Sorry, I cannot."}, "finish_reason": "stop"}]})
    merged = answer_sources(
        {"citations": ["https://a", "https://b"], "search_results": [{"url": "https://a", "title": "A"}]}
    )
    assert [(s["url"], s["title"]) for s in merged] == [("https://a", "A"), ("https://b", None)]


def test_missing_key_names_the_setting(tmp_path):
    with pytest.raises(ProviderConfigError, match="TRACER_PERPLEXITY_API_KEY"):
        PerplexityNewsProvider(make_settings(tmp_path), tmp_path)


# ---- discovery ------------------------------------------------------------------------------------


def gamma_lookup(request: httpx.Request) -> httpx.Response:
    params = dict(request.url.params)
    if request.url.path == "/markets" and params.get("id") == "253591":
        return httpx.Response(200, json=payload_json("gamma_markets_page1.json")[:1])
    if (
        request.url.path == "/markets"
        and params.get("slug") == "will-nvidia-be-the-largest-company-in-the-world-on-june-30"
    ):
        return httpx.Response(200, json=payload_json("gamma_markets_page2.json"))
    if request.url.path == "/events" and params.get("slug") == "ethereum-price-on-january-5":
        return httpx.Response(200, json=payload_json("gamma_events_by_slug.json"))
    return httpx.Response(200, json=[])


def discovery(tmp_path, pplx, gamma, **overrides):
    settings = make_settings(tmp_path, perplexity_api_key="pplx-test-key", **overrides)
    return live_client(
        PerplexityDiscoveryProvider,
        settings,
        perplexity_transport=pplx.transport,
        gamma_transport=gamma.transport,
    )


def test_discovery_confirms_candidates_through_gamma(tmp_path):
    pplx, gamma = MockService(), MockService()
    pplx.route(CHAT, ok("perplexity_discovery.json"))
    gamma.route("/markets", gamma_lookup)
    gamma.route("/events", gamma_lookup)
    provider, _ = discovery(tmp_path, pplx, gamma)
    as_of = pd.Timestamp("2024-01-02T12:00:00Z")
    result = provider.fetch_markets_result([BTC, ETH, SOL, NVDA], as_of)
    frame = result.frame
    assert not result.degraded
    assert list(frame.columns[: len(contract_columns("polymarket_markets"))]) == contract_columns(
        "polymarket_markets"
    )
    assert sorted(frame["market_id"]) == ["253591", "530001", "540001", "540002"]
    assert frame.set_index("market_id").loc["253591", "symbol"] == "BTC/USD"
    assert set(frame[frame.market_id.str.startswith("5400")]["symbol"]) == {"ETH/USD"}
    assert frame[frame.market_id.str.startswith("5400")]["neg_risk"].all()
    assert set(frame["source"]) == {"perplexity+gamma"}
    assert (frame["event_ts"] == as_of).all() and (
        frame["available_ts"] == pd.Timestamp("2024-01-03T00:00:00Z")
    ).all()
    reasons = sorted(result.quarantine["reason"])
    assert reasons == ["not confirmed by Gamma", "symbol not in universe: XRP/USD"]
    assert result.stats["candidates"] == 4 and result.stats["unconfirmed"] == 1
    lookups = [(r.url.path, dict(r.url.params)) for r in gamma.seen]
    assert ("/markets", {"id": "253591"}) in lookups and (
        "/events",
        {"slug": "ethereum-price-on-january-5"},
    ) in lookups
    assert ("/markets", {"slug": "will-solana-flip-ethereum-in-2024-invented"}) in lookups
    zone = RawZone(provider.settings.lake.lake_root)
    assert (
        len(list(zone.records("perplexity_discovery"))) == 1
        and len(list(zone.records("polymarket_gamma"))) == 4
    )


def test_discovery_degrades_when_perplexity_is_down_and_when_gamma_fails(tmp_path):
    pplx, gamma = MockService(), MockService()
    pplx.route(CHAT, lambda r: httpx.Response(503, text="down"))
    provider, _ = discovery(tmp_path, pplx, gamma, retry_max_attempts=1)
    result = provider.fetch_markets_result([BTC], pd.Timestamp("2024-01-02T12:00:00Z"))
    assert result.degraded and "market discovery" in result.reason and len(result.frame) == 0
    pplx.route(CHAT, ok("perplexity_discovery.json"))
    gamma.route("/markets", lambda r: httpx.Response(500, json={"error": "boom"}))
    gamma.route("/events", lambda r: httpx.Response(500, json={"error": "boom"}))
    result = provider.fetch_markets_result([BTC, ETH, SOL, NVDA], pd.Timestamp("2024-01-02T12:00:00Z"))
    assert result.degraded and "polymarket_gamma" in result.reason and len(result.frame) == 0


def test_slugs_from_url():
    assert slugs_from_url("https://polymarket.com/event/btc-100k/btc-100k-2024") == (
        "btc-100k-2024",
        "btc-100k",
    )
    assert slugs_from_url("https://polymarket.com/event/btc-100k") == (None, "btc-100k")
    assert slugs_from_url("https://polymarket.com/market/some-market") == ("some-market", None)
    assert slugs_from_url("https://example.com/") == (None, None) and slugs_from_url(None) == (None, None)
