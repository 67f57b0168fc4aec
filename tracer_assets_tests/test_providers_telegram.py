"""Telegram sendMessage notifier (httpx.MockTransport), message splitting, and the file outbox."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from tracer_assets.providers.outbox import OutboxNotifier, safe_key
from tracer_assets.providers.raw_zone import RawZone
from tracer_assets.providers.resilience import ProviderConfigError
from tracer_assets.providers.telegram import (
    TelegramNotifier,
    escape_html,
    message_chunks,
    split_message,
    strip_html,
)
from tracer_assets_tests.providers_helpers import MockService, live_client, make_settings, payload

TOKEN = "123456:ABC-test-token"
SEND = f"/bot{TOKEN}/sendMessage"


def ok_reply(message_id: int = 4242):
    def reply(request: httpx.Request) -> httpx.Response:
        body = json.loads(payload("telegram_ok.json"))
        body["result"]["message_id"] = message_id
        return httpx.Response(200, json=body)

    return reply


def notifier(tmp_path, service, **overrides):
    settings = make_settings(
        tmp_path, **{"telegram_bot_token": TOKEN, "telegram_chat_id": "-100123", **overrides}
    )
    return live_client(TelegramNotifier, settings, transport=service.transport)


def balanced(chunk: str) -> bool:
    stack = []
    for closing, name in re.findall(r"<(/?)([a-z]+)[^>]*>", chunk):
        if closing:
            if not stack or stack.pop() != name:
                return False
        else:
            stack.append(name)
    return not stack


def test_send_posts_html_and_records_raw_without_the_token(tmp_path):
    service = MockService()
    service.route(SEND, ok_reply())
    bot, _ = notifier(tmp_path, service)
    delivery = bot.send("<b>Top signals</b>\nBTC/USD bullish", key="digest-2024-01-02")
    assert (
        delivery.delivered
        and delivery.chunks == 1
        and delivery.refs == ["4242"]
        and delivery.channel == "telegram"
    )
    body = json.loads(service.hits(SEND)[0].content)
    assert body["parse_mode"] == "HTML" and body["chat_id"] == "-100123" and body["text"].startswith("<b>Top")
    records = list(RawZone(bot.settings.lake.lake_root).records("telegram"))
    assert len(records) == 1 and records[0].endpoint == "/bot***/sendMessage"
    assert TOKEN not in (tmp_path / "lake").joinpath(records[0].path).with_suffix(".json").read_text()


def test_same_key_is_sent_once(tmp_path):
    service = MockService()
    service.route(SEND, ok_reply())
    bot, _ = notifier(tmp_path, service)
    assert bot.send("hello", key="k1").detail == "sent"
    again = bot.send("hello", key="k1")
    assert again.delivered and again.detail == "already sent" and again.refs == ["4242"]
    assert len(service.hits(SEND)) == 1
    bot.send("hello", key="k2")
    assert len(service.hits(SEND)) == 2


def test_long_message_is_split_and_a_retry_resends_only_missing_chunks(tmp_path):
    service = MockService()
    ids = iter(range(1, 100))
    state = {"fail_second": True}

    def handler(request):
        n = next(ids)
        if n == 2 and state["fail_second"]:
            return httpx.Response(400, json=json.loads(payload("telegram_chat_not_found.json")))
        return ok_reply(n)(request)

    service.route(SEND, handler)
    bot, _ = notifier(tmp_path, service, telegram_chunk_chars=400)
    text = "\n".join(f"<b>line {i}</b> " + "x" * 40 for i in range(20))
    first = bot.send(text, key="long")
    assert not first.delivered and first.refs == ["1"] and "chat not found" in first.detail
    assert first.chunks >= 3
    second = bot.send(text, key="long")
    assert second.delivered and len(second.refs) == second.chunks and second.refs[0] == "1"
    sent_texts = [json.loads(r.content)["text"] for r in service.hits(SEND)]
    assert (
        len(sent_texts) == 1 + second.chunks
    )  # chunk 1 once, chunk 2 twice (failed, then ok), the rest once


def test_429_waits_telegram_retry_after(tmp_path):
    service = MockService()
    service.route(
        SEND,
        [
            httpx.Response(429, json=json.loads(payload("telegram_429.json")), headers={"Retry-After": "35"}),
            ok_reply(),
        ],
    )
    bot, harness = notifier(tmp_path, service, retry_after_max_s=60)
    assert bot.send("hi", key="k").delivered and harness.sleeps == [35.0]


def test_5xx_then_success_and_timeout_then_success(tmp_path):
    service = MockService()
    service.route(
        SEND,
        [httpx.Response(502, content=payload("html_error.html")), httpx.ConnectTimeout("slow"), ok_reply()],
    )
    bot, harness = notifier(tmp_path, service)
    assert bot.send("hi", key="k").delivered and len(harness.sleeps) == 2


def test_bad_markup_is_resent_as_plain_text(tmp_path):
    service = MockService()
    service.route(
        SEND, [httpx.Response(400, json=json.loads(payload("telegram_bad_entities.json"))), ok_reply()]
    )
    bot, _ = notifier(tmp_path, service)
    delivery = bot.send("<foo>BTC</foo> &amp; ETH", key="k")
    assert delivery.delivered and "plain text" in delivery.detail
    retry = json.loads(service.hits(SEND)[1].content)
    assert "parse_mode" not in retry and retry["text"] == "BTC & ETH"


def test_malformed_json_and_html_error_do_not_crash(tmp_path):
    service = MockService()
    service.route(SEND, lambda r: httpx.Response(200, content=b'{"ok": tr'))
    bot, harness = notifier(tmp_path, service)
    delivery = bot.send("hi", key="k")
    assert not delivery.delivered and "malformed JSON" in delivery.detail and harness.sleeps == []
    service.route(
        SEND,
        lambda r: httpx.Response(
            403, content=b"<html><title>Forbidden</title></html>", headers={"content-type": "text/html"}
        ),
    )
    delivery = bot.send("hi", key="k")
    assert not delivery.delivered and "HTTP 403: non-JSON body (text/html): Forbidden" in delivery.detail


def test_breaker_opens_then_recovers(tmp_path):
    service = MockService()
    state = {"down": True}
    service.route(
        SEND,
        lambda r: (
            httpx.Response(500, json={"ok": False, "description": "Internal"})
            if state["down"]
            else ok_reply()(r)
        ),
    )
    bot, harness = notifier(tmp_path, service, retry_max_attempts=2, breaker_failure_threshold=2)
    assert not bot.send("hi", key="a").delivered
    skipped = bot.send("hi", key="b")
    assert not skipped.delivered and "circuit open" in skipped.detail and len(service.seen) == 2
    state["down"] = False
    harness.clock.advance(harness.settings.providers.breaker_cooldown_s)
    assert bot.send("hi", key="b").delivered


def test_missing_token_or_chat_names_the_settings(tmp_path):
    with pytest.raises(ProviderConfigError, match="TRACER_TELEGRAM_BOT_TOKEN and TRACER_TELEGRAM_CHAT_ID"):
        TelegramNotifier(make_settings(tmp_path), tmp_path)


def test_split_message_respects_limit_lines_and_tags():
    text = "<b>Digest</b>\n<i>" + "\n".join(f"line {i} " + "word " * 12 for i in range(60)) + "</i>\nend"
    chunks = split_message(text, 600)
    assert len(chunks) > 1 and all(len(c) <= 600 for c in chunks)
    assert all(balanced(c) for c in chunks)
    assert strip_html("".join(chunks)).replace("\n", "") == strip_html(text).replace("\n", "")
    long_line = "<b>" + "&amp; " * 300 + "</b>"
    pieces = split_message(long_line, 400)
    assert all(len(p) <= 400 and balanced(p) for p in pieces)
    assert all(not re.search(r"&[a-z]*$", p.removesuffix("</b>")) for p in pieces)  # never inside an entity
    assert split_message("short", 4096) == ["short"]


def test_text_that_is_not_well_formed_html_goes_as_escaped_plain_text(tmp_path):
    chunks, note = message_chunks("<b>BTC</i> a < b & c", 4096)
    assert chunks == ["BTC a &lt; b &amp; c"] and "bad markup" in note
    assert message_chunks("<b>BTC</b>", 4096) == (["<b>BTC</b>"], None)
    service = MockService()
    service.route(SEND, ok_reply())
    bot, _ = notifier(tmp_path, service)
    delivery = bot.send("<b>unclosed\nfish & chips", key="k")
    assert delivery.delivered and "plain text" in delivery.detail
    assert json.loads(service.hits(SEND)[0].content)["text"] == "unclosed\nfish &amp; chips"


def test_escape_html():
    assert escape_html("a < b & c > d") == "a &lt; b &amp; c &gt; d"


# ---- outbox -------------------------------------------------------------------------------------


def test_outbox_writes_one_file_per_key_and_is_idempotent(tmp_path):
    box = OutboxNotifier(make_settings(tmp_path))
    first = box.send("digest one", key="digest/2024-01-02")
    assert first.delivered and first.detail == "written" and first.channel == "outbox"
    path = tmp_path / "outbox" / f"{safe_key('digest/2024-01-02')}.txt"
    assert first.refs == [str(path)] and path.read_text() == "digest one"
    again = box.send("digest one, re-rendered", key="digest/2024-01-02")
    assert again.detail == "already in outbox" and path.read_text() == "digest one"
    assert len(list((tmp_path / "outbox").iterdir())) == 1


def test_safe_key_never_collides():
    assert safe_key("digest-2024-01-02") == "digest-2024-01-02"
    assert safe_key("a/b") != safe_key("a_b") and safe_key("a/b") != safe_key("a?b")
    assert "/" not in safe_key("../../etc/passwd")
