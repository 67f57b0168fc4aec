"""Alpaca market-data plumbing shared by the bars and news clients, on the shared HTTP caller.

Requests go through ``HttpCaller`` like every other provider's (our retries, breaker, overall
deadline, raw zone), so nothing of alpaca-py's request machinery (its session, its own retries) is
used or patched. alpaca-py still describes the wire: its public request models (``CryptoBarsRequest``,
``StockBarsRequest``, ``NewsRequest``) build the query parameters, and its enums name feeds and
timeframes. Pages are walked one request at a time (``next_page_token``), each under its own retries.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from enum import Enum
from typing import Any

from alpaca.data.timeframe import TimeFrame

from tracer_assets.providers.http import LiveProvider
from tracer_assets.providers.raw_zone import RawRecord
from tracer_assets.providers.resilience import ProviderUnavailable

ALPACA_SERVICE = "alpaca_data"  # breaker key: bars and news share data.alpaca.markets and its rate limit
# The API version in each market-data path (https://docs.alpaca.markets/reference), as alpaca-py's
# CryptoHistoricalDataClient, StockHistoricalDataClient and NewsClient send them.
CRYPTO_API, STOCK_API, NEWS_API = "v1beta3", "v2", "v1beta1"


def alpaca_keys(settings) -> tuple[str | None, str | None]:
    key = settings.providers.alpaca_key_id.get_secret_value() if settings.providers.alpaca_key_id else None
    secret = (
        settings.providers.alpaca_secret_key.get_secret_value()
        if settings.providers.alpaca_secret_key
        else None
    )
    return key or None, secret or None


def alpaca_headers(settings) -> dict[str, str]:
    """Alpaca's key headers when both keys are set (crypto data needs none)."""
    key, secret = alpaca_keys(settings)
    return {"APCA-API-KEY-ID": key, "APCA-API-SECRET-KEY": secret} if key and secret else {}


class AlpacaPager:
    """Walks one paginated endpoint of one API version page by page, each page stored in the raw zone."""

    def __init__(self, provider: LiveProvider, api_version: str, **caller: Any):
        self.api_version = api_version
        self.raw_provider = provider.raw_provider
        self.caller = provider.http_caller(
            ALPACA_SERVICE,
            f"{provider.settings.providers.alpaca_data_url.rstrip('/')}/{api_version}",
            headers=alpaca_headers(provider.settings),
            **caller,
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
            record = self.caller.request(
                self.raw_provider,
                "GET",
                path,
                day=day,
                fetch_id=fetch_id,
                seq=seq,
                what=f"{what} page {seq + 1}",
                params=page_params,
                context=context,
                endpoint_label=f"{self.api_version}{path}",
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
