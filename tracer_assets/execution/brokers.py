"""Brokers outside the sim, behind one protocol: Alpaca's trading API (paper or live) over httpx.

Wire shape (see PROVIDERS.md): ``POST /v2/orders`` (market order, notional or qty, ``client_order_id``),
``GET /v2/orders:by_client_order_id``, ``GET /v2/positions``, ``GET /v2/account``. A POST that fails
on a timeout or 5xx may still have reached the broker, so before every retry the order is looked up
by its ``client_order_id``; a 422 for a duplicate id means it did, and the existing order is returned.
429 waits for ``Retry-After``; 403 and other 422s reject the order. Keys never appear in errors.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import httpx

from tracer_assets.providers.alpaca_common import alpaca_keys
from tracer_assets.providers.redact import Redactor
from tracer_assets.providers.resilience import ProviderConfigError, error_detail, parse_retry_after
from tracer_assets.settings import TracerSettings

LIVE_URL = "https://api.alpaca.markets"


class BrokerError(Exception):
    """The broker refused (``rejected``) or could not be reached after every attempt."""

    def __init__(self, message: str, status: int | None = None, rejected: bool = False):
        super().__init__(message)
        self.status = status
        self.rejected = rejected


@dataclass(frozen=True)
class OrderRequest:
    client_order_id: str
    symbol: str
    side: str  # buy / sell
    notional: float | None = None
    qty: float | None = None


@dataclass(frozen=True)
class BrokerOrder:
    order_id: str
    client_order_id: str
    symbol: str
    side: str
    status: str
    filled_qty: float
    filled_avg_price: float | None


class Broker(Protocol):
    name: str

    def account(self) -> dict[str, float]: ...

    def positions(self) -> dict[str, dict[str, float]]: ...

    def find_order(self, client_order_id: str) -> BrokerOrder | None: ...

    def submit(self, request: OrderRequest) -> BrokerOrder: ...


def _float(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _order(payload: dict) -> BrokerOrder:
    price = payload.get("filled_avg_price")
    return BrokerOrder(
        order_id=str(payload["id"]),
        client_order_id=str(payload.get("client_order_id", "")),
        symbol=str(payload.get("symbol", "")),
        side=str(payload.get("side", "")),
        status=str(payload.get("status", "")),
        filled_qty=_float(payload.get("filled_qty")),
        filled_avg_price=None if price in (None, "") else _float(price),
    )


class AlpacaBroker:
    """Alpaca trading API (``alpaca_paper`` at ``TRACER_ALPACA_TRADING_URL``, ``alpaca_live`` at the live URL)."""

    def __init__(
        self,
        settings: TracerSettings,
        *,
        live: bool = False,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        key, secret = alpaca_keys(settings)
        if not key or not secret:
            raise ProviderConfigError(
                "Alpaca trading needs TRACER_ALPACA_KEY_ID and TRACER_ALPACA_SECRET_KEY"
            )
        self.name = "alpaca_live" if live else "alpaca_paper"
        self.execution = settings.execution
        self.retry_after_max_s = settings.providers.retry_after_max_s
        self.redactor = Redactor.from_settings(settings)
        self.sleep = sleep
        base = LIVE_URL if live else settings.providers.alpaca_trading_url
        self.client = httpx.Client(
            base_url=base.rstrip("/"),
            timeout=httpx.Timeout(settings.execution.execution_timeout_s),
            headers={"APCA-API-KEY-ID": key, "APCA-API-SECRET-KEY": secret},
            transport=transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        self.client.close()

    def _send(self, method: str, path: str, **kwargs) -> httpx.Response:
        try:
            return self.client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise BrokerError(self.redactor.text(f"{method} {path}: {type(exc).__name__}")) from None

    def _get(self, path: str, **params):
        """GET with the 429 / 5xx retry policy (reads are safe to repeat)."""
        for attempt in range(self.execution.execution_max_attempts):
            try:
                r = self._send("GET", path, params=params or None)
            except BrokerError:
                if attempt + 1 == self.execution.execution_max_attempts:
                    raise
                continue
            if r.status_code == 404:
                return None
            if r.status_code < 300:
                return r.json()
            if r.status_code in (429,) or r.status_code >= 500:
                self._wait(r, attempt)
                continue
            raise BrokerError(self._detail(r, f"GET {path}"), r.status_code, rejected=True)
        raise BrokerError(f"GET {path}: no answer after {self.execution.execution_max_attempts} attempts")

    def _detail(self, r: httpx.Response, what: str) -> str:
        body = error_detail(r.content, r.headers.get("content-type", ""))
        return self.redactor.text(f"{what}: HTTP {r.status_code} {body}")

    def _wait(self, r: httpx.Response | None, attempt: int) -> None:
        asked = parse_retry_after(r.headers, r.content) if r is not None else None
        if asked is not None:
            self.sleep(min(asked, self.retry_after_max_s))

    def account(self) -> dict[str, float]:
        a = self._get("/v2/account") or {}
        return {"equity": _float(a.get("equity")), "cash": _float(a.get("cash"))}

    def positions(self) -> dict[str, dict[str, float]]:
        """Symbol -> signed ``qty``, ``avg_price`` and ``market_value``."""
        out = {}
        for p in self._get("/v2/positions") or []:
            qty = _float(p.get("qty"))
            short = p.get("side") == "short"
            out[str(p["symbol"])] = {
                "qty": -abs(qty) if short else qty,
                "avg_price": _float(p.get("avg_entry_price")),
                "market_value": -abs(_float(p.get("market_value")))
                if short
                else _float(p.get("market_value")),
            }
        return out

    def find_order(self, client_order_id: str) -> BrokerOrder | None:
        found = self._get("/v2/orders:by_client_order_id", client_order_id=client_order_id)
        return _order(found) if found else None

    def submit(self, request: OrderRequest) -> BrokerOrder:
        """Place the order once: look it up first (restart), then POST; never a second copy."""
        body = {
            "symbol": request.symbol,
            "side": request.side,
            "type": "market",
            "time_in_force": "gtc" if "/" in request.symbol else "day",
            "client_order_id": request.client_order_id,
        }
        if request.notional is not None:
            body["notional"] = round(float(request.notional), 2)
        else:
            body["qty"] = float(request.qty)
        last = "no attempt"
        for attempt in range(self.execution.execution_max_attempts):
            existing = self.find_order(request.client_order_id)
            if existing is not None:
                return existing
            try:
                r = self._send("POST", "/v2/orders", json=body)
            except BrokerError as exc:  # may have reached the broker: the next lookup tells
                last = str(exc)
                continue
            if r.status_code < 300:
                return _order(r.json())
            last = self._detail(r, "POST /v2/orders")
            if r.status_code == 422 and "client_order_id" in r.text:
                continue  # a duplicate: the lookup at the top of the loop returns the existing order
            if r.status_code == 429 or r.status_code >= 500:
                self._wait(r, attempt)
                continue
            raise BrokerError(last, r.status_code, rejected=True)
        existing = self.find_order(request.client_order_id)
        if existing is not None:
            return existing
        raise BrokerError(f"order {request.client_order_id} not placed: {last}")
