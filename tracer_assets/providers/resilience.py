"""The resilience layer every real client shares: error types, retries with backoff, circuit breakers.

- ``RetryableError`` (timeouts, connection errors, 429, 5xx) is retried with exponential backoff and
  jitter, or after the server's Retry-After (capped by ``retry_after_max_s``); ``FatalError`` (other
  4xx, a malformed body) is not.
- Each outside service has one ``CircuitBreaker`` in the ``BreakerRegistry``, whose state lives in a
  SQLite file every worker process shares (``TRACER_BREAKER_STORE``), so a service that failed for
  one asset is skipped by the next asset, in this process or another, until its cool-down passes.
- ``Resilience.call`` turns exhausted retries or fatal errors into ``ProviderUnavailable`` and an open
  breaker into ``ProviderSkipped``; the clients catch both and report a degraded ``FetchResult``.

Sleep, clock and randomness are injectable, so tests never really wait.
"""

from __future__ import annotations

import email.utils
import json
import logging
import os
import random
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
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


@dataclass
class BreakerState:
    """What a breaker remembers; the store keeps it per service name."""

    failures: int = 0
    opened_at: float | None = None  # wall-clock seconds when it (re)opened; None while closed
    trial_at: float | None = None  # when the half-open trial was let through; None when none is in flight
    cooldown_s: float = 0.0  # so another process can tell open from half-open


class MemoryBreakerStore:
    """Breaker state for this process only (threads share it)."""

    key = "memory"

    def __init__(self) -> None:
        self._states: dict[str, BreakerState] = {}
        self._lock = threading.RLock()

    @contextmanager
    def edit(self, name: str) -> Iterator[BreakerState]:
        """The state of ``name`` to change in place, under the store's lock."""
        with self._lock:
            yield self._states.setdefault(name, BreakerState())

    def load(self, name: str) -> BreakerState:
        with self._lock:
            return replace(self._states.get(name) or BreakerState())

    def all(self) -> dict[str, BreakerState]:
        with self._lock:
            return {name: replace(state) for name, state in self._states.items()}

    def clear(self) -> None:
        with self._lock:
            self._states.clear()


class SqliteBreakerStore:
    """Breaker state shared by every process on the machine: one SQLite file in WAL mode.

    Each change is one ``BEGIN IMMEDIATE`` transaction, which takes SQLite's write lock on the file,
    so two workers updating the same breaker queue instead of overwriting each other.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path).absolute()
        self.key = str(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute(
                "CREATE TABLE IF NOT EXISTS breakers (name TEXT PRIMARY KEY, failures INTEGER NOT NULL, "
                "opened_at REAL, trial_at REAL, cooldown_s REAL NOT NULL)"
            )

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30.0, isolation_level=None)

    @staticmethod
    def _state(row: tuple | None) -> BreakerState:
        return BreakerState(*row) if row else BreakerState()

    @contextmanager
    def edit(self, name: str) -> Iterator[BreakerState]:
        with closing(self._connect()) as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                row = con.execute(
                    "SELECT failures, opened_at, trial_at, cooldown_s FROM breakers WHERE name = ?", (name,)
                ).fetchone()
                state = self._state(row)
                yield state
                con.execute(
                    "INSERT OR REPLACE INTO breakers VALUES (?, ?, ?, ?, ?)",
                    (name, state.failures, state.opened_at, state.trial_at, state.cooldown_s),
                )
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    def load(self, name: str) -> BreakerState:
        with closing(self._connect()) as con:
            row = con.execute(
                "SELECT failures, opened_at, trial_at, cooldown_s FROM breakers WHERE name = ?", (name,)
            ).fetchone()
        return self._state(row)

    def all(self) -> dict[str, BreakerState]:
        with closing(self._connect()) as con:
            rows = con.execute(
                "SELECT name, failures, opened_at, trial_at, cooldown_s FROM breakers"
            ).fetchall()
        return {row[0]: self._state(row[1:]) for row in rows}

    def clear(self) -> None:
        with closing(self._connect()) as con:
            con.execute("DELETE FROM breakers")


BreakerStore = MemoryBreakerStore | SqliteBreakerStore


def state_name(state: BreakerState, now: float) -> str:
    """``closed``, ``open`` or ``half_open`` (a trial in flight, or the cool-down has passed)."""
    if state.opened_at is None:
        return "closed"
    if _trial_in_flight(state, now) or now - state.opened_at >= state.cooldown_s:
        return "half_open"
    return "open"


def _trial_in_flight(state: BreakerState, now: float) -> bool:
    # a trial older than a cool-down is taken as lost (its worker died): another may be let through
    return state.trial_at is not None and now - state.trial_at < state.cooldown_s


class CircuitBreaker:
    """Opens after ``threshold`` consecutive failures; after ``cooldown_s`` lets one trial call through.

    States: ``closed`` (calls flow), ``open`` (calls skipped), ``half_open`` (one trial in flight:
    success closes, failure re-opens for another cool-down). The state lives in ``store``: this
    process only by default, or a SQLite file every worker shares.
    """

    def __init__(
        self,
        name: str,
        threshold: int,
        cooldown_s: float,
        clock: Callable[[], float] = time.time,
        store: BreakerStore | None = None,
    ):
        self.name = name
        self.threshold = threshold
        self.cooldown_s = cooldown_s
        self.clock = clock
        self.store = store if store is not None else MemoryBreakerStore()

    @contextmanager
    def _edit(self) -> Iterator[BreakerState]:
        with self.store.edit(self.name) as state:
            state.cooldown_s = self.cooldown_s
            yield state

    @property
    def failures(self) -> int:
        return self.store.load(self.name).failures

    @property
    def opened_at(self) -> float | None:
        return self.store.load(self.name).opened_at

    @property
    def state(self) -> str:
        return state_name(replace(self.store.load(self.name), cooldown_s=self.cooldown_s), self.clock())

    def allow(self) -> bool:
        """May a request be sent now? In half-open state only one trial is let through."""
        with self._edit() as st:
            if st.opened_at is None:
                return True
            now = self.clock()
            if _trial_in_flight(st, now):
                return False
            if now - st.opened_at >= self.cooldown_s:
                st.trial_at = now
                return True
            return False

    def retry_in(self) -> float:
        opened_at = self.opened_at
        if opened_at is None:
            return 0.0
        return max(0.0, self.cooldown_s - (self.clock() - opened_at))

    def record_success(self) -> None:
        with self._edit() as st:
            st.failures, st.opened_at, st.trial_at = 0, None, None

    def record_failure(self) -> None:
        with self._edit() as st:
            st.failures += 1
            trial = st.trial_at is not None
            if trial or st.failures >= self.threshold:
                if st.opened_at is None or trial:
                    log.warning(
                        "circuit breaker %s opens after %d consecutive failures", self.name, st.failures
                    )
                st.opened_at = self.clock()
                st.trial_at = None

    def release_trial(self) -> None:
        """A trial that ended neither in success nor in failure (e.g. a 400) frees the slot."""
        with self._edit() as st:
            st.trial_at = None


class BreakerRegistry:
    """One breaker per service name over one store; the module-level ``BREAKERS`` serves the process
    and is pointed at the shared store the settings name (``breaker_store``) when clients are built."""

    def __init__(self, store: BreakerStore | None = None) -> None:
        self.store: BreakerStore = store if store is not None else MemoryBreakerStore()
        self._breakers: dict[str, CircuitBreaker] = {}
        self._lock = threading.Lock()

    def use(self, store: BreakerStore) -> None:
        """Keep state in ``store`` from now on (a no-op when it is the store already in use)."""
        with self._lock:
            if store.key != self.store.key:
                self.store = store
                self._breakers.clear()

    def get(
        self, name: str, threshold: int, cooldown_s: float, clock: Callable[[], float] = time.time
    ) -> CircuitBreaker:
        with self._lock:
            if name not in self._breakers:
                self._breakers[name] = CircuitBreaker(name, threshold, cooldown_s, clock, self.store)
            return self._breakers[name]

    def states(self) -> dict[str, str]:
        """Every breaker the store knows, including those other workers opened."""
        now = time.time()
        with self._lock:
            local = dict(self._breakers)
        states = {name: state_name(st, now) for name, st in self.store.all().items()}
        states |= {name: b.state for name, b in local.items()}  # their clocks may be injected
        return states

    def reset(self) -> None:
        with self._lock:
            self._breakers.clear()
            self.store.clear()


BREAKERS = BreakerRegistry()

_MEMORY = BREAKERS.store


def breaker_store_path(settings: TracerSettings) -> Path | None:
    """The SQLite file ``breaker_store`` names; None for ``memory``.

    ``auto``: ``<lake>/_control/breakers.sqlite`` for a local lake, else under ``DAGSTER_HOME``,
    else ``.tracer_cache/`` in the working directory.
    """
    choice = settings.scale.breaker_store.strip()
    if choice == "memory":
        return None
    if choice != "auto":
        return Path(choice)
    if "://" not in settings.lake.lake_root or settings.lake.lake_root.startswith("file://"):
        return Path(settings.lake.lake_root.removeprefix("file://")) / "_control" / "breakers.sqlite"
    if os.environ.get("DAGSTER_HOME"):
        return Path(os.environ["DAGSTER_HOME"]) / "tracer" / "breakers.sqlite"
    return Path(".tracer_cache") / "breakers.sqlite"


def shared_breakers(settings: TracerSettings) -> BreakerRegistry:
    """``BREAKERS``, pointed at the store the settings name (shared by every worker process)."""
    path = breaker_store_path(settings)
    BREAKERS.use(_MEMORY if path is None else SqliteBreakerStore(path))
    return BREAKERS


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
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        breakers: BreakerRegistry | None = None,
        redactor: Redactor | None = None,
    ):
        self.settings = settings
        self.sleep = sleep
        self.clock = clock  # wall clock: breaker times are compared across worker processes
        self.rng = rng or random.Random()
        self.breakers = breakers if breakers is not None else shared_breakers(settings)
        self.redactor = redactor or Redactor.from_settings(settings)
        self.attempts = 0  # requests sent through this object, for run metadata

    def breaker(self, service: str) -> CircuitBreaker:
        return self.breakers.get(
            service,
            self.settings.providers.breaker_failure_threshold,
            self.settings.providers.breaker_cooldown_s,
            self.clock,
        )

    def wait_seconds(self, attempt: int, error: BaseException | None) -> float:
        """How long to wait before attempt ``attempt + 1``: the server's wish if any, else backoff."""
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            return min(float(retry_after), self.settings.providers.retry_after_max_s)
        return backoff_seconds(
            attempt,
            self.settings.providers.retry_backoff_base_s,
            self.settings.providers.retry_backoff_max_s,
            self.rng,
        )

    def call(self, service: str, attempt: Callable[[], T], what: str, *, idempotent: bool = False) -> T:
        """Run ``attempt`` (one request) with retries under ``service``'s breaker.

        A malformed 2xx body (``PayloadError``) is tried again, up to ``retry_malformed_attempts``, only
        when the request is ``idempotent`` (a read): a write whose answer was cut off may have happened.
        Raises ``ProviderSkipped`` when the breaker is open and ``ProviderUnavailable`` when the
        call failed for good; the message names the service and what was being fetched.
        """
        breaker = self.breaker(service)
        max_attempts = self.settings.providers.retry_max_attempts
        malformed_attempts = (
            min(self.settings.providers.retry_malformed_attempts, max_attempts) if idempotent else 1
        )

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
