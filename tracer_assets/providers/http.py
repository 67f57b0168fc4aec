"""One httpx-based request path for Perplexity, Polymarket and Telegram: resilience, then raw zone.

``HttpCaller.request`` sends one request under the service's breaker and retry policy; every
response that arrives (errors included) is stored in the raw zone before it is classified, and a
2xx body must decode as JSON or it is a ``PayloadError``. It returns the stored ``RawRecord``.
Each attempt has an overall deadline (``http_deadline_s``) beyond httpx's per-read timeouts: a
server that drips bytes (in its headers or its body) is cut off there, and the attempt counts as a
timeout for the resilience layer. ``land_response`` is the store-then-classify step, and
``LiveProvider`` the state every real provider holds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

from tracer_assets.clock import utc_now
from tracer_assets.providers.raw_zone import RawDecodeError, RawRecord, RawZone
from tracer_assets.providers.redact import Redactor, install_log_redaction
from tracer_assets.providers.resilience import PayloadError, Resilience, RetryableError, classify_status
from tracer_assets.providers.results import FetchResult, LiveFetch
from tracer_assets.settings import TracerSettings


class LiveProvider:
    """What every real provider holds: settings, redactor, resilience, raw zone, clock, last result.

    ``resilience``, ``raw_zone`` and ``redactor`` are those given (the registry shares one breaker
    registry across clients; tests pass a fake clock), else built from ``settings``; ``transport``
    (tests: ``httpx.MockTransport``) is what its HTTP callers send through, the network when None.
    """

    name: str
    raw_provider: str  # the raw-zone folder of its responses, and its quarantine rows' provider

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
        self.settings = settings
        self.transport = transport
        self.redactor = redactor or Redactor.from_settings(settings)
        self.resilience = resilience or Resilience(settings, redactor=self.redactor)
        self.raw_zone = raw_zone or RawZone(lake_root, settings.providers.raw_zone_enabled, self.redactor)
        self.now = now
        self.last_result: FetchResult | None = None

    def start_fetch(self, window: tuple[pd.Timestamp, pd.Timestamp] | None = None) -> LiveFetch:
        """The bookkeeping of one fetch (quarantine, degraded reasons, requests sent)."""
        return LiveFetch(self.name, self.raw_provider, self.settings, self.redactor, self.resilience, window)

    def http_caller(
        self,
        service: str,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout_s: float | None = None,
    ) -> HttpCaller:
        """An ``HttpCaller`` on this provider's resilience, raw zone, redactor, clock and deadline."""
        return HttpCaller.for_settings(
            self.settings,
            service=service,
            base_url=base_url,
            resilience=self.resilience,
            raw_zone=self.raw_zone,
            redactor=self.redactor,
            headers=headers,
            transport=transport or self.transport,
            timeout_s=timeout_s,
            now=self.now,
        )


class DeadlineExceeded(Exception):
    """No whole answer within the overall deadline of one request."""


def within_deadline(work: Callable[[], Any], deadline_s: float) -> Any:
    """``work()``, or ``DeadlineExceeded`` once ``deadline_s`` has passed without its answer.

    The work runs on a daemon thread: a blocking read that drips (one byte per read, each inside the
    read timeout) cannot hold the caller past the deadline. The abandoned thread ends at its next
    read (``work`` checks the deadline between chunks) or at the read timeout.
    """
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = work()
        except BaseException as exc:  # handed to the caller's thread as is
            box["error"] = exc

    worker = threading.Thread(target=run, name="tracer-http-deadline", daemon=True)
    worker.start()
    worker.join(deadline_s)
    if worker.is_alive():
        raise DeadlineExceeded(f"no whole answer within {deadline_s:g}s")
    if "error" in box:
        raise box["error"]
    return box["value"]


def land_response(
    service: str,
    raw_zone: RawZone,
    redactor: Redactor,
    raw_provider: str,
    *,
    status: int,
    body: bytes,
    headers: Mapping[str, str],
    **request: Any,
) -> RawRecord:
    """Store one response in the raw zone, then classify it: the stored 2xx record, or an error.

    ``request`` holds ``RawZone.store``'s request metadata (day, fetch_id, seq, endpoint, method,
    params, fetched_at, context). An error status raises per ``classify_status``; a 2xx body that is
    not JSON raises ``PayloadError`` carrying the record, so the caller can quarantine it.
    """
    record = raw_zone.store(raw_provider, status=status, body=body, headers=headers, **request)
    classify_status(service, status, headers, body, redactor, record)
    try:
        record.json()
    except RawDecodeError as exc:
        raise PayloadError(service, redactor.text(str(exc)), record) from None
    return record


class HttpCaller:
    """Requests to one base URL of one service (breaker key ``service``), stored as ``raw_provider``."""

    def __init__(
        self,
        *,
        service: str,
        base_url: str,
        resilience: Resilience,
        raw_zone: RawZone,
        redactor: Redactor,
        timeout_s: float,
        deadline_s: float,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        now: Callable[[], pd.Timestamp] = utc_now,
    ):
        self.service = service
        self.resilience = resilience
        self.raw_zone = raw_zone
        self.redactor = redactor
        self.now = now
        self.deadline_s = deadline_s
        install_log_redaction(redactor)  # httpx logs each request URL (Telegram's holds the token)
        self._client_args = dict(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout_s),
            headers=dict(headers or {}),
            transport=transport,
            follow_redirects=False,
        )
        self.client = httpx.Client(**self._client_args)

    @classmethod
    def for_settings(
        cls,
        settings: TracerSettings,
        *,
        timeout_s: float | None = None,
        **parts: Any,
    ) -> HttpCaller:
        """A caller with the settings' per-read timeout (unless ``timeout_s``) and overall deadline."""
        return cls(
            timeout_s=settings.providers.http_timeout_s if timeout_s is None else timeout_s,
            deadline_s=settings.safety.http_deadline_s,
            **parts,
        )

    def _send(
        self, method: str, path: str, params: Mapping[str, Any], json_body: Any
    ) -> tuple[int, bytes, httpx.Headers]:
        """Status, whole body and headers of one exchange, within the overall deadline."""
        client = self.client
        cutoff = time.monotonic() + self.deadline_s

        def exchange() -> tuple[int, bytes, httpx.Headers]:
            with client.stream(method, path, params=params or None, json=json_body) as response:
                chunks = []
                for chunk in response.iter_bytes():
                    chunks.append(chunk)
                    if time.monotonic() > cutoff:
                        raise DeadlineExceeded(f"body still arriving after {self.deadline_s:g}s")
                return response.status_code, b"".join(chunks), response.headers

        try:
            return within_deadline(exchange, self.deadline_s)
        except DeadlineExceeded:
            # the abandoned exchange may still hold a pooled connection: later attempts use a new pool
            self.client = httpx.Client(**self._client_args)
            threading.Thread(target=client.close, daemon=True).start()
            raise

    def close(self) -> None:
        self.client.close()

    def request(
        self,
        raw_provider: str,
        method: str,
        path: str,
        *,
        day: str | pd.Timestamp,
        fetch_id: str,
        seq: int = 0,
        what: str,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        context: Mapping[str, Any] | None = None,
        endpoint_label: str | None = None,
    ) -> RawRecord:
        """Send one request with retries; return the stored 2xx record or raise ``ProviderUnavailable``.

        ``endpoint_label`` is what the raw metadata records instead of ``path`` (e.g. without a token).
        """
        clean_params = {k: v for k, v in (params or {}).items() if v is not None}
        label = endpoint_label or path

        def attempt() -> RawRecord:
            try:
                status, body, headers = self._send(method, path, clean_params, json_body)
            except DeadlineExceeded:
                raise RetryableError(
                    self.service, f"timeout (no whole answer within http_deadline_s={self.deadline_s:g}s)"
                ) from None
            except httpx.TimeoutException as exc:
                raise RetryableError(self.service, f"timeout ({type(exc).__name__})") from None
            except httpx.TransportError as exc:
                raise RetryableError(
                    self.service, self.redactor.text(f"connection error ({type(exc).__name__}: {exc})")
                ) from None
            return land_response(
                self.service,
                self.raw_zone,
                self.redactor,
                raw_provider,
                status=status,
                body=body,
                headers=headers,
                day=day,
                fetch_id=fetch_id,
                seq=seq,
                endpoint=label,
                method=method,
                params=clean_params,
                fetched_at=self.now(),
                context=context,
            )

        return self.resilience.call(self.service, attempt, what, idempotent=method.upper() == "GET")
