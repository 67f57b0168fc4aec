"""A key never leaves the process in any form it can take (issue 13, item 3).

The real ``narratives`` asset runs the Perplexity client against a local server; the key has a
trailing CR (a ``.env`` line from Windows) or the server echoes it back JSON-escaped, base64,
URL-encoded and case-changed. Nothing in the lake (raw zone and quarantine included), DAGSTER_HOME,
the logs or the captured output holds any of those forms.
"""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path
from urllib.parse import quote

import dagster as dg
import pytest

from tracer_assets.defs.narratives.assets import narratives
from tracer_assets.defs.resources import TracerResource
from tracer_assets.providers.redact import Redactor
from tracer_assets_tests.providers_helpers import LocalServer, Reply

KEY = 'pplx-Zq7"Sentinel/Key+9x3Wv'
DAY = "2024-03-04"


def forms(key: str) -> dict[str, str]:
    core = key.strip()
    return {
        "plain": core,
        "upper": core.upper(),
        "lower": core.lower(),
        "json": json.dumps(core)[1:-1],
        "url": quote(core, safe=""),
        "base64": base64.b64encode(core.encode()).decode(),
        "base64url-basic": base64.urlsafe_b64encode(f"user:{core}".encode()).decode()[8:-4],
        "head": core[:14],
    }


def leaks(root: Path, texts: list[str], key: str) -> list[str]:
    found = []
    for name, form in forms(key).items():
        needle = form.encode()
        for path in root.rglob("*"):
            if path.is_file() and needle.lower() in path.read_bytes().lower():
                found.append(f"{name} in {path}")
        found += [f"{name} in output" for text in texts if form.lower() in text.lower()]
    return found


def echo(headers: dict[str, str]) -> Reply:
    """A careless server: the key it received, in every escaping it knows, in an error body."""
    sent = (headers.get("Authorization") or "").removeprefix("Bearer ")
    shown = [v for k, v in forms(sent).items() if k not in ("json", "head", "base64url-basic")]
    shown.append("Basic " + base64.urlsafe_b64encode(f"user:{sent}".encode()).decode())
    return Reply(401, {"error": {"message": f"invalid key {sent} " + " ".join(shown), "type": "auth"}})


@pytest.fixture
def perplexity_env(tracer_env, monkeypatch):
    universe = tracer_env / "universe.yaml"
    universe.write_text("instruments:\n  - {symbol: BTC/USD, asset_class: crypto}\n")
    with LocalServer() as server:
        monkeypatch.setenv("TRACER_NEWS_PROVIDER", "perplexity")
        monkeypatch.setenv("TRACER_PERPLEXITY_URL", server.url)
        monkeypatch.setenv("TRACER_UNIVERSE", str(universe))
        monkeypatch.setenv("TRACER_RETRY_MAX_ATTEMPTS", "1")
        yield server, tracer_env


def run_narratives(root: Path) -> dg.ExecuteInProcessResult:
    home = root / "dagster_home"
    home.mkdir(exist_ok=True)
    with dg.DagsterInstance.local_temp(str(home)) as instance:
        return dg.materialize(
            [narratives],
            resources={"tracer": TracerResource(lake_root=str(root / "lake"))},
            partition_key=DAY,
            instance=instance,
            raise_on_error=False,
        )


@pytest.mark.parametrize(
    "key", [KEY + "\r", KEY + "\r\n", KEY + " ", KEY], ids=["cr", "crlf", "space", "echoed"]
)
def test_no_form_of_the_key_leaves_the_process(perplexity_env, monkeypatch, capsys, caplog, key):
    server, root = perplexity_env
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("TRACER_PERPLEXITY_API_KEY", key)
    server.route("/chat/completions", lambda q: echo(server.seen[-1].headers))
    out = run_narratives(root)
    assert out.success
    meta = out.get_asset_materialization_events()[0].materialization.metadata
    reason = meta["degraded_reason"].value
    assert meta["degraded"].value is True and reason  # the failure path that could leak did run
    if key == KEY:
        assert server.seen and "invalid key ***" in reason
    captured = capsys.readouterr()
    texts = [reason, captured.out, captured.err, caplog.text, *[r.getMessage() for r in caplog.records]]
    assert leaks(root, texts, key) == []


def test_every_form_is_masked_and_ordinary_text_is_not():
    from tracer_assets.providers.redact import secret_forms

    redactor = Redactor([KEY + "\r\n"])
    basic = "Basic " + base64.b64encode(f"user:{KEY}".encode()).decode()
    assert forms(KEY)["base64url-basic"] not in redactor.text(basic.replace("+", "-").replace("/", "_"))
    for name, form in forms(KEY).items():
        if name == "base64url-basic":
            continue
        assert KEY.strip() not in redactor.text(f"before {form} after"), name
        assert "***" in redactor.text(f"before {form} after"), name
        assert b"***" in redactor.body(f"x{form}y".encode()), name
    plain = "Bearer tokens and API keys are masked; prices 100.0 and symbols BTC/USD are not"
    assert redactor.text(plain) == plain
    assert secret_forms("abc") == set()  # too short to mask without masking words
