"""Telegram Bot API ``sendMessage`` notifier (``TRACER_NOTIFIER=telegram``), HTML parse mode.

- Long texts are split by the digest's ``split_message`` under ``telegram_chunk_chars`` (Telegram's
  limit is 4096): on line boundaries, never inside a tag or an entity; tags open across a cut are
  closed and reopened. Text that is not well-formed HTML goes as escaped plain text.
- Idempotent per key: a ledger under ``<outbox_dir>/.telegram_ledger/`` records each delivered chunk,
  so a retried run resends only the chunks that did not go out.
- 429 waits ``parameters.retry_after`` (capped); "can't parse entities" resends the chunk as plain text.
- The bot token sits in the URL path: the raw zone records ``/bot***/sendMessage``.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

from tracer_assets.digest.split import split_message
from tracer_assets.lake.atomic import atomic_write_text
from tracer_assets.providers.http import LiveProvider
from tracer_assets.providers.outbox import safe_key
from tracer_assets.providers.protocols import Delivery
from tracer_assets.providers.raw_zone import new_fetch_id
from tracer_assets.providers.resilience import ProviderConfigError, ProviderUnavailable
from tracer_assets.settings import TracerSettings

RAW_PROVIDER = "telegram"
TELEGRAM_SERVICE = "telegram"


def escape_html(text: str) -> str:
    """Escape ``<``, ``>`` and ``&`` for Telegram's HTML mode (text outside tags)."""
    return html.escape(text, quote=False)


def strip_html(text: str) -> str:
    """Plain text of an HTML-mode message (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def message_chunks(text: str, limit: int) -> tuple[list[str], str | None]:
    """``text`` split by the digest's splitter, and a note when it had to go as escaped plain text.

    Text that is not well-formed Telegram HTML (unescaped ``<``/``&``, unbalanced tags) is sent
    as its plain text, escaped, rather than refused: a notification is never lost to its markup.
    """
    try:
        return split_message(text, limit) or [text[:limit]], None
    except ValueError as exc:
        plain = escape_html(strip_html(text))
        return split_message(plain, limit) or [
            plain[:limit]
        ], f"message sent as plain text (bad markup: {exc})"


class TelegramNotifier(LiveProvider):
    """``Notifier`` that posts to one Telegram chat."""

    name = "telegram"
    raw_provider = RAW_PROVIDER

    def __init__(self, settings: TracerSettings, lake_root: str | Path, **parts: Any):
        token = (
            settings.providers.telegram_bot_token.get_secret_value()
            if settings.providers.telegram_bot_token
            else ""
        )
        if not token or not settings.providers.telegram_chat_id:
            raise ProviderConfigError("Telegram needs TRACER_TELEGRAM_BOT_TOKEN and TRACER_TELEGRAM_CHAT_ID")
        super().__init__(settings, lake_root, **parts)
        self._path = f"/bot{token}/sendMessage"
        self.caller = self.http_caller(TELEGRAM_SERVICE, settings.providers.telegram_url)
        self.ledger_dir = Path(settings.lake.outbox_dir) / ".telegram_ledger"

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
            "chat_id": self.settings.providers.telegram_chat_id,
            "text": strip_html(chunk) if plain else chunk,
            "link_preview_options": {"is_disabled": True},
        }
        if not plain and self.settings.providers.telegram_parse_mode:
            body["parse_mode"] = self.settings.providers.telegram_parse_mode
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
        chunks, split_note = message_chunks(text, self.settings.digest.telegram_chunk_chars)
        ledger = self._load(key)
        sent: dict[str, Any] = ledger.setdefault("sent", {})
        ledger["chunks"] = len(chunks)
        fetch_id = new_fetch_id()
        notes: list[str] = [split_note] if split_note else []
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
