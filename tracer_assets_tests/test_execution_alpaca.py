"""Order routing to Alpaca's trading API, against a local HTTP server in its documented wire shape
(POST /v2/orders, GET /v2/orders:by_client_order_id, GET /v2/positions, GET /v2/account), with the
incident drills: 500 then 200, a duplicate 422, 403, 429 with Retry-After, restarts, an unarmed live
mode, stale signals and a reconciliation mismatch."""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest

from tracer_assets.execution.brokers import AlpacaBroker, BrokerError, OrderRequest
from tracer_assets.execution.ledger import client_order_id
from tracer_assets.execution.live import route
from tracer_assets.settings import TracerSettings
from tracer_assets_tests.providers_helpers import ThreadedServer

KEY, SECRET = "AKTESTKEY123", "sEcReT-value-987"
NOW = pd.Timestamp("2025-01-06 15:00", tz="UTC")
CLASSES = {"BTC/USD": "crypto", "AAPL": "stock"}


class FakeAlpaca(ThreadedServer):
    """Orders kept by client_order_id (422 on a duplicate); ``script`` answers the next POSTs with a
    status instead (``stored=True``: the order reached the broker before the error)."""

    def __init__(self, positions=None, equity=100_000.0):
        self.orders: dict[str, dict] = {}
        self.posts: list[dict] = []
        self.headers_seen: list[dict] = []
        self.script: list[tuple[int, bool, dict]] = []
        self.positions = positions or []
        self.equity = equity
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, status, body, headers=None):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                fake.headers_seen.append(dict(self.headers))
                url = urlparse(self.path)
                if url.path == "/v2/account":
                    return self._reply(
                        200,
                        {
                            "status": "ACTIVE",
                            "equity": str(fake.equity),
                            "cash": "50000.5",
                            "buying_power": "100000",
                            "portfolio_value": str(fake.equity),
                        },
                    )
                if url.path == "/v2/positions":
                    return self._reply(200, fake.positions)
                if url.path == "/v2/orders:by_client_order_id":
                    coid = parse_qs(url.query)["client_order_id"][0]
                    with fake.lock:
                        order = fake.orders.get(coid)
                    return (
                        self._reply(200, order)
                        if order
                        else self._reply(404, {"code": 40410000, "message": "order not found"})
                    )
                return self._reply(404, {"message": "not found"})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with fake.lock:
                    fake.posts.append(body)
                    if fake.script:
                        status, stored, headers = fake.script.pop(0)
                        if stored:
                            fake.orders[body["client_order_id"]] = fake._order(body)
                        return self._reply(status, {"code": status, "message": "scripted"}, headers)
                    if body["client_order_id"] in fake.orders:
                        return self._reply(
                            422, {"code": 40010001, "message": "client_order_id must be unique"}
                        )
                    fake.orders[body["client_order_id"]] = order = fake._order(body)
                return self._reply(200, order)

            def log_message(self, *args):
                pass

        super().__init__(Handler)

    @staticmethod
    def _order(body):
        return {
            "id": str(uuid.uuid4()),
            "client_order_id": body["client_order_id"],
            "symbol": body["symbol"],
            "side": body["side"],
            "type": "market",
            "status": "filled",
            "notional": body.get("notional"),
            "qty": body.get("qty"),
            "filled_qty": "0.1",
            "filled_avg_price": "50000.0",
        }


@pytest.fixture
def server():
    with FakeAlpaca() as s:
        yield s


def _settings(server, **execution):
    settings = TracerSettings(
        lake_root="unused", alpaca_key_id=KEY, alpaca_secret_key=SECRET, alpaca_trading_url=server.url
    )
    settings.execution = settings.execution.model_copy(update={"trading_mode": "alpaca_paper", **execution})
    return settings


def _broker(server, sleeps=None, **execution):
    return AlpacaBroker(
        _settings(server, **execution), sleep=(sleeps.append if sleeps is not None else lambda s: None)
    )


def _signals(age_hours=0.5, n=1):
    return pd.DataFrame(
        {
            "signal_id": [f"sig{i}" for i in range(n)],
            "symbol": ["BTC/USD", "AAPL"][:n],
            "asset_class": ["crypto", "stock"][:n],
            "decision_ts": [NOW - pd.Timedelta(hours=age_hours)] * n,
            "direction": ["long", "short"][:n],
            "size": [0.05, 0.02][:n],
            "horizon_hours": [24] * n,
        }
    )


def _route(broker, settings, signals, ledger_qty=None, controls=None, live_settings=None):
    s = live_settings or settings
    return route(
        broker,
        signals,
        now=NOW,
        ledger_qty=ledger_qty or {},
        due_exits=pd.DataFrame(),
        controls=controls if controls is not None else pd.DataFrame(),
        risk=s.risk,
        execution=s.execution,
        asset_class=CLASSES,
    )


def test_order_wire_shape_and_keys_in_headers(server):
    order = _broker(server).submit(OrderRequest("tr-abc-entry", "BTC/USD", "buy", notional=1234.567))
    assert server.posts == [
        {
            "symbol": "BTC/USD",
            "side": "buy",
            "type": "market",
            "time_in_force": "gtc",
            "client_order_id": "tr-abc-entry",
            "notional": 1234.57,
        }
    ]
    assert order.status == "filled" and order.filled_avg_price == 50000.0
    assert server.headers_seen[0]["APCA-API-KEY-ID"] == KEY


def test_500_then_200_places_exactly_one_order(server):
    server.script = [(500, False, {})]
    order = _broker(server).submit(OrderRequest("tr-x-entry", "BTC/USD", "buy", notional=100.0))
    assert len(server.orders) == 1 and order.client_order_id == "tr-x-entry"
    assert [p["client_order_id"] for p in server.posts] == ["tr-x-entry", "tr-x-entry"]


def test_a_500_that_reached_the_broker_is_found_not_resent(server):
    server.script = [(502, True, {})]
    order = _broker(server).submit(OrderRequest("tr-y-entry", "BTC/USD", "buy", notional=100.0))
    assert (
        len(server.posts) == 1
        and len(server.orders) == 1
        and order.order_id == server.orders["tr-y-entry"]["id"]
    )


def test_a_duplicate_422_returns_the_existing_order(server):
    broker = _broker(server)
    first = broker.submit(OrderRequest("tr-z-entry", "BTC/USD", "buy", notional=100.0))
    # a restarted run whose lookup missed it (e.g. the GET failed) gets 422 and then finds it
    server.script = [(422, False, {})]
    server.orders.pop("tr-z-entry")
    server.orders["tr-z-entry"] = {
        **server._order({"client_order_id": "tr-z-entry", "symbol": "BTC/USD", "side": "buy"}),
        "id": first.order_id,
    }
    again = broker.submit(OrderRequest("tr-z-entry", "BTC/USD", "buy", notional=100.0))
    assert again.order_id == first.order_id and len(server.orders) == 1


def test_403_rejects_the_order_without_leaking_keys(server):
    server.script = [(403, False, {})]
    with pytest.raises(BrokerError) as err:
        _broker(server).submit(OrderRequest("tr-f-entry", "BTC/USD", "buy", notional=1e9))
    assert err.value.rejected and err.value.status == 403
    assert KEY not in str(err.value) and SECRET not in str(err.value)


def test_429_waits_for_retry_after_then_sends(server):
    server.script = [(429, False, {"Retry-After": "2"})]
    sleeps: list[float] = []
    _broker(server, sleeps).submit(OrderRequest("tr-r-entry", "BTC/USD", "buy", notional=100.0))
    assert sleeps == [2.0] and len(server.orders) == 1


def test_5xx_every_time_gives_up_after_the_attempts_with_nothing_placed(server):
    server.script = [(503, False, {})] * 3
    with pytest.raises(BrokerError) as err:
        _broker(server, execution_max_attempts=3).submit(
            OrderRequest("tr-d-entry", "BTC/USD", "buy", notional=100.0)
        )
    assert not err.value.rejected and len(server.posts) == 3 and not server.orders


def test_route_sends_fresh_signals_once_across_restarts(server):
    settings = _settings(server)
    broker = AlpacaBroker(settings, sleep=lambda s: None)
    led, trips = _route(broker, settings, _signals(n=2))
    assert not trips and len(server.orders) == 2
    assert {o["client_order_id"] for o in led.orders} == {
        client_order_id("sig0", "entry"),
        client_order_id("sig1", "entry"),
    }
    assert led.fills and led.portfolio[0]["equity"] == 100_000.0
    # a restart mid-day (same signals, ledger now holding the fills) places nothing twice
    server.positions = [
        {
            "symbol": "BTC/USD",
            "qty": "0.1",
            "side": "long",
            "avg_entry_price": "50000",
            "market_value": "5000",
        },
        {"symbol": "AAPL", "qty": "0.1", "side": "short", "avg_entry_price": "50000", "market_value": "5000"},
    ]
    led2, _ = _route(broker, settings, _signals(n=2), ledger_qty={"BTC/USD": 0.1, "AAPL": -0.1})
    assert len(server.posts) == 2 and len(server.orders) == 2
    assert [o["order_id"] for o in led2.orders] == [o["order_id"] for o in led.orders]


def test_signals_older_than_the_max_age_are_skipped_with_a_risk_event(server):
    settings = _settings(server)
    led, _ = _route(AlpacaBroker(settings), settings, _signals(age_hours=30))
    assert not server.posts and [e["rule"] for e in led.risk_events] == ["signal_age"]


def test_alpaca_live_without_arming_sends_nothing(server):
    settings = _settings(server, trading_mode="alpaca_live")
    broker = AlpacaBroker(settings)
    broker.client.base_url = server.url  # the live URL, pointed at the fake for the drill
    for update, rule in (
        ({}, "live_not_armed"),
        ({"live_armed": True}, "live_caps_missing"),
        (
            {"live_armed": False, "live_max_order_notional": 50.0, "live_max_daily_notional": 80.0},
            "live_not_armed",
        ),
    ):
        s = _settings(server, trading_mode="alpaca_live", **update)
        led, _ = _route(broker, s, _signals(n=2), live_settings=s)
        assert [e["rule"] for e in led.risk_events] == [rule] and led.risk_events[0]["action"] == "halted"
    assert not server.posts and not server.headers_seen  # not even a read


def test_alpaca_live_armed_respects_order_and_daily_caps(server):
    s = _settings(
        server,
        trading_mode="alpaca_live",
        live_armed=True,
        live_max_order_notional=50.0,
        live_max_daily_notional=80.0,
    )
    broker = AlpacaBroker(s)
    broker.client.base_url = server.url
    led, _ = _route(broker, s, _signals(n=2), live_settings=s)
    assert [p["notional"] for p in server.posts] == [50.0, 30.0]
    assert {e["rule"] for e in led.risk_events} == {"live_order_notional"}


def test_alpaca_live_with_the_kill_switch_on_sends_nothing(server):
    from tracer_assets.execution.controls import KILL, control_row

    s = _settings(
        server,
        trading_mode="alpaca_live",
        live_armed=True,
        live_max_order_notional=50.0,
        live_max_daily_notional=80.0,
    )
    controls = pd.DataFrame([control_row(KILL, "ops", "drill", NOW - pd.Timedelta(hours=1))])
    led, _ = _route(AlpacaBroker(s), s, _signals(), controls=controls, live_settings=s)
    assert not server.posts and led.risk_events[0]["rule"] == "kill_switch"


def test_a_reconciliation_mismatch_halts_trading(server):
    server.positions = [
        {
            "symbol": "BTC/USD",
            "qty": "0.5",
            "side": "long",
            "avg_entry_price": "50000",
            "market_value": "25000",
        }
    ]
    settings = _settings(server)
    led, trips = _route(AlpacaBroker(settings), settings, _signals(), ledger_qty={"BTC/USD": 0.1})
    assert not server.posts
    assert [(e["rule"], e["action"]) for e in led.risk_events] == [("reconciliation", "halted")]
    assert trips and trips[0]["action"] == "kill" and "BTC/USD" in trips[0]["why"]


def test_the_execution_service_routes_to_alpaca_and_records_each_order_once(server, tmp_path):
    from tracer_assets.execution.service import execute
    from tracer_assets.lake import Lake

    settings = _settings(server)
    settings.lake.lake_root = str(tmp_path / "lake")
    lake = Lake(settings.lake.lake_root)
    sig = _signals(n=2).assign(strength=0.5, internal_prob=0.6, rationale="{}")
    sig["event_ts"] = sig["available_ts"] = sig["decision_ts"]
    day = NOW.strftime("%Y-%m-%d")
    lake.write_partitions("signals", sig, [day], by="decision_ts")
    start, end = NOW.floor("D"), NOW.floor("D") + pd.Timedelta(days=1)
    broker = AlpacaBroker(settings, sleep=lambda s: None)
    counts = execute(lake, settings, CLASSES, start, end, [day], NOW, broker=broker)
    assert counts["orders"] == 2 and len(server.orders) == 2
    server.positions = [
        {
            "symbol": "BTC/USD",
            "qty": "0.1",
            "side": "long",
            "avg_entry_price": "50000",
            "market_value": "5000",
        },
        {"symbol": "AAPL", "qty": "0.1", "side": "short", "avg_entry_price": "50000", "market_value": "5000"},
    ]
    # the next hourly tick: the ledger already holds both orders and their fills, nothing is resent
    later = NOW + pd.Timedelta(minutes=30)
    counts = execute(lake, settings, CLASSES, start, end, [day], later, broker=broker)
    assert counts["orders"] == 0 and len(server.posts) == 2
    assert lake.read("orders")["client_order_id"].is_unique
    assert not (lake.read("risk_events")["rule"] == "reconciliation").any()
