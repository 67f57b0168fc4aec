"""Polymarket Gamma: pure parsing (decoding, resolution, symbol links) and the paged client."""

from __future__ import annotations

import json
import math

import httpx
import pandas as pd
import pytest

from tracer_assets.lake.schemas import contract_columns
from tracer_assets.polymarket.gamma_parse import (
    SymbolMatcher,
    decode_array,
    parse_closed_time,
    parse_market,
    resolve_outcome,
)
from tracer_assets.providers.polymarket_gamma import PolymarketGammaProvider
from tracer_assets.universe import Instrument
from tracer_assets_tests.providers_helpers import (
    AAPL,
    AMZN,
    BTC,
    COIN,
    ETH,
    NVDA,
    SOL,
    TSLA,
    UNIVERSE,
    MockService,
    live_client,
    make_settings,
    payload,
    payload_json,
)

AS_OF = pd.Timestamp("2024-01-02T12:00:00Z")
FETCHED = pd.Timestamp("2024-01-03T00:00:00Z")


# ---- pure parsing -------------------------------------------------------------------------------


def test_string_encoded_arrays_are_decoded():
    assert decode_array('["Yes", "No"]') == ["Yes", "No"]
    assert decode_array(["Yes", "No"]) == ["Yes", "No"]
    with pytest.raises(ValueError, match="not a JSON array"):
        decode_array('{"a": 1}')


@pytest.mark.parametrize(
    ("closed", "status", "prices", "yes_index", "expected"),
    [
        (False, None, [0.3, 0.7], 0, math.nan),
        (True, "resolved", [1.0, 0.0], 0, 1.0),
        (True, "resolved", [0.0, 1.0], 0, 0.0),
        (True, "resolved", [0.0, 1.0], 1, 1.0),
        (True, "resolved", [0.5, 0.5], 0, 0.5),
        (True, None, [0.9999996, 0.0000004], 0, 1.0),
        (True, None, [0.97, 0.03], 0, math.nan),
        (True, "proposed", [1.0, 0.0], 0, math.nan),
        (True, "disputed", [0.5, 0.5], 0, math.nan),
    ],
)
def test_resolution_rules(closed, status, prices, yes_index, expected):
    value, note = resolve_outcome(closed, status, prices, yes_index, resolved_price_min=0.99)
    assert (math.isnan(value) and math.isnan(expected)) or value == expected, note


def test_closed_time_format_is_parsed():
    assert parse_closed_time("2025-12-31 09:10:57+00") == pd.Timestamp("2025-12-31T09:10:57Z")
    assert parse_closed_time("2025-12-31T09:10:57Z") == pd.Timestamp("2025-12-31T09:10:57Z")
    assert parse_closed_time("2025-12-31 09:10:57") is None and parse_closed_time(None) is None


def test_symbol_matcher_links_questions_and_slugs():
    matcher = SymbolMatcher(UNIVERSE + [Instrument("LINK/USD", "crypto")])
    assert matcher.match("Will Bitcoin reach $100,000 by December 31?") == "BTC/USD"
    assert matcher.match("Will BTC outperform ETH in 2024?") == "BTC/USD"  # first mention wins
    assert matcher.match("Will ETH be above $2,400?") == "ETH/USD"
    assert matcher.match("Will NVIDIA be the largest company?") == "NVDA"
    assert matcher.match("Will $SOL flip $ETH?") == "SOL/USD"
    assert (
        matcher.match("Will the link between rates and stocks hold?") is None
    )  # 'link' is a word, LINK a ticker
    assert matcher.match("Will Taylor Swift attend the Super Bowl?") is None
    assert matcher.match("Up or down on Jan 2?", "bitcoin-up-or-down-jan-2") == "BTC/USD"
    assert matcher.match("Which token lists next?", "coin-listing-next") is None  # slug 'coin' is a word


def test_parse_market_row_keeps_neg_risk_and_book():
    item = payload_json("gamma_markets_page1.json")[1]
    parsed = parse_market(
        item, matcher=SymbolMatcher(UNIVERSE), snapshot_ts=AS_OF, fetched_at=FETCHED, resolved_price_min=0.99
    )
    row = parsed.row
    assert row["market_id"] == "512001" and row["symbol"] == "ETH/USD" and row["neg_risk"] is True
    assert (
        row["yes_price"] == 0.38 and row["outcome_type"] == "yes_no" and math.isnan(row["resolved_outcome"])
    )
    assert row["best_bid"] == 0.375 and row["best_ask"] == 0.385 and row["volume"] == 1523412.551
    assert row["end_ts"] == pd.Timestamp("2024-01-05T17:00:00Z") and row["condition_id"].startswith("0x")
    assert json.loads(row["clob_token_ids"])[0].isdigit() and row["neg_risk_group"].startswith("0x")
    assert row["event_ts"] == AS_OF and row["available_ts"] == FETCHED


def test_volume_from_decimal_string_when_number_missing():
    item = dict(payload_json("gamma_markets_page1.json")[0])
    item.pop("volumeNum")
    item.pop("liquidityNum")
    row = parse_market(
        item, matcher=SymbolMatcher(UNIVERSE), snapshot_ts=AS_OF, fetched_at=FETCHED, resolved_price_min=0.99
    ).row
    assert row["volume"] == 1523412.551 and row["liquidity"] == 80412.11


# ---- client -------------------------------------------------------------------------------------


def open_and_closed(request: httpx.Request) -> httpx.Response:
    """Gamma's offset paging over recorded markets: open ones, or those that ended on the day."""
    params = dict(request.url.params)
    if params.get("closed") == "true":
        markets = payload_json("gamma_markets_closed.json")
    else:
        markets = payload_json("gamma_markets_page1.json") + payload_json("gamma_markets_page2.json")
    offset, limit = int(params["offset"]), int(params["limit"])
    return httpx.Response(200, json=markets[offset : offset + limit])


def gamma_provider(tmp_path, service, **overrides):
    settings = make_settings(tmp_path, **{"gamma_page_size": 3, **overrides})
    return live_client(PolymarketGammaProvider, settings, transport=service.transport)


def test_snapshot_pages_open_markets_and_reads_the_days_resolutions(tmp_path):
    service = MockService()
    service.route("/markets", open_and_closed)
    provider, _ = gamma_provider(tmp_path, service)
    result = provider.fetch_markets_result(UNIVERSE, AS_OF)
    frame = result.frame.set_index("market_id")
    assert not result.degraded and len(result.quarantine) == 0
    assert list(result.frame.columns[: len(contract_columns("polymarket_markets"))]) == contract_columns(
        "polymarket_markets"
    )
    assert set(frame.index) == {
        "253591",
        "512001",
        "530001",
        "520001",
        "520002",
        "520003",
        "520004",
        "520005",
    }
    assert (
        result.stats["unmatched"] == 1 and result.stats["pages"] == 4
    )  # the Super Bowl market bears on nothing
    assert frame.loc["520001", "resolved_outcome"] == 1.0 and frame.loc["520001", "outcome_type"] == "binary"
    assert frame.loc["520001", "yes_outcome"] == "Up" and frame.loc["520001", "symbol"] == "BTC/USD"
    assert frame.loc["520002", "resolved_outcome"] == 0.0
    assert frame.loc["520003", "resolved_outcome"] == 0.5
    assert (
        frame.loc["520004", "resolved_outcome"] == 0.0
        and "price fallback" in frame.loc["520004", "resolution_note"]
    )
    assert math.isnan(frame.loc["520005", "resolved_outcome"]) and frame.loc["520005", "closed"]
    assert frame.loc["520001", "closed_ts"] == pd.Timestamp("2024-01-02T21:04:17Z")
    assert frame.loc["530001", "symbol"] == "NVDA" and not frame.loc["530001", "closed"]
    open_calls = [dict(r.url.params) for r in service.seen if r.url.params.get("closed") == "false"]
    assert [c["offset"] for c in open_calls] == ["0", "3"] and all(c["active"] == "true" for c in open_calls)
    closed_call = next(dict(r.url.params) for r in service.seen if r.url.params.get("closed") == "true")
    assert (
        closed_call["end_date_min"] == "2024-01-02T00:00:00Z"
        and closed_call["end_date_max"] == "2024-01-03T00:00:00Z"
    )


def test_open_market_filters_are_settings(tmp_path):
    service = MockService()
    service.route("/markets", lambda r: httpx.Response(200, json=[]))
    provider, _ = gamma_provider(tmp_path, service, gamma_volume_min=5000, gamma_tag_id=21)
    provider.fetch_markets([BTC], AS_OF)
    params = dict(service.seen[0].url.params)
    assert params["volume_num_min"] == "5000.0" and params["tag_id"] == "21"


def test_market_parser_quarantines_each_bad_case_and_keeps_the_rest(tmp_path):
    service = MockService()
    service.route(
        "/markets",
        lambda r: (
            httpx.Response(200, content=payload("gamma_markets_bad.json"))
            if r.url.params.get("closed") == "false"
            else httpx.Response(200, json=[])
        ),
    )
    provider, _ = gamma_provider(tmp_path, service, gamma_page_size=100)
    result = provider.fetch_markets_result([BTC, ETH, SOL, TSLA, AAPL, AMZN, NVDA, COIN], AS_OF)
    assert list(result.frame["market_id"]) == ["530002"]
    reasons = list(result.quarantine["reason"])
    for fragment in (
        "outcomes: Field required",
        "outcomePrices: Value error, not a JSON array",
        "expected a binary market, got 3 outcomes",
        "outcome price 1.2 outside [0, 1]",
        "naive timestamp",
        "missing endDate",
        "question: String should have at least 1 character",
        "schema drift: market is a str",
    ):
        assert sum(fragment in r for r in reasons) == 1, (fragment, reasons)
    assert len(reasons) == 8 and set(result.quarantine["table"]) == {"polymarket_markets"}


def test_429_with_retry_after_then_success(tmp_path):
    service = MockService()
    service.route(
        "/markets",
        [
            httpx.Response(429, json={"error": "too many requests"}, headers={"Retry-After": "4"}),
            lambda r: httpx.Response(200, json=[]),
        ],
    )
    provider, harness = gamma_provider(tmp_path, service)
    assert not provider.fetch_markets_result([BTC], AS_OF).degraded and harness.sleeps == [4.0]


def test_5xx_then_success_mid_paging(tmp_path):
    service = MockService()
    failed = {"n": 0}

    def handler(request):
        if request.url.params.get("offset") == "3" and failed["n"] == 0:
            failed["n"] += 1
            return httpx.Response(
                502, content=payload("html_error.html"), headers={"content-type": "text/html"}
            )
        return open_and_closed(request)

    service.route("/markets", handler)
    provider, harness = gamma_provider(tmp_path, service)
    result = provider.fetch_markets_result(UNIVERSE, AS_OF)
    assert not result.degraded and "530001" in set(result.frame["market_id"]) and len(harness.sleeps) == 1


def test_timeout_and_malformed_json_and_html_error(tmp_path):
    service = MockService()
    service.route("/markets", [httpx.ReadTimeout("slow"), lambda r: httpx.Response(200, content=b'[{"id": ')])
    provider, harness = gamma_provider(tmp_path, service)
    result = provider.fetch_markets_result([BTC], AS_OF)
    assert (
        result.degraded and "malformed JSON" in result.reason and len(harness.sleeps) == 2
    )  # the timeout retried, then the malformed body read once more (a GET)
    assert any(r.startswith("malformed JSON") for r in result.quarantine["reason"])
    service.route(
        "/markets",
        lambda r: httpx.Response(
            422, text="<html><title>Unprocessable</title></html>", headers={"content-type": "text/html"}
        ),
    )
    result = provider.fetch_markets_result([BTC], AS_OF)
    assert "HTTP 422: non-JSON body (text/html): Unprocessable" in result.reason


def test_page_cap_is_reported(tmp_path):
    service = MockService()
    service.route("/markets", lambda r: httpx.Response(200, content=payload("gamma_markets_page1.json")))
    provider, _ = gamma_provider(tmp_path, service, gamma_max_pages=2)
    result = provider.fetch_markets_result([BTC, ETH], AS_OF)
    assert result.degraded and "gamma_max_pages=2" in result.reason
    assert result.stats["duplicates"] > 0 and len(result.frame) == 2  # repeated pages: one row per market


def test_breaker_opens_then_recovers(tmp_path):
    service = MockService()
    state = {"down": True}
    service.route(
        "/markets",
        lambda r: httpx.Response(503, json={"error": "down"}) if state["down"] else open_and_closed(r),
    )
    provider, harness = gamma_provider(tmp_path, service, retry_max_attempts=1, breaker_failure_threshold=2)
    first = provider.fetch_markets_result([BTC], AS_OF)  # open query fails, closed query fails: breaker opens
    assert first.degraded and len(service.seen) == 2
    skipped = provider.fetch_markets_result([BTC], AS_OF)
    assert "circuit open" in skipped.reason and len(service.seen) == 2
    state["down"] = False
    harness.clock.advance(harness.settings.providers.breaker_cooldown_s)
    recovered = provider.fetch_markets_result(UNIVERSE, AS_OF)
    assert not recovered.degraded and len(recovered.frame) == 8
