"""score_narratives: the narrative_scores contract, caches (hit on re-run, re-score on model switch)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tracer_assets.lake import Lake
from tracer_assets.lake.schemas import contract_columns
from tracer_assets.providers.protocols import Polarity
from tracer_assets.sentiment.cache import KeyValueCache, cache_root, content_hash
from tracer_assets.sentiment.lexicon import LexiconScorer
from tracer_assets.sentiment.novelty import HashingEmbedder
from tracer_assets.sentiment.scoring import SCORE_COLUMNS, build_scorer, score_narratives
from tracer_assets.settings import TracerSettings
from tracer_assets_tests.tiny_model import build_tiny_classifier


@pytest.fixture(autouse=True)
def _isolated(tracer_env):
    """No TRACER_* variable or .env file of the machine (e.g. a real Perplexity key) leaks in."""
    return tracer_env


T0 = pd.Timestamp("2024-03-01 09:00", tz="UTC")
HEADLINES = [
    ("BTC/USD", "Exchange halts withdrawals citing liquidity crunch"),
    ("BTC/USD", "Bitcoin ETF sees record inflows"),
    ("AAPL", "Apple beats estimates on strong iPhone demand"),
    ("AAPL", "Apple to report earnings on Thursday"),
]


def narratives(headlines=HEADLINES, start_hour: float = 0.0) -> pd.DataFrame:
    df = pd.DataFrame(headlines, columns=["symbol", "headline"])
    df.insert(0, "narrative_id", [f"n{start_hour:g}-{i}" for i in range(len(df))])
    df["summary"] = ""
    df["source"] = "sim"
    df["url"] = ""
    df["event_ts"] = [T0 + pd.Timedelta(hours=start_hour + i) for i in range(len(df))]
    df["available_ts"] = df["event_ts"] + pd.Timedelta(minutes=2)
    return df


class CountingScorer:
    def __init__(self, inner, model_id: str | None = None):
        self.inner = inner
        self.model_id = model_id or inner.model_id
        self.model_revision = inner.model_revision
        self.texts_scored = 0

    def score(self, texts):
        self.texts_scored += len(texts)
        return self.inner.score(texts)


class CountingEmbedder(HashingEmbedder):
    def __init__(self):
        super().__init__()
        self.texts_embedded = 0

    def embed(self, texts):
        self.texts_embedded += len(texts)
        return super().embed(texts)


def hashing_settings(**kw) -> TracerSettings:
    return TracerSettings(novelty_model="hashing", **kw)


def test_contract_columns_and_point_in_time_copy(tmp_path):
    src = narratives()
    out = score_narratives(src, hashing_settings().sentiment, tmp_path)
    assert list(out.columns) == SCORE_COLUMNS
    assert set(contract_columns("narrative_scores")) <= set(out.columns)
    assert out["narrative_id"].tolist() == src["narrative_id"].tolist()
    assert (out["event_ts"] == src["event_ts"]).all() and (out["available_ts"] == src["available_ts"]).all()
    assert out["model"].unique().tolist() == ["lexicon"]
    assert out["model_revision"].unique().tolist() == [LexiconScorer(0.3, 3).model_revision]
    assert out["label"].tolist()[:3] == ["negative", "positive", "positive"]
    assert out["polarity"].between(-1, 1).all() and out["confidence"].between(0, 1).all()
    assert out["novelty"].between(0, 1).all()
    # the lake accepts the frame as the narrative_scores table
    Lake(tmp_path / "lake").write_partition("narrative_scores", "2024-03-01", out)
    back = Lake(tmp_path / "lake").read("narrative_scores", "2024-03-01", "2024-03-01")
    assert back["disagreement"].isna().all() and back["llm_polarity"].isna().all()
    assert back["label"].tolist() == out["label"].tolist()


def test_cache_hit_on_rerun_runs_no_model(tmp_path):
    scorer, embedder = CountingScorer(LexiconScorer()), CountingEmbedder()
    first = score_narratives(
        narratives(), hashing_settings().sentiment, tmp_path, scorer=scorer, embedder=embedder
    )
    assert (scorer.texts_scored, embedder.texts_embedded) == (4, 4)
    assert first.attrs["sentiment"]["score_cache"] == {"hits": 0, "misses": 4}
    scorer2, embedder2 = CountingScorer(LexiconScorer()), CountingEmbedder()
    second = score_narratives(
        narratives(), hashing_settings().sentiment, tmp_path, scorer=scorer2, embedder=embedder2
    )
    assert (scorer2.texts_scored, embedder2.texts_embedded) == (0, 0)
    assert second.attrs["sentiment"]["score_cache"] == {"hits": 4, "misses": 0}
    assert second.attrs["sentiment"]["embedding_cache"] == {"hits": 4, "misses": 0}
    pd.testing.assert_frame_equal(first, second)


def test_one_new_narrative_scores_only_that_one(tmp_path):
    score_narratives(narratives(), hashing_settings().sentiment, tmp_path)
    more = pd.concat([narratives(), narratives([("AAPL", "Apple slashes outlook as demand slumps")], 10)])
    scorer, embedder = CountingScorer(LexiconScorer()), CountingEmbedder()
    score_narratives(more, hashing_settings().sentiment, tmp_path, scorer=scorer, embedder=embedder)
    assert (scorer.texts_scored, embedder.texts_embedded) == (1, 1)


def test_identical_texts_are_scored_once(tmp_path):
    scorer = CountingScorer(LexiconScorer())
    dup = narratives([("X", "Same story"), ("Y", "Same story"), ("X", "Same  story ")])
    score_narratives(dup, hashing_settings().sentiment, tmp_path, scorer=scorer, embedder=CountingEmbedder())
    assert scorer.texts_scored == 1


def test_switching_model_rescores(tmp_path):
    score_narratives(narratives(), hashing_settings().sentiment, tmp_path)
    other = CountingScorer(LexiconScorer(neutral_band=0.1))  # another revision of the lexicon
    score_narratives(narratives(), hashing_settings().sentiment, tmp_path, scorer=other)
    assert other.texts_scored == 4
    renamed = CountingScorer(LexiconScorer(), model_id="lexicon-copy")
    out = score_narratives(narratives(), hashing_settings().sentiment, tmp_path, scorer=renamed)
    assert renamed.texts_scored == 4 and out["model"].unique().tolist() == ["lexicon-copy"]
    files = sorted(
        p.name for p in (cache_root(hashing_settings().sentiment, tmp_path) / "scores").glob("*.sqlite")
    )
    assert len(files) == 3


def test_cached_values_are_what_is_returned(tmp_path):
    class Fixed:
        model_id, model_revision = "fixed", "r1"

        def score(self, texts):
            return [Polarity("positive", 0.25, 0.75) for _ in texts]

    score_narratives(narratives(), hashing_settings().sentiment, tmp_path, scorer=Fixed())
    cache = KeyValueCache.for_model(
        cache_root(hashing_settings().sentiment, tmp_path), "scores", "fixed", "r1"
    )
    assert len(cache) == 4
    assert content_hash(HEADLINES[0][1]) in cache.get_many([content_hash(HEADLINES[0][1])])
    out = score_narratives(narratives(), hashing_settings().sentiment, tmp_path, scorer=Fixed())
    assert out["polarity"].tolist() == [0.25] * 4 and out["label"].tolist() == ["positive"] * 4


def test_no_lake_root_means_no_cache(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    scorer = CountingScorer(LexiconScorer())
    score_narratives(narratives(), hashing_settings().sentiment, None, scorer=scorer)
    score_narratives(narratives(), hashing_settings().sentiment, None, scorer=scorer)
    assert scorer.texts_scored == 8
    assert not any(tmp_path.rglob("*.sqlite"))


def test_cache_dir_setting(tmp_path):
    absolute = TracerSettings(novelty_model="hashing", sentiment_cache_dir=str(tmp_path / "elsewhere"))
    score_narratives(narratives(), absolute.sentiment, tmp_path / "lake")
    assert list((tmp_path / "elsewhere" / "scores").glob("*.sqlite"))
    assert not (tmp_path / "lake").exists()


def test_empty_input_gives_typed_empty_frame(tmp_path):
    out = score_narratives(narratives().iloc[0:0], hashing_settings().sentiment, tmp_path)
    assert list(out.columns) == SCORE_COLUMNS and out.empty
    assert str(out["available_ts"].dtype).startswith("datetime64") and out["available_ts"].dt.tz is not None


def test_bad_input_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="headline"):
        score_narratives(narratives().drop(columns=["headline"]), hashing_settings().sentiment, tmp_path)
    naive = narratives()
    naive["available_ts"] = naive["available_ts"].dt.tz_localize(None)
    with pytest.raises(ValueError, match="naive"):
        score_narratives(naive, hashing_settings().sentiment, tmp_path)


def test_empty_headline_is_kept_and_noted(tmp_path):
    df = narratives([("X", "Exchange hacked"), ("X", None), ("X", "   ")])
    out = score_narratives(df, hashing_settings().sentiment, tmp_path)
    assert len(out) == 3
    assert out["note"].tolist() == ["", "empty text: scored neutral", "empty text: scored neutral"]
    assert out["label"].tolist()[1:] == ["neutral", "neutral"]


def test_history_feeds_novelty_but_is_not_scored_into_output(tmp_path):
    history = narratives([("BTC/USD", "Exchange halts withdrawals citing liquidity crunch")], start_hour=-5)
    overlap = narratives()  # a history row sharing an id with today's is ignored
    out = score_narratives(
        narratives(), hashing_settings().sentiment, tmp_path, history=pd.concat([history, overlap])
    )
    assert len(out) == 4
    assert out.loc[0, "is_duplicate"] and out.loc[0, "dup_group_id"] == history.loc[0, "narrative_id"]
    assert out.loc[0, "novelty"] == 0.0
    assert out.attrs["sentiment"]["history_rows"] == 1


def test_use_summary_setting_changes_the_scored_text(tmp_path):
    df = narratives([("X", "Company update")])
    df["summary"] = "Shares plunge after the company slashes guidance"
    plain = score_narratives(df, hashing_settings().sentiment, tmp_path)
    with_summary = score_narratives(df, hashing_settings(sentiment_use_summary=True).sentiment, tmp_path)
    assert plain["label"][0] == "neutral" and with_summary["label"][0] == "negative"


def test_novelty_none_switches_it_off(tmp_path):
    out = score_narratives(narratives(), TracerSettings(novelty_model="none").sentiment, tmp_path)
    assert (out["novelty"] == 1.0).all() and not out["is_duplicate"].any()
    assert (out["dup_group_id"] == out["narrative_id"]).all() and out["novelty_model"].unique().tolist() == [
        "none"
    ]


def test_transformer_scores_narratives_and_records_its_revision(tmp_path):
    folder = build_tiny_classifier(tmp_path / "tiny", texts=[h for _, h in HEADLINES])
    settings = TracerSettings(polarity_model=str(folder), novelty_model="hashing", sentiment_device="cpu")
    out = score_narratives(narratives(), settings.sentiment, tmp_path / "lake")
    assert out["model"].unique().tolist() == [str(folder)]
    assert out["model_revision"].str.startswith("local-").all()
    assert set(out["label"]) <= {"positive", "negative", "neutral"}
    scorer = build_scorer(settings.sentiment)
    again = score_narratives(narratives(), settings.sentiment, tmp_path / "lake", scorer=scorer)
    assert again.attrs["sentiment"]["score_cache"]["misses"] == 0
    assert not scorer.loaded  # every text cached: the weights were never even loaded
    assert np.allclose(again["polarity"], out["polarity"])
