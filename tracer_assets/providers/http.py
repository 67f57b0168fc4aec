"""One httpx-based request path for Perplexity, Polymarket and Telegram: resilience, then raw zone.

``HttpCaller.request`` sends one request under the service's breaker and retry policy; every
response that arrives (errors included) is stored in the raw zone before it is classified, and a
2xx body must decode as JSON or it is a ``PayloadError``. It returns the stored ``RawRecord``.
``land_response`` is that store-then-classify step, shared with the alpaca-py pager, and
``LiveProvider`` the state every real provider holds (httpx-based or alpaca-py-based alike).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

from tracer_assets.providers.raw_zone import RawDecodeError, RawRecord, RawZone
from tracer_assets.providers.redact import Redactor, install_log_redaction
from tracer_assets.providers.resilience import PayloadError, Resilience, RetryableError, classify_status
from tracer_assets.providers.results import FetchResult, LiveFetch
from tracer_assets.settings import TracerSettings


def utc_now() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC")


def as_utc(ts: pd.Timestamp | str) -> pd.Timestamp:
    """``ts`` as a UTC timestamp; a naive one is taken to be UTC already."""
    ts = pd.Timestamp(ts)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


class LiveProvider:
    """What every real provider holds: settings, redactor, resilience, raw zone, clock, last result.

    ``resilience``, ``raw_zone`` and ``redactor`` are those given (the registry shares one breaker
    registry across clients; tests pass a fake clock), else built from ``settings``.
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
        now: Callable[[], pd.Timestamp] = utc_now,
    ):
        self.settings = settings
        self.redactor = redactor or Redactor.from_settings(settings)
        self.resilience = resilience or Resilience(settings, redactor=self.redactor)
        self.raw_zone = raw_zone or RawZone(lake_root, settings.raw_zone_enabled, self.redactor)
        self.now = now
        self.last_result: FetchResult | None = None

    def start_fetch(self, window: tuple[pd.Timestamp, pd.Timestamp] | None = None) -> LiveFetch:
        """The bookkeeping of one fetch (quarantine, degraded reasons, requests sent)."""
        return LiveFetch(self.name, self.raw_provider, self.settings, self.redactor, self.resilience, window)


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
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        now: Callable[[], pd.Timestamp] = utc_now,
    ):
        self.service = service
        self.resilience = resilience
        self.raw_zone = raw_zone
        self.redactor = redactor
        self.now = now
        install_log_redaction(redactor)  # httpx logs each request URL (Telegram's holds the token)
        self.client = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout_s),
            headers=dict(headers or {}),
            transport=transport,
            follow_redirects=False,
        )

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
                response = self.client.request(method, path, params=clean_params or None, json=json_body)
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
                status=response.status_code,
                body=response.content,
                headers=response.headers,
                day=day,
                fetch_id=fetch_id,
                seq=seq,
                endpoint=label,
                method=method,
                params=clean_params,
                fetched_at=self.now(),
                context=context,
            )

        return self.resilience.call(self.service, attempt, what)
