"""The one place where secrets are removed from text, parameters, headers and log records.

Every message, raw-zone sidecar, quarantine payload and log line written by a provider client goes
through a ``Redactor`` built from the settings, so a key can only leak if it bypasses this module.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

from tracer_assets.settings import TracerSettings

MASK = "***"

# Settings whose values must never be written anywhere. The Telegram chat id is not a credential
# (Telegram echoes it as a number in every answer, where masking would break the JSON): it is kept out
# of stored requests instead (request bodies are never stored).
SECRET_SETTINGS = (
    "alpaca_key_id",
    "alpaca_secret_key",
    "perplexity_api_key",
    "telegram_bot_token",
)

_SENSITIVE_NAME = re.compile(
    r"(key|secret|token|password|passwd|authorization|auth|signature|chat_id|cookie)", re.I
)
# Response headers worth keeping in raw metadata; everything else (cookies, ids) is dropped.
_KEPT_HEADERS = (
    "content-type",
    "retry-after",
    "date",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
)
_MIN_SECRET_LEN = 4  # shorter values would mask ordinary words


def secret_values(settings: TracerSettings) -> list[str]:
    """Plain values of the secret settings that are set."""
    values = []
    for name in SECRET_SETTINGS:
        value = getattr(settings, name, None)
        if value is None:
            continue
        plain = value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
        if plain:
            values.append(plain)
    return values


class Redactor:
    """Masks known secret values (and their URL-encoded forms) and sensitive parameter names."""

    def __init__(self, secrets: Iterable[str] = ()):
        variants: set[str] = set()
        for secret in secrets:
            if secret and len(secret) >= _MIN_SECRET_LEN:
                variants.update({secret, quote(secret, safe=""), quote_plus(secret)})
        # Longest first, so a secret containing another is masked whole.
        self._secrets = sorted(variants, key=len, reverse=True)

    @classmethod
    def from_settings(cls, settings: TracerSettings) -> Redactor:
        return cls(secret_values(settings))

    def merged(self, other: Redactor) -> Redactor:
        merged = Redactor()
        merged._secrets = sorted(set(self._secrets) | set(other._secrets), key=len, reverse=True)
        return merged

    def text(self, value: object) -> str:
        """``str(value)`` with every secret replaced by ``***``."""
        text = str(value)
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def body(self, data: bytes) -> bytes:
        """Response bytes with secrets masked (a server may echo a key in an error body)."""
        for secret in self._secrets:
            encoded = secret.encode("utf-8")
            if encoded in data:
                data = data.replace(encoded, MASK.encode())
        return data

    def params(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        """Query or body parameters safe to store: sensitive names masked, values redacted, JSON-able."""
        out: dict[str, Any] = {}
        for key, value in (params or {}).items():
            if value is None:
                continue
            if _SENSITIVE_NAME.search(str(key)):
                out[str(key)] = MASK
            else:
                out[str(key)] = self.obj(_jsonable(value))
        return out

    def headers(self, headers: Mapping[str, str] | None) -> dict[str, str]:
        """Only the response headers worth keeping (content type, rate limits), redacted."""
        kept = {}
        for key, value in (headers or {}).items():
            if key.lower() in _KEPT_HEADERS:
                kept[key.lower()] = self.text(value)
        return kept

    def obj(self, value: Any) -> Any:
        """Redact every string inside a JSON-like structure."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self.text(k): self.obj(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.obj(v) for v in value]
        return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    enum_value = getattr(value, "value", None)
    if isinstance(enum_value, str | int | float):
        return enum_value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


class RedactingFilter(logging.Filter):
    """Rewrites a log record's message with secrets masked (httpx logs full URLs at INFO)."""

    def __init__(self, redactor: Redactor):
        super().__init__("tracer-redact")
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not hide the record
            message = str(record.msg)
        record.msg = self.redactor.text(message)
        record.args = None
        return True


# Loggers that may print request URLs or bodies: the Telegram token sits in the URL path.
# A logger's filters see only records logged on it, not on its children: child loggers are listed too.
REDACTED_LOGGERS = (
    "tracer_assets.providers",
    "httpx",
    "httpcore",
    "httpcore.http11",
    "httpcore.connection",
    "urllib3",
    "urllib3.connectionpool",
    "requests",
    "alpaca",
)


def install_log_redaction(redactor: Redactor, loggers: Iterable[str] = REDACTED_LOGGERS) -> None:
    """Attach (or widen) one redacting filter on each logger that could see a secret."""
    for name in loggers:
        logger = logging.getLogger(name)
        existing = next((f for f in logger.filters if isinstance(f, RedactingFilter)), None)
        if existing is None:
            logger.addFilter(RedactingFilter(redactor))
        else:
            existing.redactor = existing.redactor.merged(redactor)
