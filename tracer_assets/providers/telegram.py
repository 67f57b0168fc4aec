"""Telegram Bot API ``sendMessage`` notifier (``TRACER_NOTIFIER=telegram``), HTML parse mode.

- Long texts are split on line boundaries under ``telegram_chunk_chars`` (Telegram's limit is 4096),
  never inside a tag or an entity; tags open across a cut are closed and reopened.
- Idempotent per key: a ledger under ``<outbox_dir>/.telegram_ledger/`` records each delivered chunk,
  so a retried run resends only the chunks that did not go out.
- 429 waits ``parameters.retry_after`` (capped); "can't parse entities" resends the chunk as plain text.
- The bot token sits in the URL path: the raw zone records ``/bot***/sendMessage``.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

from tracer_assets.providers.http import HttpCaller, utc_now
from tracer_assets.providers.outbox import atomic_write_text, safe_key
from tracer_assets.providers.protocols import Delivery
from tracer_assets.providers.raw_zone import RawZone, new_fetch_id
from tracer_assets.providers.redact import Redactor
from tracer_assets.providers.resilience import ProviderConfigError, ProviderUnavailable, Resilience
from tracer_assets.settings import TracerSettings

RAW_PROVIDER = "telegram"
TELEGRAM_SERVICE = "telegram"
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)([^>]*)>")
_CLOSING_RESERVE = 200  # room left in a chunk for closing and reopening tags


def escape_html(text: str) -> str:
    """Escape ``<``, ``>`` and ``&`` for Telegram's HTML mode (text outside tags)."""
    return html.escape(text, quote=False)


def strip_html(text: str) -> str:
    """Plain text of an HTML-mode message (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def _safe_cut(line: str, limit: int) -> int:
    """A cut position <= limit that is not inside a tag or an entity, preferring the last space."""
    limit = min(limit, len(line))
    cut = limit
    lt, gt = line.rfind("<", 0, cut), line.rfind(">", 0, cut)
    if lt > gt:  # inside a tag
        cut = lt
    amp = line.rfind("&", 0, cut)
    if amp != -1 and ";" not in line[amp:cut] and re.match(r"&#?\w*$", line[amp:cut]):
        cut = amp
    space = line.rfind(" ", 0, cut)
    if space > cut // 2:
        cut = space + 1
    return max(cut, 1)


def _pieces(text: str, limit: int) -> list[str]:
    """Text cut into pieces of at most ``limit`` characters, at line ends where possible."""
    chunks, current = [], ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                chunks.append(current)
                current = ""
            cut = _safe_cut(line, limit)
            chunks.append(line[:cut])
            line = line[cut:]
        candidate = f"{current}\n{line}" if current else line
        if current and len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current or not chunks:
        chunks.append(current)
    return chunks


def split_message(text: str, limit: int) -> list[str]:
    """Split an HTML-mode message into chunks of at most ``limit`` characters with balanced tags."""
    body_limit = max(limit - _CLOSING_RESERVE, limit // 2)
    chunks, open_tags = [], []  # open_tags: (name, full opening tag)
    for piece in _pieces(text, body_limit):
        prefix = "".join(tag for _, tag in open_tags)
        for match in _TAG.finditer(piece):
            closing, name = match.group(1), match.group(2).lower()
            if closing:
                for i in range(len(open_tags) - 1, -1, -1):
                    if open_tags[i][0] == name:
                        del open_tags[i]
                        break
            else:
                open_tags.append((name, match.group(0)))
        suffix = "".join(f"</{name}>" for name, _ in reversed(open_tags))
        chunks.append(prefix + piece + suffix)
    return [c for c in chunks if c.strip()] or [text[:limit]]


class TelegramNotifier:
    """``Notifier`` that posts to one Telegram chat."""

    name = "telegram"

    def __init__(
        self,
        settings: TracerSettings,
        lake_root: str | Path,
        *,
        resilience: Resilience | None = None,
        raw_zone: RawZone | None = None,
        redactor: Redactor | None = None,
        transport: httpx.BaseTransport | None = None,
        now: Callable[[], pd.Timestamp] = utc_now,
    ):
        token = settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else ""
        if not token or not settings.telegram_chat_id:
            raise ProviderConfigError("Telegram needs TRACER_TELEGRAM_BOT_TOKEN and TRACER_TELEGRAM_CHAT_ID")
        self.settings = settings
        self.redactor = redactor or Redactor.from_settings(settings)
        self.resilience = resilience or Resilience(settings, redactor=self.redactor)
        self.raw_zone = raw_zone or RawZone(lake_root, settings.raw_zone_enabled, self.redactor)
        self.now = now
        self._path = f"/bot{token}/sendMessage"
        self.caller = HttpCaller(
            service=TELEGRAM_SERVICE,
            base_url=settings.telegram_url,
            resilience=self.resilience,
            raw_zone=self.raw_zone,
            redactor=self.redactor,
            timeout_s=settings.http_timeout_s,
            transport=transport,
            now=now,
        )
        self.ledger_dir = Path(settings.outbox_dir) / ".telegram_ledger"

    # ---- ledger (idempotency per key) ---------------------------------------------------------
    def _ledger_path(self, key: str) -> Path:
        return self.ledger_dir / f"{safe_key(key)}.json"

    def _load(self, key: str) -> dict[str, Any]:
        path = self._ledger_path(key)
        return json.loads(path.read_text()) if path.exists() else {"key": key, "sent": {}}

    def _save(self, key: str, ledger: dict[str, Any]) -> None:
        atomic_write_text(self._ledger_path(key), json.dumps(ledger, indent=1, sort_keys=True))

    # ---- sending ------------------------------------------------------------------------------
    def _post(self, chunk: str, *, key: str, index: int, fetch_id: str, plain: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "chat_id": self.settings.telegram_chat_id,
            "text": strip_html(chunk) if plain else chunk,
            "link_preview_options": {"is_disabled": True},
        }
        if not plain and self.settings.telegram_parse_mode:
            body["parse_mode"] = self.settings.telegram_parse_mode
        record = self.caller.request(
            RAW_PROVIDER,
            "POST",
            self._path,
            day=self.now().strftime("%Y-%m-%d"),
            fetch_id=fetch_id,
            seq=index,
            what=f"sendMessage chunk {index + 1}",
            json_body=body,
            context={"key": key, "chunk": index, "plain_text": plain},
            endpoint_label="/bot***/sendMessage",
        )
        answer = record.json()
        if not (isinstance(answer, dict) and answer.get("ok")):
            raise ProviderUnavailable(TELEGRAM_SERVICE, f"sendMessage answered ok=false: {str(answer)[:200]}")
        return answer

    def send(self, text: str, key: str) -> Delivery:
        """Deliver ``text`` once per ``key``; a failure is reported in the Delivery, never raised."""
        chunks = split_message(text, self.settings.telegram_chunk_chars)
        ledger = self._load(key)
        sent: dict[str, Any] = ledger.setdefault("sent", {})
        ledger["chunks"] = len(chunks)
        fetch_id = new_fetch_id()
        notes: list[str] = []
        newly_sent = 0
        for index, chunk in enumerate(chunks):
            if str(index) in sent:
                continue
            try:
                try:
                    answer = self._post(chunk, key=key, index=index, fetch_id=fetch_id, plain=False)
                except ProviderUnavailable as exc:
                    if exc.status != 400 or "parse entities" not in exc.reason:
                        raise
                    answer = self._post(chunk, key=key, index=index, fetch_id=fetch_id, plain=True)
                    notes.append(f"chunk {index + 1} sent as plain text (bad markup)")
            except ProviderUnavailable as exc:
                self._save(key, ledger)
                refs = [str(v) for _, v in sorted(sent.items(), key=lambda kv: int(kv[0]))]
                return Delivery(self.name, key, len(chunks), False, self.redactor.text(str(exc)), refs)
            sent[str(index)] = (answer.get("result") or {}).get("message_id")
            newly_sent += 1
            self._save(key, ledger)
        refs = [str(v) for _, v in sorted(sent.items(), key=lambda kv: int(kv[0]))]
        detail = "; ".join(notes) or ("sent" if newly_sent else "already sent")
        return Delivery(self.name, key, len(chunks), True, detail, refs)
