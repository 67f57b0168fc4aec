"""Novelty and near-duplicate grouping: the real MiniLM on a handful of texts, the logic on hashing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tracer_assets.sentiment.novelty import (
    HashingEmbedder,
    batch_runs,
    build_embedder,
    novelty_and_duplicates,
)
from tracer_assets.sentiment.scoring import score_narratives
from tracer_assets.settings import TracerSettings


@pytest.fixture(autouse=True)
def _isolated(tracer_env):
    """No TRACER_* variable or .env file of the machine (e.g. a real Perplexity key) leaks in."""
    return tracer_env


T0 = pd.Timestamp("2024-03-01 09:00", tz="UTC")
STORY = "Crypto exchange halts withdrawals citing a liquidity crunch"
COPY = "Crypto exchange halts withdrawals citing a liquidity crunch - Reuters"
UNRELATED = "Apple unveils a new line of iPad models at its spring event"


def narratives(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    """(id, symbol, headline, hours after T0 when available)."""
    df = pd.DataFrame(rows, columns=["narrative_id", "symbol", "headline", "hours"])
    df["available_ts"] = T0 + pd.to_timedelta(df.pop("hours"), unit="h")
    df["event_ts"] = df["available_ts"] - pd.Timedelta(minutes=1)
    df["summary"] = ""
    return df


@pytest.fixture(scope="module")
def minilm():
    return build_embedder("minilm", device="cpu", batch_size=8)


def test_minilm_copy_scores_near_zero_and_unrelated_near_one(minilm, tmp_path):
    df = narratives([("a", "BTC/USD", STORY, 0), ("b", "BTC/USD", COPY, 1), ("c", "BTC/USD", UNRELATED, 2)])
    settings = TracerSettings(novelty_model="minilm", sentiment_device="cpu")
    out = score_narratives(df, settings.sentiment, tmp_path, embedder=minilm).set_index("narrative_id")
    assert out.loc["a", "novelty"] == 1.0  # nothing before it
    assert out.loc["b", "max_similarity"] > 0.9  # the copy is all but identical ...
    assert out.loc["b", "novelty"] == 0.0  # ... grouped as a duplicate, not counted twice
    assert bool(out.loc["b", "is_duplicate"]) and out.loc["b", "dup_group_id"] == "a"
    assert out.loc["c", "novelty"] > 0.8  # an unrelated story is new
    assert not out.loc["c", "is_duplicate"] and out.loc["c", "dup_group_id"] == "c"
    assert out["novelty_model"].iloc[0].startswith("all-MiniLM-L6-v2@")


def test_minilm_vectors_are_normalised_and_deterministic(minilm):
    a = minilm.embed([STORY, UNRELATED])
    b = minilm.embed([STORY, UNRELATED])
    assert a.shape == (2, 384) and a.dtype == np.float32
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    assert np.allclose(a, b, atol=1e-6)


# a script without a main guard: the child must not re-import its caller's main module
CHILD_SCRIPT = """
import sys
import numpy as np
from tracer_assets.sentiment.novelty import build_embedder

child = build_embedder("minilm", device="cpu", batch_size=8, child_process=True)
np.save(sys.argv[1], child.embed(sys.argv[2:]))
print("torch" in sys.modules)
"""


def test_a_child_process_embeds_the_same_vectors_and_torch_stays_out_of_the_caller(minilm, tmp_path):
    script = tmp_path / "embed_in_child.py"
    script.write_text(CHILD_SCRIPT)
    out = tmp_path / "vectors.npy"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run(
        [sys.executable, str(script), str(out), STORY, UNRELATED],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip().splitlines()[-1] == "False"  # the caller never imported torch
    np.testing.assert_array_equal(np.load(out), minilm.embed([STORY, UNRELATED]))


VARIED = [f"{STORY} Update {i}: " + "volumes rose sharply again " * (i % 7) for i in range(70)] + [
    UNRELATED,
    "",
    "ETF",
]


def test_children_sharing_the_batches_give_the_same_vectors_as_one_call(minilm):
    """Two or three children, each a run of whole batches, give the bits of one in-process call."""
    one_call = build_embedder("minilm", device="cpu", batch_size=8, threads=1).embed(VARIED)
    for processes in (1, 2, 3):
        shared = build_embedder(
            "minilm", device="cpu", batch_size=8, threads=1, child_process=True, processes=processes
        ).embed(VARIED)
        np.testing.assert_array_equal(shared, one_call)


def test_batch_runs_are_whole_batches_in_the_models_order_with_even_work():
    texts = [("x" * (i * 37 % 101)) for i in range(203)]
    order = np.argsort([-len(t) for t in texts])  # the sentence model's own order
    for parts in (1, 2, 3, 5, 100):
        runs = batch_runs(texts, 16, parts)
        batches = [b for run in runs for b in run]
        assert len(runs) <= min(parts, 13)  # 203 texts are 13 batches of 16
        assert parts > 3 or len(runs) == parts  # runs merge only when one batch outweighs a share
        np.testing.assert_array_equal(np.concatenate(batches), order)
        assert [len(b) for b in batches] == [16] * 12 + [11]
    work = [sum(len(texts[b[0]]) * len(b) for b in run) for run in batch_runs(texts, 16, 2)]
    assert max(work) / sum(work) < 0.6  # the long batches are not all in one run
    assert batch_runs([], 16, 2) == [[]]


def test_a_failing_child_is_a_clear_error_and_no_child_is_left(tmp_path):
    bad = build_embedder(str(tmp_path / "no-such-model"), device="cpu", child_process=True, processes=2)
    with pytest.raises(RuntimeError, match="embedding child process failed"):
        bad.embed([STORY, UNRELATED] * 40)


def items(rows):
    """(id, symbol, hours, label, is_target)."""
    df = pd.DataFrame(rows, columns=["narrative_id", "symbol", "hours", "label", "is_target"])
    df["available_ts"] = T0 + pd.to_timedelta(df.pop("hours"), unit="h")
    return df


def unit(*vectors):
    v = np.array(vectors, dtype=np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_one_torch_thread_gives_the_same_vectors_and_the_setting_is_restored(minilm):
    import torch

    texts = [STORY, UNRELATED] + [f"{STORY} Update {i}: volumes rose {i} percent." for i in range(40)]
    before = torch.get_num_threads()
    one = build_embedder("minilm", device="cpu", batch_size=8, threads=1)
    two = build_embedder("minilm", device="cpu", batch_size=8, threads=2)
    seen = []
    original = torch.set_num_threads
    try:
        torch.set_num_threads = lambda n: (seen.append(n), original(n))[1]
        a, b = one.embed(texts), two.embed(texts)
    finally:
        torch.set_num_threads = original
    assert seen == [1, before, 2, before]  # set for the encode, restored after it
    assert torch.get_num_threads() == before
    np.testing.assert_array_equal(a, b)  # bit for bit: cached vectors do not depend on the threads


def test_point_in_time_only_earlier_narratives_count():
    e = unit([1, 0], [1, 0])
    df = items([("late", "X", 5, "neutral", True), ("early", "X", 1, "neutral", True)])
    out = novelty_and_duplicates(df, e, window=pd.Timedelta(days=3), threshold=0.9).set_index("narrative_id")
    assert out.loc["early", "novelty"] == 1.0  # the later copy does not make the original stale
    assert out.loc["late", "novelty"] == 0.0 and out.loc["late", "dup_group_id"] == "early"


def test_ties_in_time_break_by_id_and_symbols_are_separate():
    e = unit([1, 0], [1, 0], [1, 0])
    df = items(
        [("b", "X", 1, "neutral", True), ("a", "X", 1, "neutral", True), ("c", "Y", 0, "neutral", True)]
    )
    out = novelty_and_duplicates(df, e, window=pd.Timedelta(days=1), threshold=0.9).set_index("narrative_id")
    assert out.loc["a", "novelty"] == 1.0 and out.loc["b", "dup_group_id"] == "a"
    assert out.loc["c", "novelty"] == 1.0  # same text, other symbol: not compared


def test_window_of_k_days():
    e = unit([1, 0], [1, 0], [1, 0])
    df = items(
        [
            ("old", "X", 0, "neutral", False),
            ("recent", "X", 60, "neutral", False),
            ("now", "X", 24 * 3 + 1, "neutral", True),
        ]
    )
    out = novelty_and_duplicates(df, e, window=pd.Timedelta(days=3), threshold=0.9)
    assert len(out) == 1  # only targets come back
    assert out.loc[0, "dup_group_id"] == "recent"  # "old" is 73 h back, outside the 3-day window
    alone = novelty_and_duplicates(df.iloc[[0, 2]], e[[0, 2]], window=pd.Timedelta(days=3), threshold=0.9)
    assert alone.loc[0, "novelty"] == 1.0 and not alone.loc[0, "is_duplicate"]


def test_polarity_aware_novelty_ignores_opposite_direction():
    e = unit([1, 0.3], [1, 0.0])  # cosine 0.958
    df = items([("halt", "X", 0, "negative", True), ("resume", "X", 1, "positive", True)])
    aware = novelty_and_duplicates(df, e, window=pd.Timedelta(days=3), threshold=0.9, polarity_aware=True)
    blind = novelty_and_duplicates(df, e, window=pd.Timedelta(days=3), threshold=0.9, polarity_aware=False)
    assert aware.loc[1, "novelty"] == 1.0 and not aware.loc[1, "is_duplicate"]
    assert blind.loc[1, "novelty"] == 0.0 and blind.loc[1, "is_duplicate"]


def test_group_is_the_earliest_copy_and_novelty_of_a_near_miss():
    e = unit([1, 0], [1, 0.05], [1, 0.1], [1, 1])
    df = items(
        [
            ("orig", "X", 0, "neutral", True),
            ("c1", "X", 1, "neutral", True),
            ("c2", "X", 2, "neutral", True),
            ("other", "X", 3, "neutral", True),
        ]
    )
    out = novelty_and_duplicates(df, e, window=pd.Timedelta(days=1), threshold=0.99).set_index("narrative_id")
    assert out.loc["c1", "dup_group_id"] == "orig" and out.loc["c2", "dup_group_id"] == "orig"
    cos = float(e[3] @ e[2])
    assert out.loc["other", "novelty"] == pytest.approx(1 - cos, abs=1e-6)
    assert not out.loc["other", "is_duplicate"]


def test_range_run_equals_day_by_day():
    """Scoring two days at once or one day with the other as history gives the same novelty."""
    settings = TracerSettings(novelty_model="hashing", novelty_days=1)
    day1 = narratives([("a", "X", STORY, 20), ("b", "X", UNRELATED, 3)])
    day2 = narratives([("c", "X", COPY, 25), ("d", "X", "Bitcoin ETF sees record inflows", 26)])
    both = score_narratives(pd.concat([day1, day2]), settings.sentiment, None).set_index("narrative_id")
    alone = score_narratives(day2, settings.sentiment, None, history=day1).set_index("narrative_id")
    for col in ("novelty", "dup_group_id", "is_duplicate"):
        assert both.loc[["c", "d"], col].tolist() == alone.loc[["c", "d"], col].tolist()
    assert alone.loc["c", "dup_group_id"] == "a"


def test_hashing_embedder_is_lexical_and_normalised():
    v = HashingEmbedder().embed([STORY, COPY, UNRELATED, ""])
    assert np.allclose(np.linalg.norm(v[:3], axis=1), 1.0)
    assert float(v[0] @ v[1]) > 0.85 > float(v[0] @ v[2])
    assert not v[3].any()


def test_mismatched_embeddings_are_an_error():
    with pytest.raises(ValueError, match="embeddings"):
        novelty_and_duplicates(
            items([("a", "X", 0, "neutral", True)]),
            unit([1, 0], [0, 1]),
            window=pd.Timedelta(days=1),
            threshold=0.9,
        )
