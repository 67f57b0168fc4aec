"""A refused digest delivery is never silent (issue 13, item 9): Telegram answering 401 or 403 gives a
degraded ``run_health`` row for the delivery, the reason in the digest's metadata and a warning, all
redacted; the digest's own text does not count its delivery as an input."""

from __future__ import annotations

import logging

import dagster as dg
import pandas as pd
import pytest

from tracer_assets.defs.digest.assets import digest
from tracer_assets.defs.resources import TracerResource
from tracer_assets.lake import Lake
from tracer_assets_tests.providers_helpers import LocalServer, Reply

TOKEN = "123456:AAE-sentinel-bot-token-9f8e7d"
YESTERDAY = (pd.Timestamp.now(tz="UTC") - pd.Timedelta(days=1)).strftime("%Y-%m-%d")


@pytest.fixture
def telegram_env(tracer_env, monkeypatch):
    with LocalServer() as server:
        monkeypatch.setenv("TRACER_NOTIFIER", "telegram")
        monkeypatch.setenv("TRACER_TELEGRAM_URL", server.url)
        monkeypatch.setenv("TRACER_TELEGRAM_BOT_TOKEN", TOKEN)
        monkeypatch.setenv("TRACER_TELEGRAM_CHAT_ID", "-100777")
        monkeypatch.setenv("TRACER_DIGEST_DELIVER_MAX_AGE_HOURS", "72")
        monkeypatch.setenv("TRACER_RETRY_MAX_ATTEMPTS", "1")
        yield server, tracer_env


def run_digest(root):
    instance = dg.DagsterInstance.ephemeral()
    out = dg.materialize(
        [digest],
        resources={"tracer": TracerResource(lake_root=str(root / "lake"))},
        partition_key=YESTERDAY,
        instance=instance,
    )
    return out, instance


@pytest.mark.parametrize(
    "status, description",
    [(401, "Unauthorized"), (403, "Forbidden: bot was kicked from the group chat")],
)
def test_a_refused_delivery_is_in_run_health_metadata_and_logs(telegram_env, caplog, status, description):
    server, root = telegram_env
    caplog.set_level(logging.WARNING)
    answer = {"ok": False, "error_code": status, "description": f"{description} ({TOKEN})"}
    server.route(f"/bot{TOKEN}/sendMessage", lambda q: Reply(status, answer))
    out, instance = run_digest(root)
    assert out.success
    meta = out.get_asset_materialization_events()[0].materialization.metadata
    assert meta["delivery_failed"].value is True
    reason = meta["delivery_failure_reason"].value
    assert "telegram did not deliver the digest" in reason and str(status) in reason
    assert description.split(":")[0] in reason and TOKEN not in reason
    health = Lake(root / "lake").read("run_health", YESTERDAY, YESTERDAY)
    row = health[health["asset"] == "digest_delivery"].iloc[0]
    assert bool(row["degraded"]) and row["provider"] == "telegram" and str(status) in row["reason"]
    warnings = [e.user_message for e in instance.all_logs(out.run_id) if e.level == logging.WARNING]
    assert any("did not deliver" in w for w in warnings) and not any(TOKEN in w for w in warnings)
    # the delivery is not an input of the digest: its text does not call itself incomplete
    rows = Lake(root / "lake").read("digest", YESTERDAY, YESTERDAY)
    assert not rows["degraded"].fillna(False).astype(bool).any()


def test_a_later_delivery_clears_the_failure(telegram_env):
    server, root = telegram_env
    server.route(f"/bot{TOKEN}/sendMessage", lambda q: Reply(401, {"ok": False, "error_code": 401}))
    run_digest(root)
    server.route(f"/bot{TOKEN}/sendMessage", lambda q: Reply(200, {"ok": True, "result": {"message_id": 7}}))
    out, _ = run_digest(root)
    meta = out.get_asset_materialization_events()[0].materialization.metadata
    assert meta["delivery_failed"].value is False
    health = Lake(root / "lake").read("run_health", YESTERDAY, YESTERDAY)
    assert health.loc[health["asset"] == "digest_delivery", "degraded"].tolist() == [False]
