"""Test helpers for the provider clients: recorded payloads, a local HTTP server for alpaca-py,
httpx mock transports, fast settings, and a resilience layer with a fake clock and no real sleeps."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

import httpx
import pandas as pd

from tracer_assets.providers.resilience import BreakerRegistry, Resilience
from tracer_assets.settings import TracerSettings
from tracer_assets.universe import Instrument

PAYLOADS = Path(__file__).parent / "payloads"
SENTINEL = "SENTINEL-s3cr3t-7d1f9c"

BTC = Instrument("BTC/USD", "crypto")
ETH = Instrument("ETH/USD", "crypto")
SOL = Instrument("SOL/USD", "crypto")
AAPL = Instrument("AAPL", "stock")
NVDA = Instrument("NVDA", "stock")
TSLA = Instrument("TSLA", "stock")
AMZN = Instrument("AMZN", "stock")
COIN = Instrument("COIN", "stock")
UNIVERSE = [BTC, ETH, SOL, AAPL, NVDA, TSLA, AMZN, COIN]


def payload(name: str) -> bytes:
    return (PAYLOADS / name).read_bytes()


def payload_json(name: str) -> Any:
    return json.loads(payload(name))


def make_settings(tmp_path: Path, **overrides: Any) -> TracerSettings:
    """Explicit settings for tests: lake and outbox under tmp_path, tiny timeouts, fast breaker.

    Neither a ``.env`` file nor TRACER_* variables of the shell can slip keys or selectors in.
    """
    base = dict(
        _env_file=None,
        bars_provider="sim",
        news_provider="sim",
        markets_provider="sim",
        notifier="outbox",
        alpaca_key_id=None,
        alpaca_secret_key=None,
        perplexity_api_key=None,
        telegram_bot_token=None,
        telegram_chat_id=None,
        bar_timeframe="1Hour",
        lake_root=str(tmp_path / "lake"),
        outbox_dir=str(tmp_path / "outbox"),
        http_timeout_s=2.0,
        perplexity_timeout_s=2.0,
        retry_max_attempts=3,
        retry_backoff_base_s=0.5,
        retry_backoff_max_s=4.0,
        retry_after_max_s=60.0,
        breaker_failure_threshold=5,
        breaker_cooldown_s=30.0,
    )
    base.update(overrides)
    return TracerSettings(**base)


class FakeClock:
    def __init__(self, start: float = 1000.0):
        self.t = start

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@dataclass
class Harness:
    """A resilience layer whose sleeps are recorded (never slept) and whose clock the test moves."""

    settings: TracerSettings
    clock: FakeClock = field(default_factory=FakeClock)
    sleeps: list[float] = field(default_factory=list)
    breakers: BreakerRegistry = field(default_factory=BreakerRegistry)

    def resilience(self) -> Resilience:
        return Resilience(
            self.settings,
            sleep=self.sleeps.append,
            clock=self.clock,
            rng=random.Random(0),
            breakers=self.breakers,
        )


FETCHED_AT = pd.Timestamp("2024-01-03T00:00:00Z")


def fixed_now(ts: pd.Timestamp = FETCHED_AT) -> Callable[[], pd.Timestamp]:
    return lambda: ts


def live_client(
    cls: Callable[..., Any], settings: TracerSettings, harness: Harness | None = None, **clients: Any
) -> tuple[Any, Harness]:
    """``cls(settings, lake_root, ...)`` on the harness's resilience and a fixed clock; ``clients``
    are its transports. Returns (provider, harness); pass ``harness`` to share breakers and clock."""
    harness = harness or Harness(settings)
    provider = cls(
        settings, settings.lake.lake_root, resilience=harness.resilience(), now=fixed_now(), **clients
    )
    return provider, harness


# ---- local HTTP server (alpaca-py uses requests, so httpx.MockTransport cannot serve it) ----------


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | dict | list = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, dict | list):
            return json.dumps(self.body).encode(), "application/json"
        if isinstance(self.body, str):
            return self.body.encode(), "text/html; charset=utf-8" if self.body.lstrip().startswith(
                "<"
            ) else "application/json"
        return self.body, "application/json"


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


class ThreadedServer:
    """A ``ThreadingHTTPServer`` on 127.0.0.1:0 serving ``handler`` in a daemon thread while in ``with``."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        # A short poll interval keeps shutdown (and so each test's teardown) fast.
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class LocalServer(ThreadedServer):
    """A ``ThreadedServer`` routed on the parsed path and query.

    ``route(path, handler)``: handler(query) -> Reply, or a list of Replies served in order (the last
    one repeats).
    """

    def __init__(self) -> None:
        self.routes: dict[str, Callable[[dict[str, str]], Reply]] = {}
        self.seen: list[Seen] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                query = dict(parse_qsl(parts.query))
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.seen.append(Seen(self.command, parts.path, query, dict(self.headers), body))
                handler = server.routes.get(parts.path)
                reply = handler(query) if handler else Reply(404, {"message": "no route"})
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                data, ctype = reply.encoded()
                try:
                    self.send_response(reply.status)
                    headers = {"Content-Type": ctype, **reply.headers}
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and left

            do_GET = _serve
            do_POST = _serve

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(Handler)

    def route(self, path: str, handler: Callable[[dict[str, str]], Reply] | list[Reply]) -> None:
        if isinstance(handler, list):
            queue = list(handler)

            def serve(query: dict[str, str]) -> Reply:
                return queue.pop(0) if len(queue) > 1 else queue[0]

            self.routes[path] = serve
        else:
            self.routes[path] = handler

    def hits(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]


# ---- httpx mock transport ---------------------------------------------------------------------


class MockService:
    """An ``httpx.MockTransport`` routed on path; handlers get the request and return a response."""

    def __init__(self) -> None:
        self.routes: dict[str, Callable[[httpx.Request], httpx.Response]] = {}
        self.seen: list[httpx.Request] = []
        self.transport = httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        handler = self.routes.get(request.url.path)
        if handler is None:
            return httpx.Response(404, json={"error": "no route"})
        return handler(request)

    def route(self, path: str, handler: Callable[[httpx.Request], httpx.Response] | list[Any]) -> None:
        if isinstance(handler, list):
            queue = list(handler)

            def serve(request: httpx.Request) -> httpx.Response:
                item = queue.pop(0) if len(queue) > 1 else queue[0]
                if isinstance(item, Exception):
                    raise item
                return item(request) if callable(item) else item

            self.routes[path] = serve
        else:
            self.routes[path] = handler

    def hits(self, path: str) -> list[httpx.Request]:
        return [r for r in self.seen if r.url.path == path]


def scan_for(root: Path, needle: str) -> list[str]:
    """Files under ``root`` whose bytes contain ``needle``."""
    found = []
    if not root.exists():
        return found
    for path in root.rglob("*"):
        if path.is_file() and needle.encode() in path.read_bytes():
            found.append(str(path))
    return found
