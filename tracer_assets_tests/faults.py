"""Fault injection at the provider boundary, through the real resilience layer (burn-in, tests).

``FaultyProvider`` wraps any provider (the sim world in the burn-in) and, for each request attempt,
draws a fault at ``rate``: a timeout, a 5xx, a 429 with Retry-After, a malformed body, a drip that
runs into the total deadline, or an empty 200 answer. The attempts go through ``Resilience.call``
exactly as the real HTTP clients' do (retries with backoff, breakers), and a call that fails for good
becomes a degraded ``FetchResult``, as the real clients report it.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pandas as pd

from tracer_assets.providers.resilience import (
    PayloadError,
    ProviderUnavailable,
    Resilience,
    RetryableError,
)
from tracer_assets.providers.results import FetchResult

FAULT_KINDS = ("timeout", "http_5xx", "http_429", "malformed", "drip", "empty")
RETRY_AFTER_S = 2.0


class FaultInjector:
    """Seeded draws: does this attempt fail, and how. Counts what it injected."""

    def __init__(self, rate: float, seed: int, kinds: tuple[str, ...] = FAULT_KINDS):
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"fault rate must be in [0, 1], got {rate}")
        self.rate = rate
        self.kinds = kinds
        self.rng = random.Random(seed)
        self.injected: Counter = Counter()
        self.attempts = 0

    def draw(self) -> str | None:
        self.attempts += 1
        if self.rng.random() >= self.rate:
            return None
        kind = self.rng.choice(self.kinds)
        self.injected[kind] += 1
        return kind


class FaultyProvider:
    """A provider whose fetches go through ``resilience`` with faults from ``injector``."""

    def __init__(self, inner: Any, service: str, resilience: Resilience, injector: FaultInjector):
        self.inner = inner
        self.service = service
        self.name = f"{service}-faulty"
        self.resilience = resilience
        self.injector = injector
        self.calls = 0

    def __getattr__(self, name: str) -> Any:  # anything else (e.g. the sim's truth) from the inner one
        return getattr(self.inner, name)

    def _attempt(self, method: str, args: tuple) -> pd.DataFrame:
        fault = self.injector.draw()
        if fault == "timeout":
            raise RetryableError(self.service, "timeout (ReadTimeout)")
        if fault == "drip":
            raise RetryableError(self.service, "total deadline exceeded while the body dripped in")
        if fault == "http_5xx":
            raise RetryableError(self.service, "HTTP 503: upstream unavailable", status=503)
        if fault == "http_429":
            raise RetryableError(
                self.service, "HTTP 429: rate limited", status=429, retry_after=RETRY_AFTER_S
            )
        if fault == "malformed":
            raise PayloadError(self.service, "body is not JSON: '<html>Bad gateway'")
        frame = getattr(self.inner, method)(*args)
        return frame.iloc[0:0] if fault == "empty" else frame

    def _fetch(self, method: str, *args: Any) -> FetchResult:
        self.calls += 1
        try:
            frame = self.resilience.call(
                self.service, lambda: self._attempt(method, args), method, idempotent=True
            )
        except ProviderUnavailable as exc:
            empty = getattr(self.inner, method)(*args).iloc[0:0]
            return FetchResult(provider=self.name, frame=empty, degraded=True, reasons=[exc.reason])
        return FetchResult(provider=self.name, frame=frame)

    def fetch_bars_result(self, *args: Any) -> FetchResult:
        return self._fetch("fetch_bars", *args)

    def fetch_narratives_result(self, *args: Any) -> FetchResult:
        return self._fetch("fetch_narratives", *args)

    def fetch_markets_result(self, *args: Any) -> FetchResult:
        return self._fetch("fetch_markets", *args)

    def fetch_bars(self, *args: Any) -> pd.DataFrame:
        return self.fetch_bars_result(*args).frame

    def fetch_narratives(self, *args: Any) -> pd.DataFrame:
        return self.fetch_narratives_result(*args).frame

    def fetch_markets(self, *args: Any) -> pd.DataFrame:
        return self.fetch_markets_result(*args).frame
