"""A tiny BERT text classifier written to a folder, for tests and benchmarks (hubs are unreachable).

The folder is a normal Hugging Face model folder (config, safetensors weights, WordPiece vocab,
tokenizer files), so it loads through exactly the code path a real FinBERT folder takes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
_WORD = re.compile(r"\w+|[^\w\s]")


def vocab_from_texts(texts: Iterable[str], max_words: int = 5000) -> list[str]:
    """Special tokens plus the lower-cased words and punctuation of ``texts`` (BERT basic split)."""
    words: dict[str, None] = {}
    for text in texts:
        for w in _WORD.findall(text.lower()):
            words.setdefault(w, None)
    return SPECIAL_TOKENS + sorted(words)[:max_words]


def build_tiny_classifier(
    folder: str | Path,
    labels: Sequence[str] = ("positive", "negative", "neutral"),
    texts: Iterable[str] = (),
    *,
    hidden_size: int = 32,
    layers: int = 2,
    heads: int = 2,
    max_positions: int = 64,
    seed: int = 0,
) -> Path:
    """Write a randomly initialised BERT classifier with ``labels`` and a vocab from ``texts``."""
    from tracer_assets.sentiment.transformer import offline_hub

    offline_hub()
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab = vocab_from_texts(texts)
    # transformers 5 takes the WordPiece vocabulary itself (``vocab``), no longer a vocab_file path
    tokenizer = BertTokenizer(vocab={token: i for i, token in enumerate(vocab)}, do_lower_case=True)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=hidden_size * 2,
        max_position_embeddings=max_positions,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    torch.manual_seed(seed)
    model = BertForSequenceClassification(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
