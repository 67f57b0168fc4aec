"""Every outside request has an overall deadline beyond its per-read timeout (issue 13, item 4).

A local server drips its answer one byte at a time, each byte well inside the per-read timeout, so
only an overall deadline can end the request. It is cut off there, counted as a timeout, retried by
the resilience layer and reported as degraded: for the Polymarket (httpx) and Alpaca clients alike.
"""

from __future__ import annotations

import time
from http.server import BaseHTTPRequestHandler

import pandas as pd
import pytest

from tracer_assets.providers.alpaca_bars import AlpacaBarsProvider
from tracer_assets.providers.polymarket_gamma import PolymarketGammaProvider
from tracer_assets_tests.providers_helpers import BTC, ThreadedServer, live_client, make_settings

DRIP_S = 0.25  # one byte per DRIP_S: far inside the 2 s read timeout
BODY = b'{"bars": {}, "next_page_token": null}'
DEADLINE_S = 1.0


class Dripper(BaseHTTPRequestHandler):
    """Drips the status line and headers (``/slow-headers``) or only the body, one byte at a time."""

    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        Dripper.hits.append(self.path)
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(BODY)}\r\n\r\n"
        dripped = head.encode() + BODY if "slow-headers" in self.path else BODY
        try:
            if "slow-headers" not in self.path:
                self.wfile.write(head.encode())
                self.wfile.flush()
            for i in range(len(dripped)):
                self.wfile.write(dripped[i : i + 1])
                self.wfile.flush()
                time.sleep(DRIP_S)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up: what the deadline is for

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def dripper():
    Dripper.hits = []
    with ThreadedServer(Dripper) as server:
        yield server


def deadline_settings(tmp_path, **overrides):
    from tracer_assets.settings import SafetySettings

    return make_settings(
        tmp_path,
        http_timeout_s=2.0,
        retry_max_attempts=2,
        safety=SafetySettings(_env_file=None, http_deadline_s=DEADLINE_S),
        **overrides,
    )


@pytest.mark.parametrize("where", ["body", "slow-headers"])
def test_alpaca_request_that_drips_is_cut_at_the_deadline(tmp_path, dripper, where):
    url = dripper.url + ("/slow-headers" if where == "slow-headers" else "")
    provider, harness = live_client(AlpacaBarsProvider, deadline_settings(tmp_path, alpaca_data_url=url))
    started = time.monotonic()
    result = provider.fetch_bars_result(
        [BTC], pd.Timestamp("2024-01-01T00:00:00Z"), pd.Timestamp("2024-01-02T00:00:00Z")
    )
    elapsed = time.monotonic() - started
    assert result.degraded and "http_deadline_s=1" in result.reason and "timeout" in result.reason
    assert len(Dripper.hits) == 2  # the timeout was retried once, as any timeout is
    assert len(harness.sleeps) == 1  # the resilience layer's backoff between the two attempts
    assert elapsed < 2 * DEADLINE_S + 1.5  # the whole drip would take len(BODY) * DRIP_S, about 9 s


def test_polymarket_request_that_drips_is_cut_at_the_deadline(tmp_path, dripper):
    provider, _ = live_client(
        PolymarketGammaProvider, deadline_settings(tmp_path, polymarket_gamma_url=dripper.url)
    )
    started = time.monotonic()
    result = provider.fetch_markets_result([BTC], pd.Timestamp("2024-01-02T12:00:00Z"))
    assert result.degraded and "http_deadline_s=1" in result.reason
    # each query (open and closed markets) tried twice, each attempt cut at the deadline
    assert len(Dripper.hits) == 4 and time.monotonic() - started < 4 * DEADLINE_S + 1.5
