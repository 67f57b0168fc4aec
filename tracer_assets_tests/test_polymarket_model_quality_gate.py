"""The quality gate on discovered markets: thresholds from settings, reasons in plain words."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tracer_assets.polymarket.quality_gate import quality_gate
from tracer_assets.settings import TracerSettings

AS_OF = pd.Timestamp("2024-05-01 12:00", tz="UTC")


@pytest.fixture
def settings(tracer_env) -> TracerSettings:
    return TracerSettings(
        pm_min_liquidity=1000, pm_min_volume=5000, pm_min_hours_to_end=24, pm_max_spread=0.05
    )


def market(market_id: str, **overrides) -> dict:
    base = {
        "market_id": market_id,
        "yes_price": 0.4,
        "end_ts": AS_OF + pd.Timedelta(days=5),
        "closed": False,
        "liquidity": 5000.0,
        "volume": 20000.0,
        "best_bid": 0.39,
        "best_ask": 0.41,
    }
    return {**base, **overrides}


def gate(settings, *rows) -> tuple[pd.DataFrame, pd.DataFrame]:
    return quality_gate(pd.DataFrame(list(rows)), settings.polymarket, AS_OF)


def test_a_good_market_passes(settings):
    kept, rejected = gate(settings, market("good"))
    assert kept["market_id"].tolist() == ["good"] and rejected.empty
    r = kept.iloc[0]
    assert r["spread"] == pytest.approx(0.02)
    assert r["hours_to_end"] == pytest.approx(120.0)
    assert (r["gate_status"], r["gate_unknown"]) == ("passed", "")


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"liquidity": 200.0}, "liquidity 200 < 1000"),
        ({"volume": "1500.5"}, "volume 1500.5 < 5000"),
        ({"end_ts": AS_OF + pd.Timedelta(hours=3)}, "ends in 3.0 h (minimum 24 h)"),
        ({"best_bid": 0.30, "best_ask": 0.45}, "spread 0.15 > 0.05"),
        ({"best_bid": 0.45, "best_ask": 0.40}, "crossed book"),
        ({"yes_price": np.nan}, "no yes-price"),
        ({"end_ts": pd.NaT}, "no end time"),
    ],
)
def test_each_failed_check_is_named(settings, overrides, reason):
    kept, rejected = gate(settings, market("x", **overrides))
    assert kept.empty
    assert reason in rejected["reason"].item()
    assert rejected["gate_status"].item() == "rejected"


def test_every_failure_is_listed(settings):
    _, rejected = gate(settings, market("bad", liquidity=10.0, volume=10.0))
    assert rejected["reason"].item() == "liquidity 10 < 1000; volume 10 < 5000"


def test_unknown_book_passes_flagged_by_default_and_fails_when_configured(settings, tracer_env):
    row = market("sim", liquidity=np.nan, best_bid=np.nan, best_ask=np.nan)
    kept, rejected = gate(settings, row)
    assert rejected.empty
    assert kept["gate_status"].item() == "passed with unknowns"
    assert kept["gate_unknown"].item() == "liquidity,spread"
    strict = TracerSettings(pm_unknown_passes=False)
    kept, rejected = quality_gate(pd.DataFrame([row]), strict.polymarket, AS_OF)
    assert kept.empty
    assert rejected["reason"].item() == "liquidity unknown; spread unknown"


def test_missing_columns_are_unknown_and_gamma_names_are_read(settings):
    frame = pd.DataFrame([market("g")]).drop(columns=["liquidity", "volume", "best_bid", "best_ask"])
    frame = frame.assign(liquidityNum=50.0, volumeNum=1e6, bestBid=0.39, bestAsk=0.40)
    kept, rejected = quality_gate(frame, settings.polymarket, AS_OF)
    assert "liquidity 50 < 1000" in rejected["reason"].item()
    bare = pd.DataFrame([market("b")]).drop(columns=["liquidity", "volume", "best_bid", "best_ask"])
    kept, _ = quality_gate(bare, settings.polymarket, AS_OF)
    assert kept["gate_unknown"].item() == "liquidity,volume,spread"


def test_closed_markets_are_not_gated_so_resolutions_reach_evaluation(settings):
    closed = market("done", closed=True, end_ts=AS_OF - pd.Timedelta(hours=2), liquidity=0.0, yes_price=1.0)
    kept, rejected = gate(settings, closed, market("open", liquidity=1.0))
    assert kept["market_id"].tolist() == ["done"] and kept["gate_status"].item() == "closed: not gated"
    assert rejected["market_id"].tolist() == ["open"]


def test_nothing_is_lost(settings):
    rows = [market(f"m{i}", liquidity=float(i * 300)) for i in range(10)]
    kept, rejected = gate(settings, *rows)
    assert sorted(kept["market_id"].tolist() + rejected["market_id"].tolist()) == sorted(
        r["market_id"] for r in rows
    )
    assert len(kept) == 6  # liquidity 1200 .. 2700 pass the 1000 minimum


@pytest.mark.parametrize("seed", [0, 1])
def test_the_board_is_the_kept_and_rejected_rows_back_in_input_order(settings, seed):
    """gate_snapshot keeps every row in place; that is the board quality_gate's two parts give when
    joined back in the input order (reason as gate_reason, '' when kept), frame for frame."""
    from tracer_assets.polymarket.quality_gate import gate_snapshot

    rng = np.random.default_rng(seed)
    rows = [
        market(
            f"m{i}",
            liquidity=rng.choice([np.nan, 10.0, 5000.0]),
            best_ask=rng.choice([np.nan, 0.2, 0.45]),
            closed=bool(rng.uniform() < 0.2),
            end_ts=AS_OF + pd.Timedelta(hours=float(rng.uniform(-5, 100))),
            yes_price=rng.choice([0.5, 1.5]),
        )
        for i in range(40)
    ]
    markets = pd.DataFrame(rows, index=rng.permutation(40) + 100)  # not a range index
    board, counts = gate_snapshot(markets, settings.polymarket, AS_OF)
    kept, rejected = quality_gate(markets, settings.polymarket, AS_OF)
    joined = pd.concat([kept.assign(gate_reason=""), rejected.rename(columns={"reason": "gate_reason"})])
    joined = joined.loc[markets.index]
    for col in ("gate_unknown", "gate_status", "gate_reason"):
        joined[col] = joined[col].astype(object).fillna("").astype(str)
    pd.testing.assert_frame_equal(board, joined.reset_index(drop=True), check_exact=True)
    closed = int(markets["closed"].sum())
    assert counts == {"kept": len(kept) - closed, "rejected": len(rejected), "closed": closed}
    assert 0 < len(rejected) < 40 and closed > 0
