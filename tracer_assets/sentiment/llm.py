"""LLM polarity from Perplexity (OpenAI-compatible chat completions with a JSON schema answer).

The answer is ``{"direction": positive|negative|neutral, "confidence": 0..1, "reason": one line,
"sources": [urls]}``; ``citations`` and ``search_results`` of the response add sources. The LLM's
polarity is the direction's sign (+1, -1, 0) and its confidence is reported apart, like a model's
label and confidence.

Degraded, not dead: a 429, 5xx, timeout, network error or a malformed / truncated answer gives an
``LlmPolarity`` with ``status="error"`` and a reason, never an exception. After a 429 or 401/403, or
``max_consecutive_failures`` failures in a row, the scorer stops calling for the rest of its life
(one scoring run) and answers ``status="skipped"``. The key is read from a SecretStr only when the
request is built and never appears in a reason.

The HTTP call lives in ``post_chat_completion`` alone, so the shared resilience layer (retries with
backoff honouring Retry-After, circuit breaker) can replace it without touching the parsing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import httpx
from pydantic import SecretStr

SYSTEM_PROMPT = (
    "You are a financial news analyst. For the headline given, judge the likely direction of its effect "
    "on the named asset's price over the next day: positive, negative or neutral. Give your confidence "
    "from 0 to 1, a one-line reason, and the URLs of any sources you relied on. "
    "Answer with the JSON object only."
)
ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "direction": {"type": "string", "enum": ["positive", "negative", "neutral"]},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "reason": {"type": "string"},
        "sources": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["direction", "confidence", "reason", "sources"],
}
DIRECTIONS = {
    "positive": 1.0,
    "bullish": 1.0,
    "negative": -1.0,
    "bearish": -1.0,
    "neutral": 0.0,
    "mixed": 0.0,
}
_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)
MAX_REASON_CHARS = 240
SEARCH_DATE_FORMAT = "%m/%d/%Y"  # Perplexity's search_before_date_filter format


@dataclass(frozen=True)
class LlmPolarity:
    status: str  # "ok" | "error" | "skipped"
    direction: str | None = None
    polarity: float | None = None
    confidence: float | None = None
    reason: str = ""
    sources: list[str] = field(default_factory=list)
    detail: str = ""  # why it failed or was skipped
    obtained_ts: str | None = None  # ISO UTC time the answer was received: it may know what happened since

    def to_json(self) -> bytes:
        return json.dumps(self.__dict__).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> LlmPolarity:
        return cls(**json.loads(raw))


class LlmAnswerError(ValueError):
    """The LLM answered, but not with the JSON object asked for."""


def _error(detail: str) -> LlmPolarity:
    return LlmPolarity(status="error", detail=detail)


def _extract_json(content: str) -> dict[str, Any]:
    text = _THINK.sub("", content).strip()
    if text.lower().startswith("<think>"):
        raise LlmAnswerError("answer ends inside its <think> block (truncated at max_tokens?)")
    text = _FENCE.sub("", text).strip()
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise LlmAnswerError("no JSON object in the answer (truncated?)")
    try:
        obj = json.loads(text[start : end + 1])
    except json.JSONDecodeError as exc:
        raise LlmAnswerError(f"malformed JSON in the answer (truncated?): {exc.msg}") from exc
    if not isinstance(obj, dict):
        raise LlmAnswerError("the answer's JSON is not an object")
    return obj


def _sources(answer: dict[str, Any], payload: dict[str, Any]) -> list[str]:
    urls: list[str] = []
    for item in answer.get("sources") or []:
        if isinstance(item, str):
            urls.append(item)
    for item in payload.get("citations") or []:
        if isinstance(item, str):
            urls.append(item)
    for item in payload.get("search_results") or []:
        if isinstance(item, dict) and isinstance(item.get("url"), str):
            urls.append(item["url"])
    return list(dict.fromkeys(u.strip() for u in urls if u.strip()))


def parse_chat_completion(payload: Any) -> LlmPolarity:
    """A chat-completions response body to an LlmPolarity (status error with the reason if unusable)."""
    try:
        choice = payload["choices"][0]
        content = choice["message"]["content"]
    except (KeyError, IndexError, TypeError):
        return _error("response has no choices[0].message.content")
    if not isinstance(content, str):
        return _error("message content is not text")
    try:
        answer = _extract_json(content)
    except LlmAnswerError as exc:
        finish = choice.get("finish_reason") if isinstance(choice, dict) else None
        return _error(f"{exc}" + (f" (finish_reason={finish})" if finish else ""))
    direction = str(answer.get("direction", "")).strip().lower()
    if direction not in DIRECTIONS:
        return _error(f"unknown direction {direction[:20]!r}")
    try:
        confidence = float(answer.get("confidence"))
    except (TypeError, ValueError):
        return _error("confidence is not a number")
    if 1.0 < confidence <= 100.0:  # some answers give a percentage despite the schema
        confidence /= 100.0
    if not 0.0 <= confidence <= 1.0:
        return _error(f"confidence {confidence} outside [0, 1]")
    reason = " ".join(str(answer.get("reason") or "").split())[:MAX_REASON_CHARS]
    canonical = {1.0: "positive", -1.0: "negative", 0.0: "neutral"}[DIRECTIONS[direction]]
    return LlmPolarity(
        status="ok",
        direction=canonical,
        polarity=DIRECTIONS[direction],
        confidence=confidence,
        reason=reason,
        sources=_sources(answer, payload),
    )


def post_chat_completion(
    client: httpx.Client, base_url: str, api_key: SecretStr, body: dict[str, Any], timeout_s: float
) -> httpx.Response:
    """The one HTTP call: POST ``{base_url}/chat/completions`` with a bearer key and a timeout."""
    return client.post(
        f"{base_url.rstrip('/')}/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {api_key.get_secret_value()}", "Accept": "application/json"},
        timeout=timeout_s,
    )


def _http_error_detail(response: httpx.Response) -> str:
    detail = f"HTTP {response.status_code}"
    try:
        err = response.json().get("error")
        message = err.get("message") if isinstance(err, dict) else err
        if isinstance(message, str) and message:
            detail += f": {' '.join(message.split())[:160]}"
    except (ValueError, AttributeError):
        pass  # HTML error page: the status says enough
    retry_after = response.headers.get("retry-after")
    if retry_after:
        detail += f" (retry after {retry_after[:20]}s)"
    return detail


class PerplexityPolarityScorer:
    """Per-headline LLM polarity from Perplexity; one instance per scoring run."""

    def __init__(
        self,
        api_key: SecretStr,
        *,
        base_url: str = "https://api.perplexity.ai",
        model: str = "sonar",
        timeout_s: float = 30.0,
        max_tokens: int = 300,
        max_calls: int = 500,
        max_consecutive_failures: int = 3,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], datetime] | None = None,
    ):
        self._clock = clock or (lambda: datetime.now(UTC))
        self._key = api_key
        self.base_url = base_url
        self.model = model
        self.model_id = f"perplexity:{model}"
        self.model_revision = "v2"  # prompt and schema version: bump when either changes
        self.timeout_s = timeout_s
        self.max_tokens = max_tokens
        self.max_calls = max_calls
        self.max_consecutive_failures = max_consecutive_failures
        self._client = httpx.Client(transport=transport)
        self.calls = 0
        self.failures_in_row = 0
        self.stopped: str | None = None  # why calls stopped for this run

    def request_body(self, text: str, symbol: str | None, before: date | None = None) -> dict[str, Any]:
        """The chat request; ``before`` (the story's availability day) bounds the web search so sources
        published after the story cannot inform the answer (day granularity is all the API offers)."""
        asset = f"Asset: {symbol}\n" if symbol else ""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": f"{asset}Headline: {text}"},
            ],
            "max_tokens": self.max_tokens,
            "temperature": 0.0,
            "response_format": {"type": "json_schema", "json_schema": {"schema": ANSWER_SCHEMA}},
        }
        if before is not None:
            body["search_before_date_filter"] = before.strftime(SEARCH_DATE_FORMAT)
        return body

    def score_one(self, text: str, symbol: str | None = None, before: date | None = None) -> LlmPolarity:
        if self.stopped:
            return LlmPolarity(status="skipped", detail=self.stopped)
        if self.calls >= self.max_calls:
            return LlmPolarity(status="skipped", detail=f"LLM call budget of {self.max_calls} per run spent")
        self.calls += 1
        try:
            response = post_chat_completion(
                self._client,
                self.base_url,
                self._key,
                self.request_body(text, symbol, before),
                self.timeout_s,
            )
        except httpx.TimeoutException:
            return self._failed(f"timeout after {self.timeout_s:g}s")
        except httpx.HTTPError as exc:
            return self._failed(f"network error: {type(exc).__name__}")
        if response.status_code == 429:
            self.stopped = f"rate limited: {_http_error_detail(response)}"
            return self._failed(self.stopped)
        if response.status_code in (401, 403):
            self.stopped = f"not authorised: HTTP {response.status_code}"
            return self._failed(self.stopped)
        if response.status_code >= 400:
            return self._failed(_http_error_detail(response))
        try:
            payload = response.json()
        except ValueError:
            return self._failed("response body is not JSON")
        result = parse_chat_completion(payload)
        if result.status == "ok":
            self.failures_in_row = 0
            obtained = self._clock().astimezone(UTC).isoformat()
            return LlmPolarity(**{**result.__dict__, "obtained_ts": obtained})
        return self._failed(result.detail)

    def score(
        self,
        texts: list[str],
        symbols: list[str | None] | None = None,
        befores: list[date | None] | None = None,
    ) -> list[LlmPolarity]:
        symbols = symbols if symbols is not None else [None] * len(texts)
        befores = befores if befores is not None else [None] * len(texts)
        return [self.score_one(t, s, b) for t, s, b in zip(texts, symbols, befores, strict=True)]

    def _failed(self, detail: str) -> LlmPolarity:
        self.failures_in_row += 1
        if self.stopped is None and self.failures_in_row >= self.max_consecutive_failures:
            self.stopped = f"{self.failures_in_row} LLM failures in a row, last: {detail}"
        return _error(detail)

    def close(self) -> None:
        self._client.close()
