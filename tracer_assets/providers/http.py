"""One httpx-based request path for Perplexity, Polymarket and Telegram: resilience, then raw zone.

``HttpCaller.request`` sends one request under the service's breaker and retry policy; every
response that arrives (errors included) is stored in the raw zone before it is classified, and a
2xx body must decode as JSON or it is a ``PayloadError``. It returns the stored ``RawRecord``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx
import pandas as pd

from tracer_assets.providers.raw_zone import RawDecodeError, RawRecord, RawZone
from tracer_assets.providers.redact import Redactor, install_log_redaction
from tracer_assets.providers.resilience import PayloadError, Resilience, RetryableError, classify_status


def utc_now() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC")


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
            record = self.raw_zone.store(
                raw_provider,
                day,
                fetch_id=fetch_id,
                seq=seq,
                endpoint=label,
                method=method,
                params=clean_params,
                status=response.status_code,
                body=response.content,
                fetched_at=self.now(),
                headers=response.headers,
                context=context,
            )
            classify_status(
                self.service, response.status_code, response.headers, response.content, self.redactor, record
            )
            try:
                record.json()
            except RawDecodeError as exc:
                raise PayloadError(self.service, self.redactor.text(str(exc)), record) from None
            return record

        return self.resilience.call(self.service, attempt, what)
