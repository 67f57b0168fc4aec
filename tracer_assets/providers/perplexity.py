"""Perplexity chat completions with structured output: the request, and reading the answer back.

The JSON answer arrives as a string in ``choices[0].message.content`` (reasoning models prefix a
``<think>`` block; ``finish_reason == "length"`` means it was cut at ``max_tokens``). Sources come
in ``citations`` (URLs) and ``search_results`` (title, url, date, ...): ``answer_sources`` merges both.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from tracer_assets.providers.http import LiveProvider
from tracer_assets.providers.raw_zone import RawRecord
from tracer_assets.providers.resilience import ProviderConfigError
from tracer_assets.settings import TracerSettings

PERPLEXITY_SERVICE = "perplexity"  # breaker key, shared by news and market discovery
_THINK = re.compile(r"<think>.*?</think>", re.S | re.I)
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.S)


class AnswerError(ValueError):
    """The completion has no usable JSON answer (missing, truncated or not JSON)."""


def answer_json(payload: Any) -> Any:
    """The structured answer of a chat completion, decoded; ``AnswerError`` says why it is unusable."""
    if not isinstance(payload, dict):
        raise AnswerError(f"schema drift: completion is a {type(payload).__name__}, not an object")
    choices = payload.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise AnswerError("schema drift: no choices in completion")
    choice = choices[0]
    content = (choice.get("message") or {}).get("content")
    if not isinstance(content, str) or not content.strip():
        raise AnswerError("schema drift: empty message content")
    text = _THINK.sub("", content).strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1)
    try:
        return json.loads(text)
    except ValueError as exc:
        if choice.get("finish_reason") == "length":
            raise AnswerError("answer truncated at max_tokens") from None
        raise AnswerError(f"answer is not JSON: {exc}") from None


def answer_sources(payload: Any) -> list[dict[str, Any]]:
    """``citations`` and ``search_results`` merged into one list of {url, title, date, source}."""
    if not isinstance(payload, dict):
        return []
    sources: dict[str, dict[str, Any]] = {}
    for item in payload.get("search_results") or []:
        if isinstance(item, dict) and isinstance(item.get("url"), str):
            sources[item["url"]] = {
                "url": item["url"],
                "title": item.get("title"),
                "date": item.get("date") or item.get("last_updated"),
                "source": item.get("source"),
            }
    for url in payload.get("citations") or []:
        if isinstance(url, str) and url not in sources:
            sources[url] = {"url": url, "title": None, "date": None, "source": None}
    return list(sources.values())


def perplexity_key(settings: TracerSettings) -> str:
    key = (
        settings.providers.perplexity_api_key.get_secret_value()
        if settings.providers.perplexity_api_key
        else ""
    )
    if not key:
        raise ProviderConfigError("Perplexity needs TRACER_PERPLEXITY_API_KEY")
    return key


class PerplexityClient:
    """Sends structured-output chat completions and returns the stored raw record."""

    def __init__(self, provider: LiveProvider, transport: httpx.BaseTransport | None = None):
        self.settings = provider.settings
        self.caller = provider.http_caller(
            PERPLEXITY_SERVICE,
            self.settings.providers.perplexity_url,
            timeout_s=self.settings.providers.perplexity_timeout_s,
            headers={
                "Authorization": f"Bearer {perplexity_key(self.settings)}",
                "Accept": "application/json",
            },
            transport=transport,
        )

    def ask(
        self,
        raw_provider: str,
        system: str,
        user: str,
        schema: dict[str, Any],
        *,
        day: str,
        fetch_id: str,
        seq: int,
        what: str,
        context: dict[str, Any],
    ) -> RawRecord:
        body: dict[str, Any] = {
            "model": self.settings.providers.perplexity_model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "max_tokens": self.settings.providers.perplexity_max_tokens,
            "temperature": 0.0,
            "response_format": {"type": "json_schema", "json_schema": {"schema": schema}},
        }
        if self.settings.providers.perplexity_recency_filter:
            body["search_recency_filter"] = self.settings.providers.perplexity_recency_filter
        # The prompt is part of what a re-parse needs to judge the answer: keep it with the response.
        request_meta = {"model": body["model"], "user": user, "recency": body.get("search_recency_filter")}
        return self.caller.request(
            raw_provider,
            "POST",
            "/chat/completions",
            day=day,
            fetch_id=fetch_id,
            seq=seq,
            what=what,
            json_body=body,
            context={**context, "request": request_meta},
        )
