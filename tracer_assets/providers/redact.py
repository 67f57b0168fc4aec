"""The one place where secrets are removed from text, parameters, headers and log records.

Every message, raw-zone sidecar, quarantine payload and log line written by a provider client goes
through a ``Redactor`` built from the settings, so a key can only leak if it bypasses this module.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

from tracer_assets.settings import FIELD_SECTION, TracerSettings

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
_MIN_PARTIAL_LEN = 12  # a cut-off part of a key this long is still the key, not an ordinary word


def secret_values(settings: TracerSettings) -> list[str]:
    """Plain values of the secret settings that are set."""
    values = []
    for name in SECRET_SETTINGS:
        value = getattr(getattr(settings, FIELD_SECTION[name]), name)
        if value is None:
            continue
        plain = value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
        if plain:
            values.append(plain)
    return values


def _base64_fragments(core: bytes) -> set[str]:
    """Substrings present in any base64 (standard or URL-safe) of a text that contains ``core``.

    Base64 maps 3 bytes to 4 characters, so ``core`` encodes differently at each of the 3 offsets
    it can start at; per offset, the characters fixed by ``core``'s bytes alone are kept (e.g. a key
    inside a ``Basic user:key`` header).
    """
    fragments = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + core).decode()
        lo, hi = -(-offset * 4 // 3), (offset + len(core)) * 4 // 3
        piece = encoded[lo:hi]
        if len(piece) >= _MIN_SECRET_LEN:
            fragments.update({piece, piece.replace("+", "-").replace("/", "_")})
    return fragments


def secret_forms(secret: str) -> set[str]:
    """Every form a secret can take in text that leaves the process.

    The value with surrounding whitespace (a trailing CR or LF in a ``.env`` line) stripped, so any
    quoting of the raw value (``'key\\r'``) still contains it; its JSON-escaped, URL-encoded and
    base64 / base64url forms; and its long leading and trailing parts (an error that cuts the
    value short). Matching is case-insensitive (an upper- or lower-cased echo).
    """
    core = secret.strip()
    if len(core) < _MIN_SECRET_LEN:
        return set()
    forms = {core, secret, quote(core, safe=""), quote_plus(core), quote(core)}
    escaped = json.dumps(core)[1:-1]
    forms.update({escaped, escaped.replace("/", "\\/"), json.dumps(core, ensure_ascii=False)[1:-1]})
    forms.update(_base64_fragments(core.encode("utf-8")))
    part = max(_MIN_PARTIAL_LEN, len(core) // 2)
    forms.update(core[:n] for n in range(part, len(core)))
    forms.update(core[-n:] for n in range(part, len(core)))
    return {f for f in forms if len(f) >= _MIN_SECRET_LEN}


class Redactor:
    """Masks every form of known secret values (``secret_forms``) and sensitive parameter names."""

    def __init__(self, secrets: Iterable[str] = ()):
        variants: set[str] = set()
        for secret in secrets:
            if secret:
                variants.update(secret_forms(secret))
        # Longest first, so a secret containing another is masked whole.
        self._secrets = sorted(variants, key=len, reverse=True)
        self._compile()

    def _compile(self) -> None:
        if self._secrets:
            alternation = "|".join(re.escape(s) for s in self._secrets)
            self._pattern: re.Pattern[str] | None = re.compile(alternation, re.IGNORECASE)
            self._bytes_pattern: re.Pattern[bytes] | None = re.compile(
                alternation.encode("utf-8"), re.IGNORECASE
            )
        else:
            self._pattern = self._bytes_pattern = None

    @classmethod
    def from_settings(cls, settings: TracerSettings) -> Redactor:
        return cls(secret_values(settings))

    def merged(self, other: Redactor) -> Redactor:
        merged = Redactor()
        merged._secrets = sorted(set(self._secrets) | set(other._secrets), key=len, reverse=True)
        merged._compile()
        return merged

    def text(self, value: object) -> str:
        """``str(value)`` with every form of every secret replaced by ``***``."""
        text = str(value)
        return self._pattern.sub(MASK, text) if self._pattern is not None else text

    def body(self, data: bytes) -> bytes:
        """Response bytes with secrets masked (a server may echo a key in an error body)."""
        return self._bytes_pattern.sub(MASK.encode(), data) if self._bytes_pattern is not None else data

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
