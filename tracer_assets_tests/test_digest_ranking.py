"""Digest ranking: strength x probability edge, latest call per symbol, alternates, markets."""

from __future__ import annotations

import pandas as pd
import pytest

from tracer_assets.digest.ranking import matching_markets, rank_signals
from tracer_assets_tests.conftest import settings_factory

AS_OF = pd.Timestamp("2024-06-04 14:00", tz="UTC")


settings = settings_factory(digest_top_n=2, digest_alternates=1, digest_window_hours=24, digest_min_edge=0.0)


def signals(rows):
    """rows: (symbol, direction, strength, prob, hours before AS_OF)."""
    out = pd.DataFrame(rows, columns=["symbol", "direction", "strength", "internal_prob", "age_h"])
    out["decision_ts"] = AS_OF - pd.to_timedelta(out.pop("age_h"), unit="h")
    out["available_ts"] = out["decision_ts"]
    out["signal_id"] = [f"sig-{i}" for i in range(len(out))]
    return out


def test_ranked_by_strength_times_edge_with_alternates():
    s = signals(
        [
            ("A", "long", 0.9, 0.55, 1),  # 0.045
            ("B", "short", 0.5, 0.70, 1),  # 0.100
            ("C", "long", 0.6, 0.60, 1),  # 0.060
            ("D", "long", 0.2, 0.60, 1),  # 0.020
        ]
    )
    r = rank_signals(s, settings().digest, AS_OF)
    assert r["symbol"].tolist() == ["B", "C", "A"]
    assert r["rank"].tolist() == [1, 2, 3]
    assert r["section"].tolist() == ["top", "top", "alternate"]
    assert r["score"].tolist() == pytest.approx([0.1, 0.06, 0.045])


def test_only_live_known_signals_and_the_latest_per_symbol():
    s = signals(
        [
            ("A", "long", 0.9, 0.8, 30),  # older than the window
            ("B", "long", 0.9, 0.8, 5),
            ("B", "short", 0.3, 0.6, 2),  # B's newer call supersedes the older one
            ("C", "long", 0.9, 0.8, -1),  # decided after as_of: not known yet
        ]
    )
    r = rank_signals(s, settings().digest, AS_OF)
    assert r[["symbol", "direction"]].values.tolist() == [["B", "short"]]


def test_no_edge_is_not_ranked():
    s = signals([("A", "long", 0.9, 0.5, 1), ("B", "long", 0.9, 0.45, 1), ("C", "long", 0.1, 0.52, 1)])
    assert rank_signals(s, settings().digest, AS_OF)["symbol"].tolist() == ["C"]
    assert rank_signals(s, settings(digest_min_edge=0.05).digest, AS_OF).empty


def test_missing_columns_and_naive_as_of_are_errors():
    s = signals([("A", "long", 0.9, 0.6, 1)])
    with pytest.raises(ValueError, match="internal_prob"):
        rank_signals(s.drop(columns=["internal_prob"]), settings().digest, AS_OF)
    with pytest.raises(ValueError, match="tz-aware"):
        rank_signals(s, settings().digest, AS_OF.tz_localize(None))


def test_matching_markets_are_open_known_and_on_ranked_symbols():
    ranked = rank_signals(
        signals([("BTC/USD", "long", 0.9, 0.7, 1), ("ETH/USD", "long", 0.8, 0.7, 1)]),
        settings().digest,
        AS_OF,
    )
    markets = pd.DataFrame(
        {
            "market_id": ["m1", "m2", "m3", "m4", "m5"],
            "symbol": ["BTC/USD", "ETH/USD", "SOL/USD", "BTC/USD", "ETH/USD"],
            "question": ["btc up?", "eth up?", "sol up?", "btc closed?", "eth later?"],
            "yes_price": [0.4, 0.6, 0.5, 0.5, 0.5],
            "internal_prob": [0.7, 0.62, 0.9, 0.9, 0.9],
            "closed": [False, False, False, True, False],
            "available_ts": [AS_OF - pd.Timedelta(hours=1)] * 4 + [AS_OF + pd.Timedelta(hours=1)],
        }
    )
    m = matching_markets(markets, ranked, settings(digest_max_markets=5).digest, AS_OF)
    assert m["market_id"].tolist() == ["m1", "m2"]  # biggest disagreement first
    assert matching_markets(markets, ranked, settings(digest_max_markets=1).digest, AS_OF)[
        "market_id"
    ].tolist() == ["m1"]
    assert matching_markets(None, ranked, settings().digest, AS_OF).empty
    no_internal = markets.drop(columns=["internal_prob"])
    assert len(matching_markets(no_internal, ranked, settings().digest, AS_OF)) == 2
