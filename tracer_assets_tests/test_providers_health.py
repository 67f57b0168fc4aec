"""Quarantine and run_health rows written per fetching asset, and the degraded flags read back."""

import logging

import dagster as dg
import pandas as pd
import pytest

from tracer_assets.defs.fetching import fetch_recorded
from tracer_assets.defs.resources import TracerResource
from tracer_assets.lake import Lake
from tracer_assets.providers.health import (
    carry_degraded,
    combine_results,
    degraded_reasons,
    keeps_earlier,
    quarantine_by_day,
    record_fetch,
    write_fetched,
)
from tracer_assets.providers.results import FetchResult, empty_frame
from tracer_assets.providers.validation import Quarantine

D1, D2, D3 = "2024-03-04", "2024-03-05", "2024-03-06"
NOW = pd.Timestamp("2024-03-07T09:00:00Z")
REASON = "alpaca_data: crypto bars page 1: gave up after 4 attempts: HTTP 503: Service Unavailable"


def quarantine(*event_days: str, provider: str = "alpaca_bars") -> pd.DataFrame:
    q = Quarantine(provider)
    for i, day in enumerate(event_days):
        q.add(
            "bars",
            f"c: Input should be greater than 0 (#{i})",
            {"c": -1, "i": i},
            pd.Timestamp(day, tz="UTC"),
            NOW,
        )
    return q.frame()


def bars_frame(*days: str) -> pd.DataFrame:
    rows = [
        {
            "symbol": "BTC/USD",
            "asset_class": "crypto",
            "ts": pd.Timestamp(day, tz="UTC"),
            "open": 1.0,
            "high": 1.0,
            "low": 1.0,
            "close": 1.0,
            "volume": 1.0,
            "event_ts": pd.Timestamp(day, tz="UTC") + pd.Timedelta(hours=1),
            "available_ts": pd.Timestamp(day, tz="UTC") + pd.Timedelta(hours=1),
            "source": "test",
        }
        for day in days
    ]
    return pd.DataFrame(rows) if rows else empty_frame("bars")


def result(
    frame: pd.DataFrame | None = None, q: pd.DataFrame | None = None, reasons: list[str] | None = None
) -> FetchResult:
    kwargs = {"quarantine": q} if q is not None else {}
    return FetchResult(
        "alpaca",
        bars_frame() if frame is None else frame,
        degraded=bool(reasons),
        reasons=list(reasons or []),
        **kwargs,
    )


def test_record_fetch_writes_quarantine_and_one_health_row_per_day(tmp_path):
    lake = Lake(tmp_path)
    res = result(bars_frame(D1), quarantine(D1, D1, D3), [REASON])
    meta = record_fetch(lake, res, asset="bars", days=[D1, D2, D3], run_id="run-1", now=NOW)

    assert meta["degraded"] is True and meta["degraded_reason"] == REASON and meta["quarantined_rows"] == 3
    q = lake.read("quarantine")
    assert sorted(pd.to_datetime(q["event_ts"]).dt.strftime("%Y-%m-%d")) == [D1, D1, D3]
    assert set(q["reason"].str.startswith("c: Input should be greater than 0")) == {True}
    assert lake.partition_path("quarantine", D2, part="bars").exists()  # empty: nothing bad that day
    health = lake.read("run_health").sort_values("partition")
    assert list(health["partition"]) == [D1, D2, D3]
    assert health["degraded"].all() and set(health["reason"]) == {REASON}
    assert set(health["run_id"]) == {"run-1"} and set(health["asset"]) == {"bars"}
    assert health["health_id"].is_unique
    # analysts can query both through DuckDB ("table" is a keyword: quote it)
    bad = lake.query('SELECT "table", count(*) AS n FROM quarantine GROUP BY 1')
    assert bad.to_dict("records") == [{"table": "bars", "n": 3}]
    rows = lake.query("SELECT partition, reason FROM run_health WHERE degraded ORDER BY partition")
    assert list(rows["partition"]) == [D1, D2, D3]


def test_each_asset_owns_its_part_and_a_clean_rerun_clears_only_its_own(tmp_path):
    lake = Lake(tmp_path)
    record_fetch(
        lake, result(q=quarantine(D1), reasons=[REASON]), asset="bars", days=[D1], run_id="r1", now=NOW
    )
    news_q = quarantine(D1, provider="alpaca_news")
    record_fetch(lake, result(q=news_q), asset="narratives", days=[D1], run_id="r1", now=NOW)
    assert len(lake.read("quarantine", D1, D1)) == 2
    assert len(lake.read("run_health", D1, D1)) == 2

    record_fetch(lake, result(), asset="bars", days=[D1], run_id="r2", now=NOW)
    q = lake.read("quarantine", D1, D1)
    assert list(q["provider"]) == ["alpaca_news"]  # bars' stale rows gone, narratives' kept
    health = lake.read("run_health", D1, D1).set_index("asset")
    assert health.loc["bars", "run_id"] == "r2" and not health.loc["bars", "degraded"]
    assert health.loc["narratives", "run_id"] == "r1"
    record_fetch(lake, result(), asset="narratives", days=[D1], run_id="r2", now=NOW)
    assert lake.query("SELECT count(*) AS n FROM quarantine")["n"].iloc[0] == 0  # empty, still queryable


def test_quarantine_rows_outside_the_days_are_filed_never_dropped():
    q = quarantine("2024-03-01", D2, "2024-03-09", D3)
    split = quarantine_by_day(q, [D1, D3])
    assert sum(len(f) for f in split.values()) == len(q)
    assert len(split[D1]) == 2  # before the first day, and D2 (a gap) go to the earlier day
    assert len(split[D3]) == 2  # after the last day
    # event_ts stays what the row said
    assert "2024-03-09" in set(pd.to_datetime(split[D3]["event_ts"]).dt.strftime("%Y-%m-%d"))
    assert quarantine_by_day(q.iloc[0:0], [D1]) == {}
    with pytest.raises(ValueError):
        quarantine_by_day(q, [])


def test_degraded_reasons_one_plain_line_per_asset_and_provider(tmp_path):
    lake = Lake(tmp_path)
    assert degraded_reasons(lake, D1, D3) == []  # nothing recorded yet
    record_fetch(lake, result(reasons=[REASON]), asset="bars", days=[D1, D2], run_id="r", now=NOW)
    record_fetch(lake, result(), asset="narratives", days=[D1, D2], run_id="r", now=NOW)
    other = "polymarket_gamma: markets page 1: HTTP 404: " + "x" * 400
    record_fetch(lake, result(reasons=[other]), asset="polymarket_markets", days=[D2], run_id="r", now=NOW)

    lines = degraded_reasons(lake, D1, D3)
    assert len(lines) == 2
    bars_line, poly_line = lines
    assert bars_line == f"bars from alpaca were incomplete on 2 days ({D1} to {D2}): {REASON}"
    assert poly_line.startswith(f"polymarket_markets from alpaca were incomplete on {D2}: polymarket_gamma")
    assert poly_line.endswith("...") and len(poly_line) < 320
    assert degraded_reasons(lake, D1, D1) == [f"bars from alpaca were incomplete on {D1}: {REASON}"]
    assert degraded_reasons(lake, D3, D3) == []


def test_degraded_reasons_prefers_the_latest_reason_and_counts_the_others(tmp_path):
    lake = Lake(tmp_path)
    record_fetch(lake, result(reasons=["old outage"]), asset="bars", days=[D1], run_id="r1", now=NOW)
    later = NOW + pd.Timedelta(hours=1)
    record_fetch(lake, result(reasons=["new outage"]), asset="bars", days=[D2], run_id="r2", now=later)
    (line,) = degraded_reasons(lake, D1, D2)
    assert "new outage (and 1 other reason)" in line


def test_carry_degraded_for_downstream_metadata(tmp_path):
    lake = Lake(tmp_path)
    assert carry_degraded(lake, [D1]) == {"degraded": False, "degraded_reason": "", "degraded_inputs": ""}
    record_fetch(lake, result(), asset="narratives", days=[D1, D2, D3], run_id="r", now=NOW)
    record_fetch(lake, result(reasons=[REASON]), asset="bars", days=[D2], run_id="r", now=NOW)
    assert carry_degraded(lake, [D1, D3])["degraded"] is False  # D2 lies between but is not asked for
    carried = carry_degraded(lake, [D2, D3])
    assert carried["degraded"] is True and carried["degraded_inputs"] == "bars"
    assert carried["degraded_reason"] == f"bars from alpaca were incomplete on {D2}: {REASON}"
    assert carry_degraded(lake, [])["degraded"] is False


def test_an_outage_never_wipes_partitions_an_earlier_run_filled(tmp_path):
    lake = Lake(tmp_path)
    lake.write_partitions("bars", bars_frame(D1, D2), [D1, D2], by="ts")
    assert keeps_earlier(lake, "bars", D1, result(reasons=[REASON])) is True
    assert keeps_earlier(lake, "bars", D3, result(reasons=[REASON])) is False
    assert keeps_earlier(lake, "bars", D1, result(bars_frame(D1), reasons=[REASON])) is False
    down = result(bars_frame(D2), reasons=[REASON])  # D2 fetched, D1 lost, D3 never written before
    counts, kept = write_fetched(lake, "bars", [D1, D2, D3], down, by="ts")
    assert counts == {D1: 1, D2: 1, D3: 0} and kept == 1
    healthy_empty = result()  # a whole fetch that found nothing does clear the days
    assert write_fetched(lake, "bars", [D1, D2, D3], healthy_empty, by="ts") == ({D1: 0, D2: 0, D3: 0}, 0)


def test_combine_results_of_several_fetches():
    a = result(bars_frame(D1), quarantine(D1), [REASON])
    b = FetchResult("alpaca", bars_frame(D2), stats={"pages": 2})
    a.stats = {"pages": 1}
    both = combine_results([a, b])
    assert len(both.frame) == 2 and len(both.quarantine) == 1
    assert both.degraded and both.reasons == [REASON] and both.stats == {"pages": 3}
    assert combine_results([b]).degraded is False
    with pytest.raises(ValueError):
        combine_results([])


class DownProvider:
    """A provider whose every fetch is degraded, as a real one is when its service is down."""

    name = "alpaca"

    def fetch_bars_result(self, instruments, start, end) -> FetchResult:
        return result(q=quarantine(start.strftime("%Y-%m-%d")), reasons=[REASON])


def test_fetch_recorded_in_an_asset_sets_metadata_logs_and_writes_health(tmp_path):
    partitions = dg.DailyPartitionsDefinition(start_date="2024-03-01")

    @dg.asset(name="bars", partitions_def=partitions)
    def fake_bars(context: dg.AssetExecutionContext, tracer: TracerResource) -> dg.MaterializeResult:
        start = pd.Timestamp(context.partition_key, tz="UTC")
        res, meta = fetch_recorded(context, tracer, DownProvider(), "fetch_bars", [], start, start)
        return dg.MaterializeResult(metadata=meta)

    instance = dg.DagsterInstance.ephemeral()
    out = dg.materialize(
        [fake_bars],
        resources={"tracer": TracerResource(lake_root=str(tmp_path / "lake"))},
        partition_key=D1,
        instance=instance,
    )
    assert out.success
    meta = out.get_asset_materialization_events()[0].materialization.metadata
    assert meta["degraded"].value is True and meta["degraded_reason"].value == REASON
    assert meta["quarantined_rows"].value == 1 and meta["provider"].value == "alpaca"
    warnings = [e.user_message for e in instance.all_logs(out.run_id) if e.level == logging.WARNING]
    assert f"bars: alpaca degraded: {REASON}" in warnings
    lake = Lake(tmp_path / "lake")
    health = lake.read("run_health")
    assert list(health["run_id"]) == [out.run_id] and health["degraded"].all()
    assert len(lake.read("quarantine", D1, D1)) == 1


def test_a_partial_outage_keeps_the_missing_symbols_earlier_rows(tmp_path):
    lake = Lake(tmp_path)
    eth = bars_frame(D1).assign(symbol="ETH/USD")
    lake.write_partitions("bars", pd.concat([bars_frame(D1), eth]), [D1], by="ts")
    fresh_btc = bars_frame(D1).assign(close=2.0)  # ETH failed this time
    counts, kept = write_fetched(lake, "bars", [D1, D2], result(fresh_btc, reasons=[REASON]), by="ts")
    back = lake.read("bars", D1, D1).set_index("symbol")
    assert kept == 1 and counts == {D1: 2, D2: 0}
    assert back.loc["BTC/USD", "close"] == 2.0 and back.loc["ETH/USD", "close"] == 1.0
    # a whole fetch replaces the day, ETH included
    counts, kept = write_fetched(lake, "bars", [D1], result(fresh_btc), by="ts")
    assert kept == 0 and lake.read("bars", D1, D1)["symbol"].tolist() == ["BTC/USD"]
