"""alpaca-py plumbing shared by the Alpaca bars and news clients.

alpaca-py sends the requests (its session, auth headers and URL layout); this module makes our
resilience layer govern them:

- ``client._retry = 0``: alpaca-py's ``RESTClient._request`` retries 429/504 with a fixed 3 s sleep
  while ``retry >= 0`` and ``_one_request`` raises ``RetryException`` only while ``retry > 0``, so 0
  makes every error surface at once as ``APIError`` (checked in alpaca-py 0.44 ``common/rest.py``);
- a mounted ``HTTPAdapter`` adds our timeout (alpaca-py passes none to ``requests``);
- a response hook captures every response body as received, so it lands in the raw zone before
  alpaca-py's (or our) parsing, and pages are walked one request at a time (``next_page_token``),
  each under its own retries, instead of ``_get_marketdata``'s all-or-nothing loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from enum import Enum
from typing import Any

import pandas as pd
import requests
from alpaca.common.exceptions import APIError
from alpaca.common.rest import RESTClient
from alpaca.data.timeframe import TimeFrame
from requests.adapters import HTTPAdapter

from tracer_assets.providers.http import land_response
from tracer_assets.providers.raw_zone import RawRecord, RawZone
from tracer_assets.providers.redact import Redactor, install_log_redaction
from tracer_assets.providers.resilience import FatalError, ProviderUnavailable, Resilience, RetryableError

ALPACA_SERVICE = "alpaca_data"  # breaker key: bars and news share data.alpaca.markets and its rate limit


class _TimeoutAdapter(HTTPAdapter):
    def __init__(self, timeout_s: float):
        super().__init__(max_retries=0)
        self.timeout_s = timeout_s

    def send(self, request, **kwargs):  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout_s
        return super().send(request, **kwargs)


def alpaca_keys(settings) -> tuple[str | None, str | None]:
    key = settings.alpaca_key_id.get_secret_value() if settings.alpaca_key_id else None
    secret = settings.alpaca_secret_key.get_secret_value() if settings.alpaca_secret_key else None
    return key or None, secret or None


class AlpacaPager:
    """Walks one paginated alpaca-py endpoint page by page, storing each response in the raw zone."""

    def __init__(
        self,
        client: RESTClient,
        *,
        raw_provider: str,
        resilience: Resilience,
        raw_zone: RawZone,
        redactor: Redactor,
        timeout_s: float,
        now: Callable[[], pd.Timestamp],
    ):
        client._retry = 0  # our retries govern (see module docstring)
        install_log_redaction(redactor)
        adapter = _TimeoutAdapter(timeout_s)
        client._session.mount("http://", adapter)
        client._session.mount("https://", adapter)
        self._captured: list[requests.Response] = []
        client._session.hooks["response"].append(self._capture)
        self.client = client
        self.raw_provider = raw_provider
        self.resilience = resilience
        self.raw_zone = raw_zone
        self.redactor = redactor
        self.now = now

    def _capture(self, response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        _ = response.content  # read the body now, as received
        self._captured.append(response)
        return response

    def _one(
        self,
        path: str,
        params: dict[str, Any],
        *,
        day: str,
        fetch_id: str,
        seq: int,
        context: Mapping[str, Any],
    ) -> RawRecord:
        self._captured.clear()
        failure: Exception | None = None
        try:
            self.client.get(path, data=params)
        except requests.exceptions.Timeout as exc:
            raise RetryableError(ALPACA_SERVICE, f"timeout ({type(exc).__name__})") from None
        except requests.exceptions.ConnectionError as exc:
            raise RetryableError(
                ALPACA_SERVICE, self.redactor.text(f"connection error ({type(exc).__name__})")
            ) from None
        except (APIError, ValueError) as exc:  # HTTP error status, or a 2xx body alpaca-py could not decode
            failure = exc
        except requests.exceptions.RequestException as exc:
            raise FatalError(
                ALPACA_SERVICE, self.redactor.text(f"request failed ({type(exc).__name__})")
            ) from None
        if not self._captured:
            raise FatalError(ALPACA_SERVICE, self.redactor.text(f"no response ({type(failure).__name__})"))
        response = self._captured[-1]
        endpoint = f"{self.client._api_version}{path}"
        return land_response(
            ALPACA_SERVICE,
            self.raw_zone,
            self.redactor,
            self.raw_provider,
            status=response.status_code,
            body=response.content,
            headers=response.headers,
            day=day,
            fetch_id=fetch_id,
            seq=seq,
            endpoint=endpoint,
            method="GET",
            params=params,
            fetched_at=self.now(),
            context=context,
        )

    def pages(
        self,
        path: str,
        params: dict[str, Any],
        *,
        day: str,
        fetch_id: str,
        what: str,
        context: Mapping[str, Any],
        max_pages: int,
    ) -> Iterator[RawRecord]:
        """Yield each page's record until ``next_page_token`` is null.

        Raises ``ProviderUnavailable`` (or ``ProviderSkipped``) when a page fails for good; pages
        already yielded stay valid. A repeated token or ``max_pages`` pages end the walk with
        ``ProviderUnavailable`` too, so an endless pagination is reported, not looped on.
        """
        token: str | None = None
        seen: set[str] = set()
        for seq in range(max_pages):
            page_params = {k: v for k, v in {**params, "page_token": token}.items() if v is not None}
            record = self.resilience.call(
                ALPACA_SERVICE,
                lambda p=page_params, s=seq: self._one(
                    path, p, day=day, fetch_id=fetch_id, seq=s, context=context
                ),
                f"{what} page {seq + 1}",
            )
            yield record
            body = record.json()
            token = body.get("next_page_token") if isinstance(body, dict) else None
            if not token:
                return
            if token in seen:
                raise ProviderUnavailable(ALPACA_SERVICE, f"{what}: pagination repeats a page token")
            seen.add(token)
        raise ProviderUnavailable(
            ALPACA_SERVICE, f"{what}: stopped after {max_pages} pages (alpaca_max_pages)"
        )


def request_params(request: Any) -> dict[str, Any]:
    """An alpaca-py request model's fields as sent (timeframe and enums as their string values)."""
    return {
        key: value.value if isinstance(value, Enum | TimeFrame) else value
        for key, value in request.to_request_fields().items()
    }
