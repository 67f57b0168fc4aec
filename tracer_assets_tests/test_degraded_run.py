"""``tracer demo`` against outside services that fail every request: the run still completes,
``run_health`` says why, and a sentinel secret set as every key is found nowhere afterwards."""

import json
import logging
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import dagster as dg
import pytest

from tracer_assets.demo import run_demo
from tracer_assets.lake import Lake
from tracer_assets.providers.health import degraded_reasons
from tracer_assets.providers.resilience import BREAKERS
from tracer_assets_tests.providers_helpers import SENTINEL, ThreadedServer, scan_for

DAYS = 3
UNIVERSE = """calendar: XNYS
instruments:
  - {symbol: BTC/USD, asset_class: crypto, sim_price: 60000, sim_vol_annual: 0.55}
  - {symbol: ETH/USD, asset_class: crypto, sim_price: 3000, sim_vol_annual: 0.70}
"""
STOCK_LINE = "  - {symbol: AAPL, asset_class: stock, sim_price: 190, sim_vol_annual: 0.25}\n"
# Small retries and a breaker that opens after the first failed request: the test runs in seconds.
FAST_RESILIENCE = {
    "TRACER_RETRY_MAX_ATTEMPTS": "2",
    "TRACER_RETRY_BACKOFF_BASE_S": "0.01",
    "TRACER_RETRY_BACKOFF_MAX_S": "0.02",
    "TRACER_RETRY_AFTER_MAX_S": "0.05",
    "TRACER_HTTP_TIMEOUT_S": "2",
    "TRACER_PERPLEXITY_TIMEOUT_S": "2",
    "TRACER_BREAKER_FAILURE_THRESHOLD": "2",
    "TRACER_BREAKER_COOLDOWN_S": "600",
}


class FailingServer(ThreadedServer):
    """Answers 503 to every request; the body echoes the path and credential headers it received,
    as a careless server might, so a secret that is not redacted would land in the raw zone."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.carried_sentinel: list[str] = []  # paths of requests whose path or headers held SENTINEL
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _fail(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                path = self.path.split("?")[0]
                server.paths.append(path)
                if SENTINEL in self.path or any(SENTINEL in v for v in self.headers.values()):
                    server.carried_sentinel.append(path)
                echoed = {
                    k: v for k, v in self.headers.items() if k.lower().startswith(("apca", "authorization"))
                }
                body = json.dumps({"message": "service unavailable", "path": self.path, "headers": echoed})
                data = body.encode()
                self.send_response(503)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = _fail
            do_POST = _fail

            def log_message(self, *args) -> None:
                pass

        super().__init__(Handler)


@pytest.fixture
def demo_env(tracer_env, monkeypatch):
    """``tracer_env`` (clean TRACER_* rooted in tmp_path, own DAGSTER_HOME), fast retries, a tiny universe."""
    for key, value in FAST_RESILIENCE.items():
        monkeypatch.setenv(key, value)
    (tracer_env / "universe.yaml").write_text(UNIVERSE)
    monkeypatch.setenv("TRACER_UNIVERSE", str(tracer_env / "universe.yaml"))
    BREAKERS.reset()  # breakers live for the process: start and end closed
    yield tracer_env
    BREAKERS.reset()


def run(lines: list[str]) -> int:
    return run_demo(days=DAYS, echo=lambda *parts: lines.append(" ".join(str(p) for p in parts)))


def latest_metadata(asset: str) -> dict:
    instance = dg.DagsterInstance.get()  # DAGSTER_HOME of the test: the demo's instance
    event = instance.get_latest_materialization_event(dg.AssetKey(asset))
    assert event is not None, f"{asset} was never materialized"
    return {k: v.value for k, v in event.asset_materialization.metadata.items()}


def test_demo_completes_when_bars_fail_and_run_health_says_why(demo_env, monkeypatch):
    lines: list[str] = []
    with FailingServer() as srv:
        monkeypatch.setenv("TRACER_BARS_PROVIDER", "alpaca")  # crypto bars need no keys
        monkeypatch.setenv("TRACER_ALPACA_DATA_URL", srv.url)
        code = run(lines)
    assert code == 0, "\n".join(lines[-30:])
    assert srv.paths and set(srv.paths) == {"/v1beta3/crypto/us/bars"}

    lake = Lake(demo_env / "lake")
    days = lake.partitions("run_health")
    assert len(days) == DAYS
    health = lake.read("run_health")
    bars = health[health["asset"] == "bars"]
    assert len(bars) == DAYS and bars["degraded"].all()
    assert set(bars["provider"]) == {"alpaca"}
    assert bars["reason"].str.contains("alpaca_data: crypto bars page 1").all()
    assert bars["reason"].str.contains("HTTP 503").all()
    others = health[health["asset"] != "bars"]
    assert len(others) and not others["degraded"].any()  # the sim news and markets were whole

    meta = latest_metadata("bars")
    assert meta["degraded"] is True and "HTTP 503" in meta["degraded_reason"]
    assert meta["dagster/row_count"] == 0
    # every failed response was kept as received
    assert list((demo_env / "lake" / "raw" / "alpaca_bars").rglob("*.body"))

    (line,) = degraded_reasons(lake, days[0], days[-1])
    assert line.startswith(f"bars from alpaca were incomplete on {DAYS} days")
    digests = lake.read("digest")
    text = "\n".join(digests["text"].astype(str)) if len(digests) else ""
    if "degraded" in text.lower():  # the digest's line is wired by the signals/digest assets
        assert "bars" in text


def test_sentinel_keys_never_reach_lake_outbox_dagster_or_output(demo_env, monkeypatch, capfd, caplog):
    caplog.set_level(logging.INFO)  # httpx logs request URLs (Telegram's token) at INFO
    secrets = {
        "TRACER_ALPACA_KEY_ID": f"AK-{SENTINEL}",
        "TRACER_ALPACA_SECRET_KEY": f"SK-{SENTINEL}",
        "TRACER_PERPLEXITY_API_KEY": f"pplx-{SENTINEL}",
        "TRACER_TELEGRAM_BOT_TOKEN": f"123456:{SENTINEL}",
        "TRACER_TELEGRAM_CHAT_ID": "-100777",
    }
    (demo_env / "universe.yaml").write_text(UNIVERSE + STOCK_LINE)  # stock bars send the keys
    lines: list[str] = []
    with FailingServer() as srv:
        for key, value in secrets.items():
            monkeypatch.setenv(key, value)
        for key, value in {
            "TRACER_BARS_PROVIDER": "alpaca",
            "TRACER_NEWS_PROVIDER": "alpaca",
            "TRACER_MARKETS_PROVIDER": "perplexity",
            "TRACER_NOTIFIER": "telegram",
            "TRACER_ALPACA_DATA_URL": srv.url,
            "TRACER_PERPLEXITY_URL": srv.url,
            "TRACER_POLYMARKET_GAMMA_URL": srv.url,
            "TRACER_TELEGRAM_URL": srv.url,
        }.items():
            monkeypatch.setenv(key, value)
        code = run(lines)
    captured = capfd.readouterr()
    assert code == 0, "\n".join(lines[-30:])
    # the keys really went out (and came back echoed in error bodies), so the scan below means something;
    # news and stock bars share the alpaca_data breaker, which the crypto bars opened
    carried = set(srv.carried_sentinel)
    assert "/v1beta3/crypto/us/bars" in carried
    assert "/chat/completions" in carried
    assert any(p.startswith("/bot") and p.endswith("/sendMessage") for p in carried)
    raw_bodies = list((demo_env / "lake" / "raw").rglob("*.body"))
    assert any(b"***" in body.read_bytes() for body in raw_bodies)

    health = Lake(demo_env / "lake").read("run_health")
    assert set(health.loc[health["degraded"], "asset"]) >= {"bars", "narratives", "polymarket_markets"}

    leaks = {
        "lake (raw zone included)": scan_for(demo_env / "lake", SENTINEL),
        "outbox": scan_for(demo_env / "outbox", SENTINEL),
        "DAGSTER_HOME (event log, runs, compute logs)": scan_for(demo_env / "dagster_home", SENTINEL),
        "anything else under the run's folder": scan_for(Path(demo_env), SENTINEL),
    }
    assert (demo_env / "dagster_home").exists() and any((demo_env / "dagster_home").rglob("*.db"))
    assert {where: found for where, found in leaks.items() if found} == {}
    assert SENTINEL not in captured.out and SENTINEL not in captured.err
    assert caplog.records and SENTINEL not in caplog.text
    assert SENTINEL not in "\n".join(lines)
