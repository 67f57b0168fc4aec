"""Telegram splitter: every message under the limit, cut on lines, tags never cut and always closed."""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from itertools import product

import httpx
import pandas as pd
import pytest
from pydantic import SecretStr

from tracer_assets.digest import build_digest, split_message
from tracer_assets.digest.split import ulen
from tracer_assets.settings import TracerSettings


class _TagChecker(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(f"unmatched </{tag}>")

    def handle_data(self, data):
        self.text.append(data)


def assert_valid(message: str, limit: int) -> str:
    """Checks one message independently of the splitter; returns its plain text."""
    assert ulen(message) <= limit
    assert re.fullmatch(r"(?:[^<&]|<[^<>]+>|&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);)*", message, re.S), message[
        -60:
    ]
    checker = _TagChecker()
    checker.feed(message)
    checker.close()
    assert not checker.errors and not checker.stack, (checker.errors, checker.stack)
    return "".join(checker.text)


def words_of(text: str) -> list[str]:
    return html.unescape(re.sub(r"<[^>]+>", " ", text)).split()


def test_short_text_is_one_message_unchanged():
    text = "<b>Tracer</b>\nline &amp; more"
    assert split_message(text, 4096) == [text]


def test_cuts_fall_on_line_boundaries():
    lines = [f"• <b>item {w}</b> — some words here" for w in "abcdefghijklmnopqrstuvwxyz"]
    text = "\n".join(lines)
    out = split_message(text, 120)
    assert len(out) > 3
    for m in out:
        assert_valid(m, 120)
        assert all(line in lines for line in m.split("\n"))  # whole lines only
    assert "\n".join(out) == text


def test_a_tag_open_across_lines_is_closed_and_reopened():
    text = "<b>head</b>\n<i>" + "\n".join(f"italic line {c}" for c in "abcdefghij") + "</i>\ntail"
    out = split_message(text, 60)
    assert len(out) > 2
    for m in out:
        assert_valid(m, 60)
    assert out[1].startswith("<i>") and out[0].endswith("</i>")
    assert words_of("".join(out)) == words_of(text)


def test_a_long_line_is_cut_between_words_and_never_inside_a_tag_or_entity():
    line = " ".join(['<b>bold</b> &amp; <a href="https://example.org/x">link text</a> word'] * 40)
    for limit in (60, 97, 150):
        out = split_message(line, limit)
        for m in out:
            assert_valid(m, limit)
        assert words_of(" ".join(out)) == words_of(line)


def test_a_word_longer_than_the_limit_is_cut_between_characters():
    word = "x" * 250
    out = split_message(f"<b>{word}</b>", 50)
    assert all(ulen(m) <= 50 for m in out)
    assert "".join(re.sub(r"</?b>", "", m) for m in out) == word
    for m in out:
        assert_valid(m, 50)


def test_length_counts_utf16_units():
    text = "\n".join(["😀" * 30] * 4)  # each emoji is two UTF-16 units
    out = split_message(text, 70)
    assert all(ulen(m) <= 70 for m in out) and len(out) == 4


def test_malformed_html_and_tiny_limits_are_clear_errors():
    with pytest.raises(ValueError, match="unescaped '<'"):
        split_message("a < b", 100)
    with pytest.raises(ValueError, match="unescaped '&'"):
        split_message("fish & chips", 100)
    with pytest.raises(ValueError, match="unclosed"):
        split_message("<b>open", 100)
    with pytest.raises(ValueError, match="does not match"):
        split_message("<b>x</i>", 100)
    with pytest.raises(ValueError, match="too small"):
        split_message('<a href="https://example.org/very/long/url">x</a>', 10)
    with pytest.raises(ValueError):
        split_message("x", 0)


def big_digest(**settings):
    """A digest of two hundred ranked signals (several messages long), its settings, the names."""
    as_of = pd.Timestamp("2024-06-04 14:00", tz="UTC")
    names = ["".join(p) for p in product("ABCDEFGHIJKLMNO", repeat=2)][:200]
    sig = pd.DataFrame(
        {
            "signal_id": [f"id-{n}" for n in names],
            "symbol": [f"{n}/USD" for n in names],
            "direction": ["long", "short"] * 100,
            "strength": [0.3 + 0.003 * i for i in range(200)],
            "internal_prob": 0.62,
            "size_bucket": "medium",
            "reversal": False,
            "evidence": json.dumps(
                [
                    "Coverage turned sharply positive while price drifted lower over the last twelve hours.",
                    "Trading volume is running above its usual level.",
                    "The hourly and daily trends both already lean the same way as the call.",
                ]
            ),
            "decision_ts": as_of - pd.Timedelta(hours=1),
            "available_ts": as_of - pd.Timedelta(hours=1),
        }
    )
    s = TracerSettings(_env_file=None, digest_top_n=200, digest_alternates=0, **settings)
    return build_digest(sig, None, s.digest, as_of, degraded_reasons=["news provider skipped"]), s, names


def test_a_digest_of_two_hundred_signals_splits_into_several_valid_messages():
    d, s, names = big_digest()
    assert len(d.messages) >= 5
    texts = [assert_valid(m, s.digest.telegram_chunk_chars) for m in d.messages]
    shown = "\n".join(texts)
    assert all(f"{n}/USD" in shown for n in names)
    assert words_of("\n".join(d.messages)) == words_of(d.text)
    assert not any(re.search(r"\d", m) for m in d.messages)


@pytest.mark.parametrize("limit", [1000, 3500])
def test_the_digest_messages_are_the_chunks_telegram_sends_under_one_limit(tmp_path, limit):
    """One setting (``telegram_chunk_chars``) sizes a message: the digest's messages are exactly what
    the Telegram notifier posts, chunk for chunk."""
    from tracer_assets.providers.telegram import TelegramNotifier
    from tracer_assets_tests.providers_helpers import MockService, live_client

    d, s, _ = big_digest(telegram_chunk_chars=limit)
    assert all(ulen(m) <= limit for m in d.messages) and len(d.messages) >= 2
    service, posted = MockService(), []
    send = "/bot1:t/sendMessage"

    def reply(request):
        posted.append(json.loads(request.content)["text"])
        return httpx.Response(200, json={"ok": True, "result": {"message_id": len(posted)}})

    service.route(send, reply)
    settings = s.model_copy(
        update={
            "telegram_bot_token": SecretStr("1:t"),
            "telegram_chat_id": "-1",
            "lake_root": str(tmp_path / "lake"),
            "outbox_dir": str(tmp_path / "outbox"),
        }
    )
    bot, _ = live_client(TelegramNotifier, settings, transport=service.transport)
    delivery = bot.send(d.text, key="digest")
    assert delivery.delivered and delivery.chunks == len(d.messages)
    assert posted == d.messages
