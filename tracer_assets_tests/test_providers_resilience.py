"""The shared resilience layer, redaction, raw zone, results and symbol helpers (no network)."""

from __future__ import annotations

import json
import logging
import random
import time

import pandas as pd
import pytest

from tracer_assets.providers.raw_zone import RawDecodeError, RawZone
from tracer_assets.providers.redact import MASK, Redactor, install_log_redaction
from tracer_assets.providers.resilience import (
    BreakerRegistry,
    CircuitBreaker,
    FatalError,
    PayloadError,
    ProviderSkipped,
    ProviderUnavailable,
    RetryableError,
    backoff_seconds,
    classify_status,
    error_detail,
    parse_retry_after,
)
from tracer_assets.providers.results import RUN_HEALTH_COLUMNS, FetchResult, fetch_result, run_health_row
from tracer_assets.providers.symbols import (
    compact,
    crypto_pair,
    parse_timeframe,
    timeframe_offset,
    to_universe,
    universe_index,
)
from tracer_assets.providers.validation import QUARANTINE_COLUMNS, Quarantine, check_bar_sequence
from tracer_assets_tests.providers_helpers import BTC, ETH, SENTINEL, FakeClock, Harness, make_settings


class Script:
    """A fake request: raises the scripted errors in order, then returns 'ok'."""

    def __init__(self, *errors):
        self.errors = list(errors)
        self.calls = 0

    def __call__(self):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def test_retries_transient_errors_with_growing_backoff(tmp_path):
    h = Harness(
        make_settings(tmp_path, retry_max_attempts=4, retry_backoff_base_s=1.0, retry_backoff_max_s=100)
    )
    attempt = Script(
        RetryableError("svc", "timeout"), RetryableError("svc", "HTTP 503"), RetryableError("svc", "HTTP 502")
    )
    assert h.resilience().call("svc", attempt, "thing") == "ok"
    assert attempt.calls == 4
    # equal jitter: each wait lies in [exp/2, exp] with exp = 1, 2, 4
    assert [0.5 <= h.sleeps[0] <= 1, 1 <= h.sleeps[1] <= 2, 2 <= h.sleeps[2] <= 4] == [True] * 3


def test_retry_after_is_honoured_and_capped(tmp_path):
    h = Harness(make_settings(tmp_path, retry_after_max_s=10.0))
    attempt = Script(
        RetryableError("svc", "429", 429, retry_after=3.0),
        RetryableError("svc", "429", 429, retry_after=600.0),
    )
    assert h.resilience().call("svc", attempt, "thing") == "ok"
    assert h.sleeps == [3.0, 10.0]


def test_exhausted_retries_raise_provider_unavailable_with_reason(tmp_path):
    h = Harness(make_settings(tmp_path, retry_max_attempts=2))
    attempt = Script(*[RetryableError("svc", "HTTP 503: down")] * 5)
    with pytest.raises(ProviderUnavailable) as info:
        h.resilience().call("svc", attempt, "bars page 1")
    assert attempt.calls == 2
    assert "bars page 1" in str(info.value) and "gave up after 2 attempts" in str(info.value)
    assert info.value.status is None or info.value.status == 503


def test_other_4xx_is_not_retried_and_does_not_count_against_the_breaker(tmp_path):
    h = Harness(make_settings(tmp_path, breaker_failure_threshold=1))
    attempt = Script(FatalError("svc", "HTTP 404: not found", status=404))
    with pytest.raises(ProviderUnavailable) as info:
        h.resilience().call("svc", attempt, "thing")
    assert attempt.calls == 1 and h.sleeps == []
    assert info.value.status == 404
    assert h.breakers.get("svc", 1, 1).state == "closed"


def test_payload_error_is_not_retried_but_counts_as_a_failure(tmp_path):
    h = Harness(make_settings(tmp_path, breaker_failure_threshold=1))
    with pytest.raises(ProviderUnavailable):
        h.resilience().call("svc", Script(PayloadError("svc", "malformed JSON")), "thing")
    assert h.breakers.get("svc", 1, 1).state == "open"


def test_a_malformed_read_is_tried_once_more_and_a_write_never(tmp_path):
    h = Harness(make_settings(tmp_path, retry_malformed_attempts=2, breaker_failure_threshold=10))
    read = Script(PayloadError("svc", "malformed JSON"))
    assert h.resilience().call("svc", read, "thing", idempotent=True) == "ok"
    assert read.calls == 2 and len(h.sleeps) == 1
    twice = Script(PayloadError("svc", "malformed JSON"), PayloadError("svc", "cut off"))
    with pytest.raises(ProviderUnavailable, match="cut off"):
        h.resilience().call("svc", twice, "thing", idempotent=True)
    assert twice.calls == 2
    write = Script(PayloadError("svc", "malformed JSON"))  # the message may have been sent: not again
    with pytest.raises(ProviderUnavailable):
        h.resilience().call("svc", write, "thing")
    assert write.calls == 1


def test_breaker_opens_after_threshold_then_half_opens_after_cooldown():
    clock = FakeClock()
    breaker = CircuitBreaker("svc", threshold=3, cooldown_s=60, clock=clock)
    for _ in range(2):
        breaker.record_failure()
    assert breaker.state == "closed" and breaker.allow()
    breaker.record_failure()
    assert breaker.state == "open" and not breaker.allow()
    clock.advance(59)
    assert not breaker.allow()
    clock.advance(1)
    assert breaker.allow()  # the one trial
    assert not breaker.allow()  # a second caller waits while the trial is in flight
    breaker.record_failure()  # the trial fails: open again for a full cool-down
    assert breaker.state == "open"
    clock.advance(60)
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state == "closed" and breaker.failures == 0


def test_open_breaker_skips_calls_without_sending_and_stops_retries(tmp_path):
    h = Harness(make_settings(tmp_path, breaker_failure_threshold=2, retry_max_attempts=5))
    attempt = Script(*[RetryableError("svc", "timeout")] * 10)
    with pytest.raises(ProviderSkipped) as info:
        h.resilience().call("svc", attempt, "news")
    assert attempt.calls == 2  # the breaker opened on the second failure; no third request
    assert "circuit open" in info.value.reason
    again = Script()
    with pytest.raises(ProviderSkipped):
        h.resilience().call("svc", again, "news")
    assert again.calls == 0


def test_breaker_state_is_shared_across_resilience_objects(tmp_path):
    h = Harness(make_settings(tmp_path, breaker_failure_threshold=1, retry_max_attempts=1))
    with pytest.raises(ProviderUnavailable):
        h.resilience().call("svc", Script(RetryableError("svc", "timeout")), "asset A")
    other = h.resilience()  # a second asset's client, same process registry
    with pytest.raises(ProviderSkipped):
        other.call("svc", Script(), "asset B")
    h.clock.advance(h.settings.providers.breaker_cooldown_s)
    assert other.call("svc", Script(), "asset B") == "ok"
    assert h.breakers.states() == {"svc": "closed"}


def test_unexpected_exception_degrades_with_a_redacted_message(tmp_path):
    settings = make_settings(tmp_path, perplexity_api_key=SENTINEL)
    h = Harness(settings)

    def boom():
        raise KeyError(f"oops {SENTINEL}")

    with pytest.raises(ProviderUnavailable) as info:
        h.resilience().call("svc", boom, "thing")
    assert SENTINEL not in str(info.value) and "KeyError" in str(info.value)


def test_backoff_is_capped_and_jittered():
    rng = random.Random(1)
    waits = [backoff_seconds(10, base=1.0, cap=8.0, rng=rng) for _ in range(50)]
    assert all(4.0 <= w <= 8.0 for w in waits)
    assert len(set(waits)) > 1


def test_parse_retry_after_forms():
    assert parse_retry_after({"Retry-After": "35"}) == 35.0
    body = json.dumps({"ok": False, "parameters": {"retry_after": 12}})
    assert parse_retry_after({"Retry-After": "35"}, body) == 12.0  # Telegram's body value wins
    http_date = "Wed, 21 Oct 2015 07:28:00 GMT"
    now = pd.Timestamp("2015-10-21T07:27:30Z").timestamp()
    assert parse_retry_after({"retry-after": http_date}, now=now) == pytest.approx(30.0)
    assert parse_retry_after({}, b"<html>") is None
    assert parse_retry_after({"Retry-After": "soon"}) is None


def test_error_detail_reads_every_error_shape():
    assert error_detail(b'{"code": 40010001, "message": "invalid symbol"}') == "invalid symbol"
    assert (
        error_detail(b'{"error": {"message": "Invalid model", "type": "invalid_model"}}') == "Invalid model"
    )
    assert error_detail(b'{"errorMsg": "bad offset"}') == "bad offset"
    assert error_detail(b'{"detail": "Not Found"}') == "Not Found"
    html = b"<html><head><title>502 Bad Gateway</title></head><body>x</body></html>"
    assert error_detail(html, "text/html") == "non-JSON body (text/html): 502 Bad Gateway"
    assert error_detail(b"") == "empty body"


def test_classify_status():
    redactor = Redactor()
    classify_status("svc", 200, {}, b"{}", redactor)
    with pytest.raises(RetryableError) as retry:
        classify_status("svc", 429, {"Retry-After": "4"}, b"{}", redactor)
    assert retry.value.retry_after == 4.0
    with pytest.raises(RetryableError):
        classify_status("svc", 503, {}, b"", redactor)
    with pytest.raises(FatalError) as fatal:
        classify_status(
            "svc", 401, {"content-type": "text/html"}, b"<title>401 Authorization Required</title>", redactor
        )
    assert "401 Authorization Required" in fatal.value.reason and not fatal.value.counts_as_failure


def test_redactor_masks_values_encodings_and_names():
    redactor = Redactor([SENTINEL, "ab", "k+y/Z=0"])  # too-short values are ignored, not masked everywhere
    assert redactor.text(f"url /bot{SENTINEL}/send") == f"url /bot{MASK}/send"
    assert redactor.text("q=k%2By%2FZ%3D0&r=kqy") == f"q={MASK}&r=kqy"  # the URL-encoded form too
    assert "ab" in redactor.text("about")
    params = redactor.params({"apiKey": "x", "symbols": "BTC/USD", "page_token": "t", "note": SENTINEL})
    assert params == {"apiKey": MASK, "symbols": "BTC/USD", "page_token": MASK, "note": MASK}
    headers = redactor.headers(
        {"Set-Cookie": "sid=1", "Content-Type": "application/json", "Retry-After": "3"}
    )
    assert headers == {"content-type": "application/json", "retry-after": "3"}


def test_log_redaction_filter_rewrites_records(caplog):
    redactor = Redactor([SENTINEL])
    install_log_redaction(redactor, loggers=["tracer_test_redact"])
    install_log_redaction(
        Redactor(["another-secret"]), loggers=["tracer_test_redact"]
    )  # widens, no duplicate
    logger = logging.getLogger("tracer_test_redact")
    assert len([f for f in logger.filters if type(f).__name__ == "RedactingFilter"]) == 1
    with caplog.at_level(logging.INFO, logger="tracer_test_redact"):
        logger.info("POST https://api.telegram.org/bot%s/sendMessage %s", SENTINEL, "another-secret")
    assert SENTINEL not in caplog.text and "another-secret" not in caplog.text and MASK in caplog.text


def test_raw_zone_stores_body_as_received_with_redacted_sidecar(tmp_path):
    zone = RawZone(tmp_path, redactor=Redactor([SENTINEL]))
    body = b'{"bars": {}, "next_page_token": null}  '
    rec = zone.store(
        "alpaca_bars",
        "2024-01-01",
        fetch_id="f1",
        seq=0,
        endpoint="v1beta3/crypto/us/bars",
        method="get",
        params={"symbols": "BTC/USD", "token": SENTINEL},
        status=200,
        body=body,
        fetched_at=pd.Timestamp("2024-01-03T00:00:00Z"),
        headers={
            "Content-Type": "application/json",
            "X-Ratelimit-Remaining": "199",
            "Authorization": SENTINEL,
        },
        context={"window_start": "2024-01-01T00:00:00+00:00"},
    )
    folder = tmp_path / "raw" / "alpaca_bars" / "date=2024-01-01"
    bodies, sidecars = list(folder.glob("*.body")), list(folder.glob("*.json"))
    assert len(bodies) == 1 and len(sidecars) == 1 and not list(folder.glob(".tmp-*"))
    assert bodies[0].read_bytes() == body
    meta = json.loads(sidecars[0].read_text())
    assert meta["status"] == 200 and meta["params"] == {"symbols": "BTC/USD", "token": MASK}
    assert meta["headers"] == {"content-type": "application/json", "x-ratelimit-remaining": "199"}
    assert meta["fetched_at"].startswith("2024-01-03") and meta["endpoint"] == "v1beta3/crypto/us/bars"
    assert SENTINEL not in sidecars[0].read_text()
    loaded = list(zone.records("alpaca_bars"))
    assert len(loaded) == 1 and loaded[0].body == body and loaded[0].ref == rec.ref
    assert loaded[0].json() == {"bars": {}, "next_page_token": None}


def test_raw_zone_lists_ok_records_by_day_and_skips_bodyless_sidecars(tmp_path):
    zone = RawZone(tmp_path)
    common = dict(
        fetch_id="f", endpoint="/m", method="GET", params={}, fetched_at=pd.Timestamp("2024-01-05T00:00:00Z")
    )
    zone.store("p", "2024-01-01", seq=0, status=200, body=b"[]", **common)
    zone.store("p", "2024-01-02", seq=0, status=429, body=b"{}", **common)
    zone.store("p", "2024-01-03", seq=0, status=200, body=b"[1]", **common)
    next((tmp_path / "raw/p/date=2024-01-03").glob("*.body")).unlink()  # as if the body write had failed
    assert [r.day for r in zone.records("p")] == ["2024-01-01"]
    assert [r.status for r in zone.records("p", ok_only=False)] == [200, 429]
    assert [r.day for r in zone.records("p", first_day="2024-01-02")] == []


def test_raw_zone_off_writes_nothing_but_returns_the_record(tmp_path):
    rec = RawZone(tmp_path, enabled=False).store(
        "p",
        "2024-01-01",
        fetch_id="f",
        seq=0,
        endpoint="/m",
        method="GET",
        params={},
        status=200,
        body=b"not json",
        fetched_at=pd.Timestamp("2024-01-01T00:00:00Z"),
    )
    assert not (tmp_path / "raw").exists() and rec.path is None
    with pytest.raises(RawDecodeError, match="malformed JSON"):
        rec.json()


def test_quarantine_frame_has_documented_columns_and_redacts():
    q = Quarantine("alpaca_bars", max_payload_chars=50, redactor=Redactor([SENTINEL]))
    assert list(q.frame().columns) == QUARANTINE_COLUMNS and len(q.frame()) == 0
    q.add(
        "bars", f"bad {SENTINEL}", {"x": "y" * 200, "k": SENTINEL}, None, pd.Timestamp("2024-01-02T00:00:00Z")
    )
    frame = q.frame()
    assert list(frame.columns) == QUARANTINE_COLUMNS
    assert len(frame.loc[0, "payload"]) <= 50 and SENTINEL not in frame.to_json()
    assert frame.loc[0, "event_ts"] == frame.loc[0, "available_ts"]  # unknown event time: the receipt time
    assert str(frame["event_ts"].dt.tz) == "UTC"


def test_bar_sequence_flags_duplicates_and_out_of_order_bars():
    t = [pd.Timestamp(f"2024-01-01T0{h}:00Z") for h in range(4)]
    rows = [
        {"symbol": "A", "ts": t[0]},
        {"symbol": "A", "ts": t[1]},
        {"symbol": "A", "ts": t[1]},
        {"symbol": "B", "ts": t[0]},
        {"symbol": "A", "ts": t[3]},
        {"symbol": "A", "ts": t[2]},
    ]
    kept, bad = check_bar_sequence(rows)
    assert [(r["symbol"], r["ts"].hour) for r in kept] == [("A", 0), ("A", 1), ("B", 0), ("A", 3)]
    assert [reason.split(" (")[0] for _, reason in bad] == ["duplicate bar", "out-of-order bar"]


def test_run_health_row_and_fetch_result():
    ts = pd.Timestamp("2024-01-02T05:00:00Z")
    row = run_health_row("run1", "bars", "2024-01-02", "alpaca", True, "alpaca_data: timeout", ts)
    assert list(row) == RUN_HEALTH_COLUMNS
    assert row["degraded"] is True and row["event_ts"] == ts == row["available_ts"]
    assert (
        row["health_id"] == run_health_row("run1", "bars", "2024-01-02", "alpaca", False, "", ts)["health_id"]
    )
    result = FetchResult("alpaca", pd.DataFrame(), degraded=True, reasons=["a", "b", "a"], stats={"pages": 2})
    assert result.reason == "a; b"
    assert result.metadata() == {
        "provider": "alpaca",
        "degraded": True,
        "degraded_reason": "a; b",
        "quarantined_rows": 0,
        "fetch_pages": 2,
    }
    assert result.health_row("r", "bars", "2024-01-02", ts)["reason"] == "a; b"


def test_fetch_result_wraps_a_plain_provider():
    class Plain:
        name = "sim"

        def fetch_bars(self, instruments, start, end):
            return pd.DataFrame({"symbol": [i.symbol for i in instruments]})

    result = fetch_result(Plain(), "fetch_bars", [BTC, ETH], None, None)
    assert (
        result.provider == "sim"
        and not result.degraded
        and list(result.frame["symbol"]) == ["BTC/USD", "ETH/USD"]
    )
    assert len(result.quarantine) == 0


def test_symbols_and_timeframes():
    assert (
        crypto_pair("BTCUSD") == "BTC/USD"
        and crypto_pair("eth-usdt") == "ETH/USDT"
        and crypto_pair("BTC/USD") == "BTC/USD"
    )
    assert compact("btc/usd") == "BTCUSD"
    index = universe_index([BTC, ETH])
    assert (
        to_universe("BTCUSD", index) is BTC
        and to_universe("ETH/USD", index) is ETH
        and to_universe("XRPUSD", index) is None
    )
    assert str(parse_timeframe("5Min")) == "5Min" and str(parse_timeframe("1Hour")) == "1Hour"
    assert str(parse_timeframe("1Day")) == "1Day" and str(parse_timeframe("1Month")) == "1Month"
    with pytest.raises(ValueError, match="timeframe"):
        parse_timeframe("hourly")
    start = pd.Timestamp("2024-01-31T00:00:00Z")
    assert start + timeframe_offset(parse_timeframe("1Hour")) == pd.Timestamp("2024-01-31T01:00:00Z")
    assert start + timeframe_offset(parse_timeframe("1Month")) == pd.Timestamp("2024-02-29T00:00:00Z")


def test_breaker_registry_keeps_one_breaker_per_name():
    registry = BreakerRegistry()
    first = registry.get("alpaca_data", 3, 10)
    assert registry.get("alpaca_data", 99, 99) is first and first.threshold == 3
    registry.reset()
    assert registry.get("alpaca_data", 5, 10) is not first


def test_real_sleep_is_the_default_but_tests_inject_it(tmp_path):
    h = Harness(make_settings(tmp_path))
    started = time.perf_counter()
    h.resilience().call("svc", Script(RetryableError("svc", "x", retry_after=30.0)), "thing")
    assert time.perf_counter() - started < 0.5 and h.sleeps == [30.0]
