"""All-time metrics folded week by week: the points of scoring everything known from scratch, a week
alone equal to the same week inside a range, and Poisson-bootstrap intervals that cover the truth about
as often as their level promises."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from tracer_assets.evaluation.all_time import all_time_tables
from tracer_assets.evaluation.metrics import METRIC_COLUMNS, metrics_table, prepare_observations
from tracer_assets.evaluation.pair_timeline import NEVER, PairTimeline, pair_segments
from tracer_assets.evaluation.poisson_bootstrap import poisson_weights
from tracer_assets.pipeline.evaluation import eval_metrics_all_time
from tracer_assets.pipeline.store import MemoryStore
from tracer_assets.settings import EvaluationSettings, TracerSettings

FIRST = pd.Timestamp("2024-03-04", tz="UTC")  # a Monday
DAY = pd.Timedelta(days=1)
POINT_COLUMNS = [c for c in METRIC_COLUMNS if not c.endswith(("_lo", "_hi"))]


@pytest.fixture
def settings(tracer_env) -> TracerSettings:
    return TracerSettings(eval_bootstrap_resamples=200)


def history(weeks: int = 6, seed: int = 1) -> pd.DataFrame:
    """Markets scored by both predictors, signals, unscorable rows, outcomes known days late, and
    repeated observations that arrive later but come first in canonical order (their pair replaces
    the one before)."""
    rng = np.random.default_rng(seed)
    n = 40 * weeks
    truth = rng.uniform(0.05, 0.95, n)
    resolved = FIRST + pd.to_timedelta(rng.integers(1, weeks * 7 * 24, n), unit="h")
    lead = rng.choice([24, 168], n)
    market = {
        "kind": "market",
        "question_id": [f"q{i}" for i in range(n)],
        "asset_class": "crypto",
        "direction": "yes",
        "lead_hours": lead,
        "cohort": [f"crypto:lead{h}h" for h in lead],
        "resolved_ts": resolved,
        "decision_ts": resolved - pd.to_timedelta(lead, unit="h"),
        "outcome": (rng.uniform(size=n) < truth).astype(float),
    }
    frames = [
        pd.DataFrame(
            {
                **market,
                "predictor": who,
                "source_model": who,
                "observation_id": [f"{who}-{i}" for i in range(n)],
                "predicted_prob": np.clip(truth + rng.normal(0, noise, n), 0, 1),
            }
        )
        for who, noise in (("market", 0.05), ("internal", 0.25))
    ]
    signals = pd.DataFrame(
        {
            "kind": "signal",
            "predictor": "internal",
            "question_id": [f"s{i}" for i in range(n // 2)],
            "observation_id": [f"s{i}" for i in range(n // 2)],
            "asset_class": rng.choice(["crypto", "us_equity"], n // 2),
            "direction": rng.choice(["long", "short"], n // 2),
            "strength": rng.uniform(0, 3, n // 2),
            "source_model": "lexicon",
            "lead_hours": 24,
            "resolved_ts": FIRST + pd.to_timedelta(rng.integers(1, weeks * 7 * 24, n // 2), unit="h"),
            "predicted_prob": rng.uniform(0.5, 0.75, n // 2),
            "outcome": rng.integers(0, 2, n // 2).astype(float),
        }
    )
    signals["decision_ts"] = signals["resolved_ts"] - DAY
    obs = pd.concat([*frames, signals], ignore_index=True)
    obs["available_ts"] = obs["resolved_ts"] + pd.to_timedelta(
        rng.choice([0, 1, 30, 200], len(obs)), unit="h"
    )
    obs.loc[rng.choice(len(obs), 8, replace=False), "predicted_prob"] = np.nan  # unscorable
    repeats = obs[obs["kind"] == "market"].sample(12, random_state=seed).copy()
    repeats["observation_id"] = "0-" + repeats["observation_id"]  # first in canonical order
    repeats["predicted_prob"] = rng.uniform(size=len(repeats))
    repeats["available_ts"] += 9 * DAY
    obs = pd.concat([obs, repeats], ignore_index=True)
    obs["event_ts"] = obs["resolved_ts"]
    return obs


def week_ends(weeks: int) -> list[pd.Timestamp]:
    return [FIRST + 7 * DAY * (k + 1) for k in range(weeks)]


def test_points_equal_scoring_everything_known_from_scratch(settings):
    s = settings.evaluation
    frame = prepare_observations(history(), s)
    tables = all_time_tables(frame, week_ends(7), s)
    for end, table in tables.items():
        known = frame[(frame["resolved_ts"] <= end) & (frame["available_ts"] <= end)]
        expected = metrics_table(known, s, "all-time", end)
        pd.testing.assert_frame_equal(table[POINT_COLUMNS], expected[POINT_COLUMNS], check_exact=True)
        assert (table["brier_lo"] <= table["brier"]).all() and (table["brier"] <= table["brier_hi"]).all()
    last = tables[week_ends(7)[-1]]
    assert (last["brier_hi"] > last["brier_lo"]).all() and (
        last["brier_block_hi"] > last["brier_block_lo"]
    ).all()
    assert last.loc[last["predictor"] == "internal", "bss_vs_market_lo"].notna().any()


def test_a_week_alone_equals_the_same_week_inside_a_range(settings):
    store = MemoryStore()
    obs = history(weeks=6, seed=2)
    days = pd.date_range(FIRST, FIRST + 60 * DAY, freq="D").strftime("%Y-%m-%d")
    store.write_partitions("eval_observations", obs, days, by="available_ts")
    weeks = [(FIRST + 7 * DAY * k).strftime("%Y-%m-%d") for k in range(7)]
    in_range = eval_metrics_all_time(store, settings, weeks)
    for week in weeks[1::2]:
        alone = eval_metrics_all_time(store, settings, [week])[week]
        pd.testing.assert_frame_equal(alone, in_range[week], check_exact=True, obj=week)
        assert alone["brier_block_lo"].notna().any()
    # a range starting later folds the weeks before it the same way
    tail = eval_metrics_all_time(store, settings, weeks[3:])
    for week in weeks[3:]:
        pd.testing.assert_frame_equal(tail[week], in_range[week], check_exact=True, obj=week)


def test_the_same_observations_in_another_order_give_the_same_intervals(settings):
    s = settings.evaluation
    obs = history(weeks=3, seed=3)
    end = week_ends(3)[-1]
    first = all_time_tables(prepare_observations(obs, s), [end], s)[end]
    again = all_time_tables(prepare_observations(obs.sample(frac=1.0, random_state=5), s), [end], s)[end]
    pd.testing.assert_frame_equal(first, again, check_exact=True)
    other_seed = s.model_copy(update={"eval_bootstrap_seed": s.eval_bootstrap_seed + 1})
    moved = all_time_tables(prepare_observations(obs, other_seed), [end], other_seed)[end]
    pd.testing.assert_frame_equal(moved[POINT_COLUMNS], first[POINT_COLUMNS], check_exact=True)
    assert not moved["brier_lo"].equals(first["brier_lo"])  # the seed picks the draws


@pytest.mark.parametrize("repeats", [False, True])
def test_pair_timeline_holds_the_pairs_market_pairs_would_make_at_every_step(repeats):
    """At each step: per key known on both sides, the first known row of each side (canonical order),
    in the internal rows' order, as ``market_pairs`` pairs them on the rows known by then."""
    rng = np.random.default_rng(5 if repeats else 6)
    sides = []
    for offset in (0, 1000):
        keys = rng.integers(0, 30, 60) if repeats else rng.permutation(40)[:30]
        n = len(keys)
        sides.append(
            pd.DataFrame({"key": keys, "pos": offset + rng.permutation(n), "step": rng.integers(0, 8, n)})
        )
    sides[0].loc[0, "key"] = -1  # no question id: never paired
    timeline = PairTimeline.of(pair_segments(*sides))
    assert not repeats or (timeline.end < NEVER).any()  # some pair was replaced by an earlier row
    for step in range(9):
        first = [
            side[(side["step"] <= step) & (side["key"] >= 0)].groupby("key")["pos"].min() for side in sides
        ]
        expected = pd.concat(first, axis=1, join="inner", keys=["int", "mkt"]).sort_values("int")
        held_int, held_mkt = timeline.held(step)
        np.testing.assert_array_equal(held_int, expected["int"].to_numpy())
        np.testing.assert_array_equal(held_mkt, expected["mkt"].to_numpy())


def test_poisson_weights_follow_the_poisson_law_and_depend_on_the_key_only():
    keys = np.arange(4000, dtype=np.uint64) * np.uint64(7919)
    w = poisson_weights(keys, 250, seed=11)
    assert w.mean() == pytest.approx(1.0, abs=0.01)
    assert w.var() == pytest.approx(1.0, abs=0.02)
    assert (w == 0).mean() == pytest.approx(math.exp(-1), abs=0.005)
    assert (w == 3).mean() == pytest.approx(math.exp(-1) / 6, abs=0.003)
    # neighbouring keys and resamples are unrelated
    assert abs(np.corrcoef(w[:-1].ravel(), w[1:].ravel())[0, 1]) < 0.01
    assert abs(np.corrcoef(w[:, :-1].ravel(), w[:, 1:].ravel())[0, 1]) < 0.01
    # a key's weights do not depend on the other keys drawn with it; the seed changes them
    np.testing.assert_array_equal(poisson_weights(keys[[9, 9, 3]], 250, seed=11), w[[9, 9, 3]])
    assert not np.array_equal(poisson_weights(keys[:50], 250, seed=12), w[:50])


def worlds(n_worlds: int, clustered: bool, seed: int) -> pd.DataFrame:
    """Independent worlds (one kind each) of 60 days x 5 questions, priced by the market at the day's
    true probability and by us at 0.3. Clustered: the day's probability is 0.05 or 0.55 (mean 0.3), so a
    day's outcomes move together; else it is 0.3 every day."""
    rng = np.random.default_rng(seed)
    days, per_day = 60, 5
    n = days * per_day
    frames = []
    for w in range(n_worlds):
        day = np.repeat(np.arange(days), per_day)
        q = rng.choice([0.05, 0.55], days)[day] if clustered else np.full(n, 0.3)
        y = (rng.uniform(size=n) < q).astype(float)
        when = FIRST + pd.to_timedelta(day, unit="D")
        base = {"kind": f"w{w}", "question_id": [f"q{i}" for i in range(n)], "outcome": y}
        base |= {"decision_ts": when + pd.Timedelta(hours=1), "resolved_ts": when + pd.Timedelta(hours=12)}
        for who, p in (("market", q), ("internal", np.full(n, 0.3))):
            frames.append(
                pd.DataFrame(
                    {
                        **base,
                        "predictor": who,
                        "observation_id": [f"{who}{i}" for i in range(n)],
                        "predicted_prob": p,
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def coverage(table: pd.DataFrame, predictor: str, column: str, truth: float) -> float:
    rows = table[(table["predictor"] == predictor) & (table["cohort_dim"] == "all")]
    assert len(rows) > 50
    return float(((rows[f"{column}_lo"] <= truth) & (truth <= rows[f"{column}_hi"])).mean())


@pytest.fixture(scope="module")
def coverage_settings():
    return EvaluationSettings.model_construct(eval_bootstrap_resamples=300)


def test_intervals_cover_the_true_brier_and_hit_rate_about_95_percent_of_the_time(coverage_settings):
    """Independent outcomes: the row and the block intervals both cover at about their level."""
    s = coverage_settings
    end = FIRST + 63 * DAY  # nine weeks folded: the sums are carried from week to week
    table = all_time_tables(prepare_observations(worlds(120, clustered=False, seed=21), s), [end], s)[end]
    # our 0.3 on a 0.3 event: Brier 0.3 * 0.49 + 0.7 * 0.09 = 0.21; p < 0.5 hits when y = 0: 0.7
    for column, truth in (("brier", 0.21), ("brier_block", 0.21), ("hit_rate", 0.7), ("hit_rate_block", 0.7)):
        assert 0.88 <= coverage(table, "internal", column, truth) <= 0.995, column


def test_block_intervals_keep_their_level_where_days_move_together(coverage_settings):
    """Outcomes of a day share its probability: the row intervals are too narrow, the block intervals
    (and the paired skill's) still cover at about their level."""
    s = coverage_settings
    end = FIRST + 63 * DAY
    table = all_time_tables(prepare_observations(worlds(120, clustered=True, seed=22), s), [end], s)[end]
    block = coverage(table, "internal", "brier_block", 0.21)
    rows = coverage(table, "internal", "brier", 0.21)
    assert 0.86 <= block <= 0.995
    assert rows < block - 0.08  # resampling rows one by one ignores the days' common moves
    # market: E[q (1 - q)] = (0.0475 + 0.2475) / 2 = 0.1475, so our skill is 1 - 0.21 / 0.1475
    assert 0.86 <= coverage(table, "market", "brier_block", 0.1475) <= 0.995
    assert 0.84 <= coverage(table, "internal", "bss_vs_market", 1 - 0.21 / 0.1475) <= 0.995
