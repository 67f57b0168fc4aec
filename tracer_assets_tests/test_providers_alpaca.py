"""Alpaca bars and news through alpaca-py, served by a local HTTP server (alpaca-py uses requests)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tracer_assets.lake.schemas import contract_columns
from tracer_assets.providers.alpaca_bars import AlpacaBarsProvider, parse_bar_records
from tracer_assets.providers.alpaca_news import AlpacaNewsProvider
from tracer_assets.providers.raw_zone import RawZone
from tracer_assets.providers.resilience import ProviderConfigError
from tracer_assets.providers.validation import QUARANTINE_COLUMNS, Quarantine
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
    LocalServer,
    Reply,
    live_client,
    make_settings,
    payload,
)

CRYPTO = "/v1beta3/crypto/us/bars"
STOCKS = "/v2/stocks/bars"
NEWS = "/v1beta1/news"
START = pd.Timestamp("2024-01-01T00:00:00Z")
END = pd.Timestamp("2024-01-03T00:00:00Z")


@pytest.fixture
def server():
    with LocalServer() as srv:
        yield srv


def paged(first: str, second: str):
    """Serve page 2 when the request carries a page token, page 1 otherwise."""
    return lambda q: Reply(200, payload(second) if q.get("page_token") else payload(first))


def bars_provider(tmp_path, server, keys=False, **overrides):
    extra = {"alpaca_key_id": "key-id-123", "alpaca_secret_key": "secret-456"} if keys else {}
    settings = make_settings(tmp_path, alpaca_data_url=server.url, **extra, **overrides)
    return live_client(AlpacaBarsProvider, settings)


def test_crypto_bars_walk_every_page_and_follow_the_bars_contract(tmp_path, server):
    server.route(CRYPTO, paged("alpaca_crypto_bars_page1.json", "alpaca_crypto_bars_page2.json"))
    provider, _ = bars_provider(tmp_path, server)
    result = provider.fetch_bars_result([BTC, ETH], START, END)
    frame = result.frame
    assert not result.degraded and result.stats["pages"] == 2 and len(result.quarantine) == 0
    assert list(frame.columns[: len(contract_columns("bars"))]) == contract_columns("bars")
    assert frame.groupby("symbol").size().to_dict() == {"BTC/USD": 4, "ETH/USD": 2}
    first = frame.iloc[0]
    assert (
        first["ts"] == START and first["event_ts"] == START + pd.Timedelta(hours=1) == first["available_ts"]
    )
    assert first["open"] == 42283.5 and first["volume"] == 12.53 and first["source"] == "alpaca"
    assert frame["ts"].dt.tz is not None and frame["event_ts"].dt.tz is not None
    zero_volume = frame[(frame.symbol == "BTC/USD") & (frame.ts == START + pd.Timedelta(hours=3))].iloc[0]
    assert zero_volume["volume"] == 0 and pd.isna(zero_volume["vwap"])  # a no-trade bar is kept
    hits = server.hits(CRYPTO)
    assert [h.query.get("page_token") for h in hits] == [None, "QlRDL1VTRHwyMDI0LTAxLTAxVDAyOjAwOjAwWg=="]
    assert hits[0].query["symbols"] == "BTC/USD,ETH/USD" and hits[0].query["timeframe"] == "1Hour"
    assert hits[0].query["limit"] == "10000" and "APCA-API-KEY-ID" not in hits[0].headers  # crypto: no keys


def test_symbols_are_normalised_both_ways(tmp_path, server):
    server.route(
        CRYPTO,
        lambda q: Reply(
            200,
            {
                "bars": {"BTCUSD": json.loads(payload("alpaca_crypto_bars_page1.json"))["bars"]["BTC/USD"]},
                "next_page_token": None,
            },
        ),
    )
    provider, _ = bars_provider(tmp_path, server)
    frame = provider.fetch_bars([Instrument("BTCUSD", "crypto")], START, END)
    assert server.hits(CRYPTO)[0].query["symbols"] == "BTC/USD"
    assert set(frame["symbol"]) == {"BTCUSD"} and len(frame) == 3


def test_stock_bars_use_the_iex_feed_and_send_keys(tmp_path, server):
    server.route(STOCKS, lambda q: Reply(200, payload("alpaca_stock_bars.json")))
    provider, _ = bars_provider(tmp_path, server, keys=True)
    frame = provider.fetch_bars([AAPL], START, END)
    hit = server.hits(STOCKS)[0]
    assert hit.query["feed"] == "iex" and hit.query["symbols"] == "AAPL"
    assert (
        hit.headers["APCA-API-KEY-ID"] == "key-id-123" and hit.headers["APCA-API-SECRET-KEY"] == "secret-456"
    )
    assert list(frame["asset_class"]) == ["stock", "stock"] and provider.last_result.frame is frame


def test_every_response_lands_in_the_raw_zone_before_parsing(tmp_path, server):
    server.route(CRYPTO, paged("alpaca_crypto_bars_page1.json", "alpaca_crypto_bars_page2.json"))
    provider, _ = bars_provider(tmp_path, server)
    provider.fetch_bars([BTC, ETH], START, END)
    records = list(RawZone(provider.settings.lake.lake_root).records("alpaca_bars"))
    assert [r.body for r in records] == [
        payload("alpaca_crypto_bars_page1.json"),
        payload("alpaca_crypto_bars_page2.json"),
    ]
    assert {r.day for r in records} == {"2024-01-01"} and len({r.fetch_id for r in records}) == 1
    assert records[0].endpoint == "v1beta3/crypto/us/bars" and records[1].params["page_token"] == "***"
    assert records[0].context["symbols"] == ["BTC/USD", "ETH/USD"] and records[0].status == 200


def test_429_waits_retry_after_and_alpaca_py_does_not_retry_itself(tmp_path, server):
    server.route(
        STOCKS,
        [
            Reply(429, {"code": 42910000, "message": "rate limit exceeded"}, {"Retry-After": "7"}),
            Reply(200, payload("alpaca_stock_bars.json")),
        ],
    )
    provider, harness = bars_provider(tmp_path, server, keys=True)
    result = provider.fetch_bars_result([AAPL], START, END)
    assert not result.degraded and len(result.frame) == 2
    assert harness.sleeps == [7.0]  # our wait, from the header; alpaca-py's fixed 3 s sleep never ran
    assert len(server.hits(STOCKS)) == 2  # one 429, one retry of ours: nothing else retries
    statuses = [
        r.status for r in RawZone(provider.settings.lake.lake_root).records("alpaca_bars", ok_only=False)
    ]
    assert sorted(statuses) == [200, 429]


def test_5xx_then_success_on_a_later_page(tmp_path, server):
    calls = {"page2": 0}

    def handler(q):
        if not q.get("page_token"):
            return Reply(200, payload("alpaca_crypto_bars_page1.json"))
        calls["page2"] += 1
        return (
            Reply(503, {"message": "service unavailable"})
            if calls["page2"] == 1
            else Reply(200, payload("alpaca_crypto_bars_page2.json"))
        )

    server.route(CRYPTO, handler)
    provider, harness = bars_provider(tmp_path, server)
    result = provider.fetch_bars_result([BTC, ETH], START, END)
    assert not result.degraded and len(result.frame) == 6
    assert len(server.hits(CRYPTO)) == 3 and len(harness.sleeps) == 1  # page 1 once, page 2 twice


def test_timeout_is_retried(tmp_path, server):
    server.route(
        CRYPTO,
        [
            Reply(200, payload("alpaca_crypto_bars_page2.json"), delay_s=0.3),
            Reply(200, payload("alpaca_crypto_bars_page2.json")),
        ],
    )
    provider, harness = bars_provider(tmp_path, server, http_timeout_s=0.05)
    result = provider.fetch_bars_result([BTC, ETH], START, END)
    assert not result.degraded and len(result.frame) == 3 and len(harness.sleeps) == 1


def test_timeouts_exhaust_retries_and_degrade(tmp_path, server):
    server.route(CRYPTO, lambda q: Reply(200, payload("alpaca_crypto_bars_page2.json"), delay_s=0.3))
    provider, _ = bars_provider(tmp_path, server, http_timeout_s=0.05, retry_max_attempts=2)
    result = provider.fetch_bars_result([BTC, ETH], START, END)
    assert result.degraded and "timeout" in result.reason and "gave up after 2 attempts" in result.reason
    assert len(result.frame) == 0 and list(result.frame.columns[:3]) == ["symbol", "asset_class", "ts"]


def test_malformed_json_is_read_again_once_then_its_body_is_quarantined(tmp_path, server):
    server.route(CRYPTO, lambda q: Reply(200, b'{"bars": {"BTC/USD": [{"t": "2024-01-01T00:00:00Z", "o": 1'))
    provider, harness = bars_provider(tmp_path, server)
    result = provider.fetch_bars_result([BTC], START, END)
    assert result.degraded and "malformed JSON" in result.reason
    # a GET is safe to resend: retry_malformed_attempts (2) reads, one backoff between them
    assert len(server.hits(CRYPTO)) == 2 and len(harness.sleeps) == 1
    assert len(result.quarantine) == 1 and result.quarantine.loc[0, "reason"].startswith("malformed JSON")
    assert result.quarantine.loc[0, "payload"].startswith('{"bars"') and result.quarantine.loc[
        0, "raw_ref"
    ].startswith("raw/alpaca_bars/")


def test_html_error_body_gives_a_readable_reason(tmp_path, server):
    server.route(CRYPTO, lambda q: Reply(502, payload("html_error.html").decode()))
    server.route(STOCKS, lambda q: Reply(403, "<html><head><title>403 Forbidden</title></head></html>"))
    provider, harness = bars_provider(tmp_path, server, keys=True)
    result = provider.fetch_bars_result([BTC, AAPL], START, END)
    assert result.degraded and len(result.reasons) == 2
    assert "HTTP 502: non-JSON body (text/html): 502 Bad Gateway" in result.reasons[0]
    assert "HTTP 403" in result.reasons[1] and "403 Forbidden" in result.reasons[1]
    assert len(server.hits(CRYPTO)) == 3 and len(server.hits(STOCKS)) == 1  # 5xx retried, 403 not


def test_a_page_that_fails_for_good_keeps_the_pages_before_it(tmp_path, server):
    server.route(
        CRYPTO,
        lambda q: (
            Reply(500, {"message": "internal"})
            if q.get("page_token")
            else Reply(200, payload("alpaca_crypto_bars_page1.json"))
        ),
    )
    provider, _ = bars_provider(tmp_path, server)
    result = provider.fetch_bars_result([BTC, ETH], START, END)
    assert result.degraded and "crypto bars page 2" in result.reason
    assert len(result.frame) == 3 and set(result.frame["symbol"]) == {"BTC/USD"}


def test_breaker_opens_then_recovers_after_cooldown(tmp_path, server):
    state = {"down": True}
    server.route(
        CRYPTO,
        lambda q: (
            Reply(503, {"message": "down"})
            if state["down"]
            else Reply(200, payload("alpaca_crypto_bars_page2.json"))
        ),
    )
    provider, harness = bars_provider(
        tmp_path, server, retry_max_attempts=1, breaker_failure_threshold=2, breaker_cooldown_s=60
    )
    for _ in range(2):
        assert provider.fetch_bars_result([BTC], START, END).degraded
    assert len(server.hits(CRYPTO)) == 2
    skipped = provider.fetch_bars_result([BTC], START, END)
    assert (
        skipped.degraded and "circuit open" in skipped.reason and len(server.hits(CRYPTO)) == 2
    )  # nothing sent
    state["down"] = False
    harness.clock.advance(60)
    recovered = provider.fetch_bars_result([BTC, ETH], START, END)
    assert not recovered.degraded and len(recovered.frame) == 3
    assert harness.breakers.states() == {"alpaca_data": "closed"}


def test_bar_parser_quarantines_each_bad_case_and_keeps_the_rest(tmp_path, server):
    server.route(CRYPTO, lambda q: Reply(200, payload("alpaca_crypto_bars_bad.json")))
    provider, _ = bars_provider(tmp_path, server)
    result = provider.fetch_bars_result([BTC, ETH], START, END)
    assert [t.hour for t in result.frame["ts"]] == [0, 7, 8]
    q = result.quarantine
    assert (
        list(q.columns) == QUARANTINE_COLUMNS
        and set(q["table"]) == {"bars"}
        and set(q["provider"]) == {"alpaca_bars"}
    )
    reasons = list(q["reason"])
    expected = [
        "o: Input should be a finite number",
        "c: Input should be greater than 0",
        "v: Input should be greater than or equal to 0",
        "naive timestamp",
        "c: Field required",
        "inconsistent OHLC",
        "symbol not requested: XRP/USD",
        "duplicate bar",
        "out-of-order bar",
    ]
    for fragment in expected:
        assert sum(fragment in r for r in reasons) == 1, (fragment, reasons)
    assert len(q) == len(expected)
    assert not result.degraded  # bad rows are not an outage
    assert (q["available_ts"] == pd.Timestamp("2024-01-03T00:00:00Z")).all()
    naive = q[q.reason.str.contains("naive")].iloc[0]
    assert json.loads(naive["payload"])["t"] == "2024-01-01T04:00:00" and naive["event_ts"] == START


def test_bars_outside_the_window_or_still_forming_are_counted_not_kept(tmp_path):
    zone = RawZone(tmp_path)
    record = zone.store(
        "alpaca_bars",
        "2024-01-01",
        fetch_id="f",
        seq=0,
        endpoint="x",
        method="GET",
        params={},
        status=200,
        body=payload("alpaca_crypto_bars_page1.json"),
        fetched_at=pd.Timestamp("2024-01-01T02:30:00Z"),
    )
    quarantine = Quarantine("alpaca_bars")
    frame, stats = parse_bar_records([record], [BTC], START + pd.Timedelta(hours=1), END, "1Hour", quarantine)
    assert list(frame["ts"].dt.hour) == [1]  # 00:00 is before the window, 02:00 closes at 03:00 > fetched
    assert stats["outside_window"] == 1 and stats["incomplete"] == 1 and len(quarantine) == 0


def test_other_timeframes_set_event_ts_from_the_bar_length(tmp_path, server):
    server.route(CRYPTO, lambda q: Reply(200, payload("alpaca_crypto_bars_page2.json")))
    provider, _ = bars_provider(tmp_path, server, bar_timeframe="5Min")
    frame = provider.fetch_bars([BTC, ETH], START, END)
    assert server.hits(CRYPTO)[0].query["timeframe"] == "5Min"
    assert ((frame["event_ts"] - frame["ts"]) == pd.Timedelta(minutes=5)).all()


def test_stock_bars_without_keys_fail_with_the_setting_names(tmp_path, server):
    provider, _ = bars_provider(tmp_path, server)
    with pytest.raises(ProviderConfigError, match="TRACER_ALPACA_KEY_ID"):
        provider.fetch_bars([AAPL], START, END)


# ---- news ---------------------------------------------------------------------------------------


def news_provider(tmp_path, server, **overrides):
    settings = make_settings(
        tmp_path,
        alpaca_data_url=server.url,
        alpaca_key_id="key-id-123",
        alpaca_secret_key="secret-456",
        **overrides,
    )
    return live_client(AlpacaNewsProvider, settings)


def test_news_walk_pages_and_map_symbols(tmp_path, server):
    server.route(NEWS, paged("alpaca_news_page1.json", "alpaca_news_page2.json"))
    provider, _ = news_provider(tmp_path, server)
    result = provider.fetch_narratives_result([BTC, ETH, AAPL, COIN], START, END)
    frame = result.frame
    assert not result.degraded and result.stats["pages"] == 2 and result.stats["unmatched"] == 1
    assert list(frame.columns[: len(contract_columns("narratives"))]) == contract_columns("narratives")
    assert sorted(frame["symbol"]) == ["AAPL", "BTC/USD", "COIN", "ETH/USD"]
    btc = frame[frame.symbol == "BTC/USD"].iloc[0]
    assert btc["event_ts"] == pd.Timestamp("2024-01-01T18:30:05Z")
    assert btc["available_ts"] == btc["event_ts"] + pd.Timedelta(seconds=60) and btc["source"] == "benzinga"
    aapl = frame[frame.symbol == "AAPL"].iloc[0]
    assert aapl["available_ts"] == pd.Timestamp(
        "2024-01-01T15:11:00Z"
    )  # updated_at + delay: the text we hold
    assert frame["narrative_id"].is_unique and frame["event_ts"].is_monotonic_increasing
    query = server.hits(NEWS)[0].query
    assert query["symbols"] == "BTCUSD,ETHUSD,AAPL,COIN" and query["limit"] == "50"
    assert server.hits(NEWS)[0].headers["APCA-API-KEY-ID"] == "key-id-123"


def test_news_parser_quarantines_each_bad_case_and_keeps_the_rest(tmp_path, server):
    server.route(NEWS, lambda q: Reply(200, payload("alpaca_news_bad.json")))
    provider, _ = news_provider(tmp_path, server)
    result = provider.fetch_narratives_result([SOL, AAPL, NVDA, TSLA, AMZN], START, END)
    assert list(result.frame["symbol"]) == ["SOL/USD"]
    reasons = list(result.quarantine["reason"])
    for fragment in (
        "headline: String should have at least 1 character",
        "naive timestamp",
        "id: Field required",
        "duplicate article id",
        "created_at after the response was received",
    ):
        assert sum(fragment in r for r in reasons) == 1, (fragment, reasons)
    assert len(reasons) == 5 and set(result.quarantine["table"]) == {"narratives"}
    # every quarantine row lands in the partitions being written, even the one dated 2024-01-09
    assert result.quarantine["event_ts"].between(START, END, inclusive="left").all()


def test_news_429_then_success_and_html_5xx_degrades(tmp_path, server):
    server.route(
        NEWS,
        [
            Reply(429, {"message": "too many"}, {"Retry-After": "2"}),
            Reply(200, payload("alpaca_news_page2.json")),
        ],
    )
    provider, harness = news_provider(tmp_path, server)
    assert len(provider.fetch_narratives([ETH], START, END)) == 1 and harness.sleeps == [2.0]
    server.route(NEWS, lambda q: Reply(504, payload("html_error.html").decode()))
    degraded = provider.fetch_narratives_result([ETH], START, END)
    assert degraded.degraded and "502 Bad Gateway" in degraded.reason and len(degraded.frame) == 0


def test_news_without_keys_fails_at_construction(tmp_path):
    with pytest.raises(ProviderConfigError, match="TRACER_ALPACA_SECRET_KEY"):
        AlpacaNewsProvider(make_settings(tmp_path), tmp_path)
