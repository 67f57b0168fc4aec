"""The resilience layer every real client shares: error types, retries with backoff, circuit breakers.

- ``RetryableError`` (timeouts, connection errors, 429, 5xx) is retried with exponential backoff and
  jitter, or after the server's Retry-After (capped by ``retry_after_max_s``); ``FatalError`` (other
  4xx, a malformed body) is not.
- Each outside service has one ``CircuitBreaker`` in a process-level ``BreakerRegistry``, so a service
  that failed for one asset is skipped by the next asset of the same run until its cool-down passes.
- ``Resilience.call`` turns exhausted retries or fatal errors into ``ProviderUnavailable`` and an open
  breaker into ``ProviderSkipped``; the clients catch both and report a degraded ``FetchResult``.

Sleep, clock and randomness are injectable, so tests never really wait.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import tenacity

from tracer_assets.providers.redact import Redactor
from tracer_assets.settings import TracerSettings

log = logging.getLogger("tracer_assets.providers")
T = TypeVar("T")


# ---- error types ----------------------------------------------------------------------------


class ProviderError(Exception):
    """A failure talking to one outside service; ``reason`` is already redacted."""

    def __init__(self, provider: str, reason: str):
        super().__init__(f"{provider}: {reason}")
        self.provider = provider
        self.reason = reason


class RetryableError(ProviderError):
    """Worth another attempt: timeout, connection error, HTTP 429 or 5xx."""

    def __init__(
        self, provider: str, reason: str, status: int | None = None, retry_after: float | None = None
    ):
        super().__init__(provider, reason)
        self.status = status
        self.retry_after = retry_after


class FatalError(ProviderError):
    """Not worth retrying: another 4xx, or a body that cannot be decoded.

    ``counts_as_failure`` says whether the breaker should count it: a malformed body means the
    service misbehaves; a 400 means our request was wrong and the service is up.
    """

    def __init__(
        self,
        provider: str,
        reason: str,
        status: int | None = None,
        counts_as_failure: bool = False,
        record: Any = None,
    ):
        super().__init__(provider, reason)
        self.status = status
        self.counts_as_failure = counts_as_failure
        self.record = record  # the RawRecord received, when there was one


class PayloadError(FatalError):
    """A 2xx response whose body is not the JSON we expect (malformed, truncated, HTML)."""

    def __init__(self, provider: str, reason: str, record: Any = None):
        super().__init__(
            provider, reason, status=getattr(record, "status", None), counts_as_failure=True, record=record
        )


class ProviderUnavailable(ProviderError):
    """The call failed for good (retries exhausted or a fatal error): the caller degrades."""

    def __init__(self, provider: str, reason: str, status: int | None = None, record: Any = None):
        super().__init__(provider, reason)
        self.status = status
        self.record = record


class ProviderSkipped(ProviderUnavailable):
    """The service's circuit breaker is open: no request was sent."""


class ProviderConfigError(ValueError):
    """A real provider is selected but a setting it needs (a key, a URL) is missing or wrong."""


# ---- response classification -------------------------------------------------------------------


def parse_retry_after(
    headers: Mapping[str, str] | None, body: bytes | str | None = None, now: float | None = None
) -> float | None:
    """Seconds the server asks us to wait: Telegram's ``parameters.retry_after``, else ``Retry-After``.

    ``Retry-After`` may be a number of seconds or an HTTP date. Returns None when neither is given.
    """
    payload = _json_or_none(body)
    if isinstance(payload, dict):
        params = payload.get("parameters")
        if isinstance(params, dict) and isinstance(params.get("retry_after"), int | float):
            return max(0.0, float(params["retry_after"]))
    value = None
    for key, val in (headers or {}).items():
        if key.lower() == "retry-after":
            value = str(val).strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


def error_detail(body: bytes | str | None, content_type: str = "", limit: int = 200) -> str:
    """A short, readable reason from an error body, whatever its shape (JSON or an HTML page)."""
    payload = _json_or_none(body)
    if isinstance(payload, dict):
        for key in ("description", "errorMsg", "message", "detail", "error"):
            value = payload.get(key)
            if isinstance(value, dict):
                value = value.get("message") or value.get("type") or json.dumps(value)[:limit]
            if value:
                return str(value)[:limit]
        return json.dumps(payload)[:limit]
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
    if not text.strip():
        return "empty body"
    title = re.search(r"<title[^>]*>(.*?)</title>", text, re.I | re.S)
    plain = title.group(1) if title else re.sub(r"<[^>]+>", " ", text)
    plain = re.sub(r"\s+", " ", plain).strip()
    kind = content_type.split(";")[0].strip() or "unknown type"
    return f"non-JSON body ({kind}): {plain[:limit]}"


def classify_status(
    provider: str,
    status: int,
    headers: Mapping[str, str] | None,
    body: bytes | None,
    redactor: Redactor,
    record: Any = None,
) -> None:
    """Raise the right error for a non-2xx status; return quietly on success."""
    if 200 <= status < 300:
        return
    content_type = next((v for k, v in (headers or {}).items() if k.lower() == "content-type"), "")
    reason = redactor.text(f"HTTP {status}: {error_detail(body, content_type)}")
    if status == 429 or status == 408 or status >= 500:
        raise RetryableError(provider, reason, status=status, retry_after=parse_retry_after(headers, body))
    raise FatalError(provider, reason, status=status, counts_as_failure=False, record=record)


def _json_or_none(body: bytes | str | None) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, TypeError):
        return None


# ---- circuit breaker ------------------------------------------------------------------------


class CircuitBreaker:
    """Opens after ``threshold`` consecutive failures; after ``cooldown_s`` lets one trial call through.

    States: ``closed`` (calls flow), ``open`` (calls skipped), ``half_open`` (one trial in flight:
    success closes, failure re-opens for another cool-down).
    """

    def __init__(
        self, name: str, threshold: int, cooldown_s: float, clock: Callable[[], float] = time.monotonic
    ):
        self.name = name
        self.threshold = threshold
        self.cooldown_s = cooldown_s
        self.clock = clock
        self.failures = 0
        self.opened_at: float | None = None
        self._trial = False
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        if self._trial or self.clock() - self.opened_at >= self.cooldown_s:
            return "half_open"
        return "open"

    def allow(self) -> bool:
        """May a request be sent now? In half-open state only one trial is let through."""
        with self._lock:
            if self.opened_at is None:
                return True
            if self._trial:
                return False
            if self.clock() - self.opened_at >= self.cooldown_s:
                self._trial = True
                return True
            return False

    def retry_in(self) -> float:
        if self.opened_at is None:
            return 0.0
        return max(0.0, self.cooldown_s - (self.clock() - self.opened_at))

    def record_success(self) -> None:
        with self._lock:
            self.failures = 0
            self.opened_at = None
            self._trial = False

    def record_failure(self) -> None:
        with self._lock:
            self.failures += 1
            if self._trial or self.failures >= self.threshold:
                if self.opened_at is None or self._trial:
                    log.warning(
                        "circuit breaker %s opens after %d consecutive failures", self.name, self.failures
                    )
                self.opened_at = self.clock()
                self._trial = False

    def release_trial(self) -> None:
        """A trial that ended neither in success nor in failure (e.g. a 400) frees the slot."""
        with self._lock:
            self._trial = False


class BreakerRegistry:
    """One breaker per service name; the module-level ``BREAKERS`` lives for the whole process."""

    def __init__(self) -> None:
        self._breakers: dict[str, CircuitBreaker] = {}
        self._lock = threading.Lock()

    def get(
        self, name: str, threshold: int, cooldown_s: float, clock: Callable[[], float] = time.monotonic
    ) -> CircuitBreaker:
        with self._lock:
            if name not in self._breakers:
                self._breakers[name] = CircuitBreaker(name, threshold, cooldown_s, clock)
            return self._breakers[name]

    def states(self) -> dict[str, str]:
        return {name: b.state for name, b in self._breakers.items()}

    def reset(self) -> None:
        with self._lock:
            self._breakers.clear()


BREAKERS = BreakerRegistry()


# ---- retries ---------------------------------------------------------------------------------


def backoff_seconds(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with 'equal jitter': half of min(cap, base * 2^(attempt-1)) fixed, half random."""
    exp = min(cap, base * (2 ** max(0, attempt - 1)))
    return exp / 2 + rng.uniform(0, exp / 2)


class Resilience:
    """Retries, backoff and breakers for one process, configured from the settings."""

    def __init__(
        self,
        settings: TracerSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        breakers: BreakerRegistry = BREAKERS,
        redactor: Redactor | None = None,
    ):
        self.settings = settings
        self.sleep = sleep
        self.clock = clock
        self.rng = rng or random.Random()
        self.breakers = breakers
        self.redactor = redactor or Redactor.from_settings(settings)
        self.attempts = 0  # requests sent through this object, for run metadata

    def breaker(self, service: str) -> CircuitBreaker:
        return self.breakers.get(
            service, self.settings.breaker_failure_threshold, self.settings.breaker_cooldown_s, self.clock
        )

    def wait_seconds(self, attempt: int, error: BaseException | None) -> float:
        """How long to wait before attempt ``attempt + 1``: the server's wish if any, else backoff."""
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            return min(float(retry_after), self.settings.retry_after_max_s)
        return backoff_seconds(
            attempt, self.settings.retry_backoff_base_s, self.settings.retry_backoff_max_s, self.rng
        )

    def call(self, service: str, attempt: Callable[[], T], what: str, *, idempotent: bool = False) -> T:
        """Run ``attempt`` (one request) with retries under ``service``'s breaker.

        A malformed 2xx body (``PayloadError``) is tried again, up to ``retry_malformed_attempts``, only
        when the request is ``idempotent`` (a read): a write whose answer was cut off may have happened.
        Raises ``ProviderSkipped`` when the breaker is open and ``ProviderUnavailable`` when the
        call failed for good; the message names the service and what was being fetched.
        """
        breaker = self.breaker(service)
        max_attempts = self.settings.retry_max_attempts
        malformed_attempts = min(self.settings.retry_malformed_attempts, max_attempts) if idempotent else 1

        def worth_another(state: tenacity.RetryCallState) -> bool:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, PayloadError):
                return state.attempt_number < malformed_attempts
            return isinstance(exc, RetryableError)

        def one_attempt() -> T:
            if not breaker.allow():
                raise ProviderSkipped(
                    service,
                    f"{what}: skipped, circuit open after {breaker.failures} consecutive failures "
                    f"(trial in {breaker.retry_in():.0f}s)",
                )
            self.attempts += 1
            try:
                result = attempt()
            except RetryableError:
                breaker.record_failure()
                raise
            except FatalError as exc:
                if exc.counts_as_failure:
                    breaker.record_failure()
                else:
                    breaker.release_trial()
                raise
            except Exception:
                breaker.record_failure()
                raise
            breaker.record_success()
            return result

        def log_retry(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.info(
                "%s: %s attempt %d failed (%s), retrying",
                service,
                what,
                state.attempt_number,
                self.redactor.text(exc),
            )

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(max_attempts),
            wait=lambda state: self.wait_seconds(
                state.attempt_number, state.outcome.exception() if state.outcome else None
            ),
            retry=worth_another,
            sleep=self.sleep,
            before_sleep=log_retry,
            reraise=True,
        )
        try:
            return retrying(one_attempt)
        except ProviderSkipped:
            raise
        except RetryableError as exc:
            raise ProviderUnavailable(
                service,
                self.redactor.text(f"{what}: gave up after {max_attempts} attempts: {exc.reason}"),
                exc.status,
            ) from None
        except FatalError as exc:
            raise ProviderUnavailable(
                service, self.redactor.text(f"{what}: {exc.reason}"), exc.status, exc.record
            ) from None
        except Exception as exc:  # a bug or an unexpected library error: still degrade, never leak
            raise ProviderUnavailable(
                service, self.redactor.text(f"{what}: unexpected {type(exc).__name__}: {exc}")
            ) from None
