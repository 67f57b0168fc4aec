"""Issue 13 item 7: checks that check the partitions a run wrote, block on failure, and a digest
self-check that stops a broken digest from being delivered."""

from __future__ import annotations

import dataclasses

import dagster as dg
import pandas as pd
import pyarrow as pa

from tracer_assets.lake import Lake
from tracer_assets.monitoring.digest_checks import digest_problems
from tracer_assets.monitoring.table_checks import check_partitions, row_problems, schema_problems

DAY, NEXT = "2024-03-05", "2024-03-06"


def _defs():
    from tracer_assets.definitions import build_definitions

    return build_definitions()


def _checks_for(defs, *names: str) -> list:
    keys = {dg.AssetKey(n) for n in names}
    return [c for c in defs.asset_checks if {s.asset_key for s in c.check_specs} & keys]


def _evaluations(result, asset: str) -> list:
    return [e for e in result.get_asset_check_evaluations() if e.asset_key == dg.AssetKey(asset)]


def test_check_reads_the_partition_the_run_wrote_not_the_newest_and_blocks(tracer_env, monkeypatch):
    """A feature bug on an older day (duplicated rows, a negative close) while a newer day is healthy:
    the old check looked at the newest partition and passed."""
    from tracer_assets.defs.market import assets as market

    defs = _defs()
    selection = [market.bars, market.price_features, *_checks_for(defs, "bars", "price_features")]
    resources = {"tracer": defs.resources["tracer"]}
    instance = dg.DagsterInstance.ephemeral()
    good = dg.materialize(selection, partition_key=NEXT, resources=resources, instance=instance)
    assert good.success and all(e.passed for e in _evaluations(good, "price_features"))

    from tracer_assets.pipeline import market as market_stage

    real = market_stage.compute_price_features

    def buggy(bars_df, vol_window):
        feats = real(bars_df, vol_window)
        if len(feats):
            feats.loc[feats.index[0], "close"] = -1.0
            feats = pd.concat([feats, feats.head(3)], ignore_index=True)
        return feats

    monkeypatch.setattr(market_stage, "compute_price_features", buggy)
    bad = dg.materialize(
        selection, partition_key=DAY, resources=resources, instance=instance, raise_on_error=False
    )
    (evaluation,) = _evaluations(bad, "price_features")
    assert not evaluation.passed
    assert evaluation.metadata["partitions"].value == DAY
    assert "duplicate rows on key (symbol, ts)" in evaluation.description
    assert "close values outside" in evaluation.description
    (spec,) = [s for c in _checks_for(defs, "price_features") for s in c.check_specs]
    assert spec.blocking
    # the healthy bars of the same run pass their own check
    assert all(e.passed for e in _evaluations(bad, "bars"))


def test_row_rules_catch_what_the_writer_allows():
    ts = pd.Timestamp("2024-03-05 10:00", tz="UTC")
    signals = pd.DataFrame(
        {
            "signal_id": ["a", "a", "b"],
            "strength": [0.5, 0.5, 1.4],
            "internal_prob": [0.6, 0.6, -0.1],
            "horizon_hours": [24, 24, 24],
            "event_ts": [ts] * 3,
            "available_ts": [ts, ts, ts - pd.Timedelta(hours=1)],
        }
    )
    problems = " | ".join(row_problems("signals", signals))
    assert "1 duplicate rows on key (signal_id)" in problems
    assert "strength values outside [0, 1]" in problems
    assert "internal_prob values outside [0, 1]" in problems
    assert "1 rows available before their event" in problems
    bars = pd.DataFrame(
        {
            "symbol": ["X"],
            "ts": [ts],
            "open": [1.0],
            "high": [0.5],
            "low": [1.0],
            "close": [1.0],
            "volume": [1.0],
        }
    )
    assert any("low > high" in p for p in row_problems("bars", bars.assign(event_ts=ts, available_ts=ts)))
    clean = signals.iloc[:1].assign(available_ts=ts)
    assert row_problems("signals", clean) == []


def test_schema_as_stored_types_and_utc():
    naive = pa.schema([("event_ts", pa.timestamp("us")), ("available_ts", pa.timestamp("us", tz="UTC"))])
    problems = schema_problems("narratives", naive)
    assert "event_ts is timestamp[us], not a UTC timestamp" in problems
    assert "missing column narrative_id" in problems
    wrong = pa.schema(
        [("rank", pa.string())] + [(n, pa.timestamp("us", tz="UTC")) for n in ("event_ts", "available_ts")]
    )
    assert any(p.startswith("rank is string") for p in schema_problems("digest", wrong))
    assert not check_partitions("digest", {}).passed


def _digest_rows(text: str, sections: list[str], degraded: bool = False) -> pd.DataFrame:
    ts = pd.Timestamp("2024-03-05 23:59", tz="UTC")
    rows = [{"section": "digest", "rank": 0, "text": text}] + [
        {"section": s, "rank": i + 1, "text": ""} for i, s in enumerate(sections)
    ]
    return pd.DataFrame(rows).assign(digest_id="d", degraded=degraded, event_ts=ts, available_ts=ts)


def test_digest_self_check_rules():
    ok = "<b>Tracer digest</b>\nTuesday\n\n<b>Top signals</b>\n• BTC"
    assert digest_problems(_digest_rows(ok, ["top"])) == []
    assert any("digits" in p for p in digest_problems(_digest_rows(ok + " up 5%", ["top"])))
    assert any(
        "'polymarket' has rows but no heading" in p
        for p in digest_problems(_digest_rows(ok, ["top", "polymarket"]))
    )
    assert any("no top signals" in p for p in digest_problems(_digest_rows("<b>Tracer digest</b>", [])))
    assert any("degraded" in p for p in digest_problems(_digest_rows(ok, ["top"], degraded=True)))


def test_digest_failing_its_self_check_is_not_delivered(tracer_env, monkeypatch):
    from tracer_assets.defs.digest.assets import digest
    from tracer_assets.pipeline import digest as build

    monkeypatch.setenv("TRACER_DIGEST_DELIVER_MAX_AGE_HOURS", str(10**7))
    real = build.build_digest

    def leaky(*args, **kwargs):
        built = real(*args, **kwargs)
        text = built.text + "\nBTC/USD moved 5% today"
        rows = built.rows.copy()
        rows.loc[rows["section"] == "digest", "text"] = text
        return dataclasses.replace(built, text=text, rows=rows)

    monkeypatch.setattr(build, "build_digest", leaky)
    defs = _defs()
    result = dg.materialize(
        [digest, *_checks_for(defs, "digest")],
        partition_key=DAY,
        resources={"tracer": defs.resources["tracer"]},
        raise_on_error=False,
    )
    assert not list((tracer_env / "outbox").glob("*.txt")), "a digest with a digit in its text was sent"
    self_check = [e for e in _evaluations(result, "digest") if e.check_name == "digest_self_check"]
    assert len(self_check) == 1 and not self_check[0].passed
    assert "digits" in self_check[0].description
    assert Lake(tracer_env / "lake").partitions("digest") == [DAY]
