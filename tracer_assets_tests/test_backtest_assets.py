"""The backtest assets on a small sim range: tables, baselines, the tear sheet and the cohorts SQL."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import empyrical as ep
import numpy as np
import pandas as pd
import pytest

from tracer_assets.definitions import ALL_ASSETS, build_definitions
from tracer_assets.demo import QUIET_RUN_CONFIG
from tracer_assets.lake import Lake
from tracer_assets_tests.conftest import isolated_session
from tracer_assets_tests.pipeline_util import range_tags

FIRST, LAST = "2024-03-04", "2024-03-15"
UPSTREAM = {"bars", "price_features", "narratives", "narrative_scores", "narrative_pressure", "signals"}
MINE = {"backtest_trades", "backtest_equity", "backtest_summary"}


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("backtest")
    env = {"TRACER_BACKTEST_PLACEBO_DRAWS": "40", "TRACER_BACKTEST_PRICE_ONLY_DRAWS": "1"}
    with isolated_session(tmp, **env):
        defs = build_definitions()
        instance = dg.DagsterInstance.ephemeral()
        daily = [a for a in ALL_ASSETS if a.key.path[-1] in UPSTREAM | MINE]
        result = dg.materialize(
            ALL_ASSETS,
            selection=daily,
            instance=instance,
            resources={"tracer": defs.resources["tracer"]},
            tags=range_tags(FIRST, LAST),
            run_config=QUIET_RUN_CONFIG,
        )
        assert result.success
        sql = [a for a in ALL_ASSETS if a.key.path[-1] == "backtest_cohorts"]
        assert dg.materialize(
            ALL_ASSETS, selection=sql, instance=instance, resources={"tracer": defs.resources["tracer"]}
        ).success
        mats = {
            e.event_specific_data.materialization.asset_key.path[-1]: e.event_specific_data.materialization
            for e in result.get_asset_materialization_events()
        }
        yield Lake(tmp / "lake"), mats


def test_summary_carries_tracer_and_every_baseline(lake):
    lk, _ = lake
    s = lk.read("backtest_summary")
    assert set(s["strategy"]) == {"tracer", "buy_and_hold", "placebo", "price_only"}
    assert (s["range_start"] == pd.Timestamp(FIRST, tz="UTC")).all()
    assert (s["range_end"] == pd.Timestamp(LAST, tz="UTC") + pd.Timedelta(days=1)).all()
    t = s[s["strategy"] == "tracer"].iloc[0]
    assert t["n_trades"] > 0 and t["placebo_draws"] == 40
    assert 0.0 <= t["placebo_sharpe_percentile"] <= 100.0
    assert t["placebo_sharpe_p05"] <= t["placebo_sharpe_p95"]
    placebo = s[s["strategy"] == "placebo"].iloc[0]
    assert placebo["n_trades"] == t["n_trades"]  # same trades, shuffled in time
    bh = s[s["strategy"] == "buy_and_hold"].iloc[0]
    assert bh["exposure"] > 0.9 and bh["n_trades"] == 12
    for col in ("sharpe", "max_drawdown", "turnover", "hit_rate", "costs_paid"):
        assert np.isfinite(t[col]), col
    # Sortino has no downside deviation to divide by when no day lost money
    assert np.isfinite(t["sortino"]) or t["max_drawdown"] == 0.0


def test_tracer_trades_come_from_its_signals_with_costs(lake):
    lk, _ = lake
    trades = lk.read("backtest_trades")
    mine = trades[trades["strategy"] == "tracer"]
    signals = lk.read("signals").set_index("signal_id")
    assert mine["signal_id"].isin(signals.index).all()
    assert (mine["direction"].to_numpy() == signals.loc[mine["signal_id"], "direction"].to_numpy()).all()
    assert (mine["entry_ts"] >= mine["decision_ts"]).all()
    assert (mine["fees"] > 0).all() and (mine["slippage"] > 0).all()
    # a stock fills only inside its session: at a bar's open that exists in the bars table
    bars = lk.read("bars")
    stock = mine[mine["asset_class"] == "stock"]
    opens = set(zip(bars["symbol"], bars["ts"], strict=True))
    assert all((s, t) in opens for s, t in zip(stock["symbol"], stock["entry_ts"], strict=True))


def test_equity_adds_up_and_total_return_matches_empyrical(lake):
    lk, _ = lake
    eq = lk.read("backtest_equity")
    mine = eq[eq["strategy"] == "tracer"]
    port = mine[mine["scope"] == "portfolio"].set_index("ts")["equity"]
    sym = mine[mine["scope"] == "symbol"].groupby("ts")["pnl"].sum()
    np.testing.assert_allclose(port.to_numpy(), 100_000.0 + sym.reindex(port.index).to_numpy())
    s = lk.read("backtest_summary").set_index("strategy").loc["tracer"]
    daily = port.groupby(port.index.floor("D")).last()
    returns = pd.concat([pd.Series([100_000.0]), daily.reset_index(drop=True)]).pct_change().dropna()
    assert s["total_return"] == pytest.approx(ep.cum_returns_final(returns))
    assert s["final_equity"] == pytest.approx(port.iloc[-1])


def test_tear_sheet_is_written_once_with_one_shared_plotly(lake):
    lk, mats = lake
    folder = Path(lk.root) / "artifacts" / "backtest"
    pages = list(folder.glob("tearsheet_*.html"))
    assert [p.name for p in pages] == [f"tearsheet_{FIRST}_{LAST}.html"]
    assert [p.name for p in folder.glob("*.js")] == ["plotly.min.js"]
    html = pages[0].read_text()
    assert 'src="plotly.min.js"' in html and len(html) < 1_000_000
    assert mats["backtest_summary"].metadata["tearsheet"].value == str(pages[0].resolve())


def test_cohorts_sql_reads_the_trades(lake):
    lk, _ = lake
    cohorts = lk.read("backtest_cohorts")
    trades = lk.read("backtest_trades")
    closed = trades[(trades["strategy"] == "tracer") & ~trades["is_open"]]
    assert set(cohorts["dimension"]) == {"all", "asset_class", "direction", "strength_bucket", "month"}
    everything = cohorts[cohorts["dimension"] == "all"].iloc[0]
    assert everything["n_trades"] == len(closed)
    assert everything["pnl"] == pytest.approx(closed["pnl"].sum())
    by_dir = cohorts[cohorts["dimension"] == "direction"]
    assert by_dir["n_trades"].sum() == len(closed)
