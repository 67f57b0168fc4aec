"""Transformer polarity: a tiny BERT built here, saved to a folder and loaded through the real path."""

from __future__ import annotations

import json

import pytest

from tracer_assets.sentiment.cli import sentiment_main
from tracer_assets.sentiment.scoring import build_scorer
from tracer_assets.sentiment.transformer import (
    PolarityModelError,
    TransformerScorer,
    map_labels,
    polarity_from_scores,
    resolve_device,
)
from tracer_assets.settings import TracerSettings
from tracer_assets_tests.labelled_eval import load_labelled_set
from tracer_assets_tests.tiny_model import build_tiny_classifier


@pytest.fixture(autouse=True)
def _isolated(tracer_env):
    """No TRACER_* variable or .env file of the machine (e.g. a real Perplexity key) leaks in."""
    return tracer_env


TEXTS = [
    "Apple beats estimates on strong iPhone demand",
    "Exchange halts withdrawals citing liquidity crunch",
    "Microsoft to report earnings on Tuesday",
]


@pytest.fixture(scope="module")
def three_label_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny3")
    return build_tiny_classifier(folder, ("positive", "negative", "neutral"), load_labelled_set()["text"])


@pytest.fixture(scope="module")
def two_label_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny2")
    return build_tiny_classifier(folder, ("NEGATIVE", "POSITIVE"), TEXTS, seed=1)


def settings_for(model: str, **kw) -> TracerSettings:
    return TracerSettings(polarity_model=model, sentiment_device="cpu", **kw)


def test_tiny_bert_loads_and_scores_through_build_scorer(three_label_model):
    scorer = build_scorer(settings_for(str(three_label_model)).sentiment)
    assert isinstance(scorer, TransformerScorer)
    assert scorer.model_id == str(three_label_model)
    assert scorer.model_revision.startswith("local-") and scorer.model_revision.endswith("-L64")
    out = scorer.score(TEXTS)
    assert len(out) == len(TEXTS)
    for p in out:
        assert p.label in {"positive", "negative", "neutral"}
        assert -1.0 <= p.polarity <= 1.0
        assert 1 / 3 <= p.confidence <= 1.0  # the top of three probabilities
    assert scorer.score([]) == []


def test_generated_vocab_is_used_by_the_saved_tokenizer(three_label_model):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(three_label_model)
    assert tok.tokenize("Apple beats estimates") == ["apple", "beats", "estimates"]
    assert tok.tokenize("zzzqqq") == ["[UNK]"]


def test_model_argument_overrides_the_setting(three_label_model):
    scorer = build_scorer(settings_for("lexicon").sentiment, model=str(three_label_model))
    assert isinstance(scorer, TransformerScorer)
    assert build_scorer(settings_for(str(three_label_model)).sentiment, model="lexicon").model_id == "lexicon"


def test_hub_name_loads_from_the_local_cache_and_records_the_commit(tmp_path, monkeypatch):
    """A hub name resolves offline from the Hugging Face cache layout; the snapshot commit is the revision."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "models--acme--tiny-finbert"
    build_tiny_classifier(repo / "snapshots" / commit, texts=TEXTS)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    scorer = build_scorer(settings_for("acme/tiny-finbert").sentiment)
    assert scorer.model_revision == "0123456789ab-L64"
    assert len(scorer.score(TEXTS)) == 3


def test_long_text_is_truncated_not_fatal(three_label_model):
    # 64 positions in the tiny model; this text has far more tokens
    scorer = build_scorer(
        settings_for(str(three_label_model), sentiment_max_length=512, sentiment_batch_size=2).sentiment
    )
    assert scorer.max_length == 64
    out = scorer.score([" ".join(TEXTS * 40), "", TEXTS[0]])
    assert len(out) == 3


def test_batching_does_not_change_scores(three_label_model):
    one = build_scorer(settings_for(str(three_label_model), sentiment_batch_size=1).sentiment).score(TEXTS)
    many = build_scorer(settings_for(str(three_label_model), sentiment_batch_size=8).sentiment).score(TEXTS)
    for a, b in zip(one, many, strict=True):
        assert a.label == b.label
        assert a.polarity == pytest.approx(b.polarity, abs=1e-5)


def test_revision_changes_with_the_weights(tmp_path):
    a = build_tiny_classifier(tmp_path / "a", texts=TEXTS, seed=1)
    b = build_tiny_classifier(tmp_path / "b", texts=TEXTS, seed=2)
    ra = build_scorer(settings_for(str(a)).sentiment).model_revision
    rb = build_scorer(settings_for(str(b)).sentiment).model_revision
    assert ra != rb


def test_two_label_model_through_the_pipeline(two_label_model):
    scorer = build_scorer(settings_for(str(two_label_model), binary_model_neutral_band=0.0).sentiment)
    assert set(scorer.label_map.values()) == {"positive", "negative"}
    for p in scorer.score(TEXTS):
        assert p.label in {"positive", "negative"}  # no neutral class, band 0
        assert (p.polarity > 0) == (p.label == "positive")
    wide = build_scorer(settings_for(str(two_label_model), binary_model_neutral_band=0.99).sentiment)
    assert {p.label for p in wide.score(TEXTS)} == {"neutral"}


def test_label_mapping_three_labels():
    mapping = map_labels({0: "positive", 1: "negative", 2: "neutral"})
    assert mapping == {"positive": "positive", "negative": "negative", "neutral": "neutral"}
    scores = [
        {"label": "positive", "score": 0.7},
        {"label": "negative", "score": 0.1},
        {"label": "neutral", "score": 0.2},
    ]
    p = polarity_from_scores(scores, mapping, 0.3)
    assert p.label == "positive"
    assert p.polarity == pytest.approx(0.6)
    assert p.confidence == pytest.approx(0.7)
    # neutral wins when it is the most probable class, even with a positive lean
    scores = [
        {"label": "positive", "score": 0.3},
        {"label": "negative", "score": 0.1},
        {"label": "neutral", "score": 0.6},
    ]
    p = polarity_from_scores(scores, mapping, 0.3)
    assert (p.label, p.confidence) == ("neutral", pytest.approx(0.6))
    assert p.polarity == pytest.approx(0.2)


def test_label_mapping_two_labels_and_synonyms():
    mapping = map_labels({0: "NEGATIVE", 1: "POSITIVE"})
    assert mapping == {"NEGATIVE": "negative", "POSITIVE": "positive"}
    strong = polarity_from_scores(
        [{"label": "NEGATIVE", "score": 0.9}, {"label": "POSITIVE", "score": 0.1}], mapping, 0.3
    )
    assert (strong.label, strong.polarity, strong.confidence) == (
        "negative",
        pytest.approx(-0.8),
        pytest.approx(0.9),
    )
    weak = polarity_from_scores(
        [{"label": "NEGATIVE", "score": 0.45}, {"label": "POSITIVE", "score": 0.55}], mapping, 0.3
    )
    assert weak.label == "neutral" and weak.polarity == pytest.approx(0.1)
    assert set(map_labels({0: "Bearish", 1: "Bullish", 2: "Neutral"}).values()) == {
        "negative",
        "positive",
        "neutral",
    }


def test_sigmoid_scores_are_renormalised():
    mapping = map_labels({0: "positive", 1: "negative"})
    p = polarity_from_scores(
        [{"label": "positive", "score": 0.9}, {"label": "negative", "score": 0.9}], mapping, 0.3
    )
    assert p.polarity == pytest.approx(0.0)
    assert p.confidence == pytest.approx(0.5)


def test_opaque_labels_need_a_map():
    with pytest.raises(PolarityModelError, match="TRACER_POLARITY_LABEL_MAP"):
        map_labels({0: "LABEL_0", 1: "LABEL_1"})
    mapping = map_labels({0: "LABEL_0", 1: "LABEL_1"}, {"label_0": "negative", "LABEL_1": "positive"})
    assert mapping == {"LABEL_0": "negative", "LABEL_1": "positive"}
    with pytest.raises(PolarityModelError, match="positive/negative/neutral"):
        map_labels({0: "LABEL_0", 1: "LABEL_1"}, {"LABEL_0": "bad", "LABEL_1": "positive"})


def test_opaque_model_with_label_map_setting(tmp_path):
    folder = build_tiny_classifier(tmp_path / "opaque", ("LABEL_0", "LABEL_1", "LABEL_2"), TEXTS)
    with pytest.raises(PolarityModelError):
        build_scorer(settings_for(str(folder)).sentiment)
    label_map = {"LABEL_0": "negative", "LABEL_1": "neutral", "LABEL_2": "positive"}
    scorer = build_scorer(settings_for(str(folder), polarity_label_map=label_map).sentiment)
    assert {p.label for p in scorer.score(TEXTS)} <= {"positive", "negative", "neutral"}


def test_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(PolarityModelError, match="cannot load polarity model"):
        build_scorer(settings_for(str(tmp_path / "no-such-model")).sentiment)


def test_auto_device_picks_cpu_without_gpu():
    import torch

    expected = "cuda:0" if torch.cuda.is_available() else "cpu"
    if (
        not torch.cuda.is_available()
        and getattr(torch.backends, "mps", None)
        and torch.backends.mps.is_available()
    ):
        expected = "mps"
    assert resolve_device("auto") == expected
    assert resolve_device("cpu") == "cpu"


def test_cli_with_model_folder(three_label_model, tmp_path, capsys):
    src = tmp_path / "in.txt"
    src.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    assert sentiment_main(["--model", str(three_label_model), "--device", "cpu", str(src)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 3
    assert {r["model"] for r in rows} == {str(three_label_model)}
    assert {r["label"] for r in rows} <= {"positive", "negative", "neutral"}


def test_cli_bad_model_exits_2(tmp_path, capsys):
    src = tmp_path / "in.txt"
    src.write_text("hello\n", encoding="utf-8")
    assert sentiment_main(["--model", str(tmp_path / "missing"), str(src)]) == 2
    assert "cannot load polarity model" in capsys.readouterr().err
