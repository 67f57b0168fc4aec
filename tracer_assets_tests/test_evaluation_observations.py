"""Market observations: both predictors frozen at each lead from the same snapshot, never from the
resolution day; gate, 50-50, negRisk and first-sighting rules; one schema for every partition."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tracer_assets.evaluation.observations import (
    MARKET_EXTRA_COLUMNS,
    OBSERVATION_COLUMNS,
    combine_observations,
    market_observations,
    resolved_markets,
)
from tracer_assets.lake import Lake

END = pd.Timestamp("2024-03-10", tz="UTC")  # "close on 2024-03-09": resolves at 00:00 on the 10th
CLASSES = {"BTC/USD": "crypto"}


def snap(
    market_id: str,
    day: str,
    yes: float,
    internal: float | None,
    *,
    closed: bool = False,
    outcome: float = np.nan,
    end: pd.Timestamp = END,
    gate: str = "passed",
    neg_risk: bool = False,
    hour: int = 23,
) -> dict:
    ts = pd.Timestamp(day, tz="UTC") + pd.Timedelta(hours=hour)
    return {
        "market_id": market_id,
        "question": f"Will BTC/USD close above $60,000 ({market_id})?",
        "symbol": "BTC/USD",
        "yes_price": yes,
        "internal_prob": np.nan if internal is None else internal,
        "end_ts": end,
        "closed": closed,
        "resolved_outcome": outcome,
        "gate_status": "closed: not gated" if closed else gate,
        "neg_risk": neg_risk,
        "event_ts": ts,
        "available_ts": ts,
    }


def frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows)


def daily_history(market_id: str, first: str, *, outcome: float = 1.0, **kw) -> list[dict]:
    """Snapshots at 23:00 from ``first`` to the day before END (prices drift to the answer), then the
    resolution seen in END's snapshot. The resolution day's snapshot prices the answer at 0.99."""
    days = pd.date_range(pd.Timestamp(first, tz="UTC"), END - pd.Timedelta(days=1), freq="D")
    rows = [
        snap(market_id, d.strftime("%Y-%m-%d"), 0.40 + 0.01 * i, 0.30 + 0.01 * i, **kw)
        for i, d in enumerate(days[:-1])
    ]
    rows.append(snap(market_id, days[-1].strftime("%Y-%m-%d"), 0.99, 0.98, hour=12, **kw))  # resolution day
    rows.append(
        snap(market_id, END.strftime("%Y-%m-%d"), 1.0, None, closed=True, outcome=outcome, hour=1, **kw)
    )
    return rows


def test_each_lead_freezes_both_predictors_from_the_same_earlier_snapshot():
    obs, stats = market_observations(frame(daily_history("q1", "2024-03-01")), [24, 168], CLASSES)
    assert stats == {"resolved": 1, "void": 0, "scored_questions": 1, "not_frozen": 0}
    assert len(obs) == 4  # 2 leads x 2 predictors
    for lead, g in obs.groupby("lead_hours"):
        by = g.set_index("predictor")
        # the same snapshot row: same decision time, both predictions from it
        assert by.loc["market", "decision_ts"] == by.loc["internal", "decision_ts"]
        assert by.loc["market", "decision_ts"] <= END - pd.Timedelta(hours=int(lead))
        assert by.loc["internal", "predicted_prob"] == pytest.approx(
            by.loc["market", "predicted_prob"] - 0.10
        )
    day24 = obs[obs["lead_hours"] == 24].iloc[0]
    # end - 24 h = 2024-03-09 00:00; the newest snapshot at or before it is 2024-03-08 23:00
    assert day24["decision_ts"] == pd.Timestamp("2024-03-08 23:00", tz="UTC")
    day168 = obs[obs["lead_hours"] == 168].iloc[0]
    assert day168["decision_ts"] == pd.Timestamp("2024-03-02 23:00", tz="UTC")
    assert set(obs["kind"]) == {"market"} and set(obs["outcome"]) == {1}
    assert set(obs["cohort"]) == {"crypto:lead24h", "crypto:lead168h"}
    assert list(obs.columns) == OBSERVATION_COLUMNS + MARKET_EXTRA_COLUMNS


def test_no_price_from_the_resolution_day_enters_even_at_a_short_lead():
    obs, _ = market_observations(frame(daily_history("q1", "2024-03-05")), [2], CLASSES)
    # end - 2 h is on the 9th, where the market already priced the answer at 0.99: not used
    resolution_day = pd.Timestamp("2024-03-09", tz="UTC")
    assert (obs["decision_ts"] < resolution_day).all()
    assert obs.set_index("predictor").loc["market", "predicted_prob"] == pytest.approx(0.43)
    assert (obs["predicted_prob"] < 0.9).all()


def test_questions_without_an_internal_prob_are_not_scored_by_either_predictor():
    rows = [
        r | {"internal_prob": np.nan} if r["market_id"] == "q2" else r
        for r in daily_history("q1", "2024-03-05") + daily_history("q2", "2024-03-05")
    ]
    obs, stats = market_observations(frame(rows), [24], CLASSES)
    assert set(obs["question_id"]) == {"q1"}
    assert stats["not_frozen"] == 1
    market_q = set(obs.loc[obs["predictor"] == "market", "question_id"])
    assert market_q == set(obs.loc[obs["predictor"] == "internal", "question_id"])


def test_a_snapshot_the_gate_rejected_is_skipped_unless_asked_for():
    rows = daily_history("q1", "2024-03-05")
    for r in rows:
        if r["available_ts"] == pd.Timestamp("2024-03-08 23:00", tz="UTC"):
            r["gate_status"] = "rejected"
    obs, _ = market_observations(frame(rows), [24], CLASSES)
    assert obs["decision_ts"].unique().tolist() == [pd.Timestamp("2024-03-07 23:00", tz="UTC")]
    assert (obs["gate_status"] == "passed").all()
    obs, _ = market_observations(frame(rows), [24], CLASSES, score_rejected=True)
    assert obs["decision_ts"].unique().tolist() == [pd.Timestamp("2024-03-08 23:00", tz="UTC")]


def test_fifty_fifty_is_counted_void_and_neg_risk_is_scored_apart():
    rows = daily_history("void", "2024-03-05", outcome=0.5) + daily_history(
        "leg", "2024-03-05", neg_risk=True
    )
    rows += daily_history("plain", "2024-03-05", outcome=0.0)
    obs, stats = market_observations(frame(rows), [24], CLASSES)
    assert stats["void"] == 1 and stats["resolved"] == 2
    assert "void" not in set(obs["question_id"])
    kinds = obs.drop_duplicates("question_id").set_index("question_id")["kind"]
    assert kinds.to_dict() == {"leg": "market_neg_risk", "plain": "market"}
    assert set(obs.loc[obs["question_id"] == "plain", "outcome"]) == {0}


def test_resolution_is_known_at_its_first_sighting_only():
    rows = daily_history("q1", "2024-03-05")
    later = snap("q1", "2024-03-11", 1.0, None, closed=True, outcome=1.0)
    resolved = resolved_markets(frame([*rows, later]))
    assert len(resolved) == 1
    assert resolved["known_ts"].iloc[0] == pd.Timestamp("2024-03-10 01:00", tz="UTC")
    assert resolved["resolved_ts"].iloc[0] == END
    obs, _ = market_observations(frame([*rows, later]), [24], CLASSES)
    assert (obs["available_ts"] == pd.Timestamp("2024-03-10 01:00", tz="UTC")).all()
    assert (obs["available_ts"] >= obs["resolved_ts"]).all()


def test_an_early_close_moves_resolution_and_the_cutoff():
    rows = daily_history("q1", "2024-03-01")
    rows = [r for r in rows if r["available_ts"] < pd.Timestamp("2024-03-07", tz="UTC")]
    rows.append(snap("q1", "2024-03-07", 1.0, None, closed=True, outcome=1.0, hour=5))
    obs, _ = market_observations(frame(rows), [24], CLASSES)
    # seen closed at 05:00 on the 7th, three days before its end: that is the resolution time
    assert (obs["resolved_ts"] == pd.Timestamp("2024-03-07 05:00", tz="UTC")).all()
    assert (obs["decision_ts"] < pd.Timestamp("2024-03-07", tz="UTC")).all()


def test_nothing_resolved_gives_an_empty_frame():
    obs, stats = market_observations(frame([snap("q1", "2024-03-05", 0.4, 0.3)]), [24], CLASSES)
    assert obs.empty and stats["resolved"] == 0
    obs, _ = market_observations(pd.DataFrame(), [24], CLASSES)
    assert obs.empty


def test_signal_and_market_partitions_share_one_schema(tmp_path):
    market, _ = market_observations(frame(daily_history("q1", "2024-03-05")), [24], CLASSES)
    signal = pd.DataFrame(
        {
            "kind": ["signal"],
            "observation_id": ["s1"],
            "cohort": ["crypto:long"],
            "predictor": ["internal"],
            "question_id": ["sig1"],
            "symbol": ["BTC/USD"],
            "asset_class": ["crypto"],
            "direction": ["long"],
            "strength": [0.7],
            "source_model": ["lexicon"],
            "lead_hours": [24],
            "decision_ts": [pd.Timestamp("2024-03-09", tz="UTC")],
            "resolved_ts": [pd.Timestamp("2024-03-10", tz="UTC")],
            "predicted_prob": [0.6],
            "outcome": [1],
            "event_ts": [pd.Timestamp("2024-03-10", tz="UTC")],
            "available_ts": [pd.Timestamp("2024-03-10", tz="UTC")],
        }
    )
    lake = Lake(tmp_path)
    lake.write_partition("eval_observations", "2024-03-09", combine_observations(signal))
    lake.write_partition("eval_observations", "2024-03-10", combine_observations(signal, market))
    both = lake.read("eval_observations")  # a schema clash between partitions would raise here
    assert len(both) == 1 + 1 + len(market)
    assert both["neg_risk"].dtype == bool and not both["neg_risk"].any()
    assert set(both.loc[both["kind"] == "signal", "gate_status"]) == {""}
