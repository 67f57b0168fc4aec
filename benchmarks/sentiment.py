"""Sentiment throughput and accuracy.

Prints headlines per second for the lexicon, a tiny BERT through the real transformers pipeline and the
MiniLM embedding model; the wall time of scoring a 60-day x 12-symbol history (~1,100 narratives) with
MiniLM novelty, cold and then from the cache (the speed-up of a cached re-run); and accuracy / macro-F1
on the labelled set (tracer_assets_tests/data) for the lexicon, the tiny BERT as built (random weights: chance level, a
pipeline check) and, with --finetune, the tiny BERT fine-tuned in 5-fold cross-validation.

    python benchmarks/sentiment.py [--repeat 10] [--days 60] [--symbols 12] [--finetune]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

os.environ.setdefault("HF_HUB_OFFLINE", "1")
warnings.filterwarnings("ignore")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tracer_assets_tests: tiny model, labelled set


def _rate(fn, texts: list[str]) -> tuple[float, float]:
    start = time.perf_counter()
    fn(texts)
    elapsed = time.perf_counter() - start
    return len(texts) / elapsed, elapsed


def _history(headlines: list[str], days: int, symbols: int, per_day: float, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = int(days * symbols * per_day)
    start = pd.Timestamp("2024-01-01", tz="UTC")
    ts = start + pd.to_timedelta(np.sort(rng.uniform(0, days * 24, n)), unit="h")
    picks = rng.integers(0, len(headlines), n)
    return pd.DataFrame(
        {
            "narrative_id": [f"b{i:05d}" for i in range(n)],
            "symbol": [f"SYM{j:02d}" for j in rng.integers(0, symbols, n)],
            # a day tag keeps texts distinct, so the cold run really scores and embeds every one
            "headline": [
                f"{headlines[p]} (day {int((t - start).days)})" for p, t in zip(picks, ts, strict=True)
            ],
            "summary": "",
            "event_ts": ts,
            "available_ts": ts + pd.Timedelta(minutes=2),
        }
    )


def _finetune_cv(
    df: pd.DataFrame, folds: int = 5, epochs: int = 30, seed: int = 0
) -> tuple[list[str], float]:
    """Tiny BERT trained on 4/5 of the set and scored on the other 1/5, through build_scorer."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from tracer_assets.sentiment.scoring import build_scorer
    from tracer_assets.settings import TracerSettings
    from tracer_assets_tests.labelled_eval import LABELS
    from tracer_assets_tests.tiny_model import build_tiny_classifier

    rng = np.random.default_rng(seed)
    fold_of = rng.permutation(len(df)) % folds
    predicted = [""] * len(df)
    started = time.perf_counter()
    for k in range(folds):
        train, test = df[fold_of != k], df[fold_of == k]
        with tempfile.TemporaryDirectory() as tmp:
            folder = build_tiny_classifier(
                tmp, LABELS, train["text"], hidden_size=64, layers=2, seed=seed + k
            )
            tok = AutoTokenizer.from_pretrained(folder)
            model = AutoModelForSequenceClassification.from_pretrained(folder)
            optim = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
            y = torch.tensor([LABELS.index(label) for label in train["label"]])
            enc = tok(list(train["text"]), padding=True, truncation=True, max_length=48, return_tensors="pt")
            torch.manual_seed(seed + k)
            model.train()
            for _ in range(epochs):
                for idx in torch.randperm(len(y)).split(16):
                    loss = model(
                        input_ids=enc["input_ids"][idx],
                        attention_mask=enc["attention_mask"][idx],
                        labels=y[idx],
                    ).loss
                    optim.zero_grad()
                    loss.backward()
                    optim.step()
            model.save_pretrained(folder)
            scorer = build_scorer(
                TracerSettings(polarity_model=str(folder), sentiment_device="cpu").sentiment
            )
            for i, p in zip(test.index, scorer.score(list(test["text"])), strict=True):
                predicted[df.index.get_loc(i)] = p.label
    return predicted, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, help="copies of the labelled set in the speed runs")
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--symbols", type=int, default=12)
    parser.add_argument("--per-day", type=float, default=1.5)
    parser.add_argument("--finetune", action="store_true", help="also 5-fold fine-tune the tiny BERT")
    args = parser.parse_args()

    import torch
    from sklearn.metrics import accuracy_score, f1_score

    from tracer_assets.sentiment.lexicon import LexiconScorer
    from tracer_assets.sentiment.novelty import build_embedder
    from tracer_assets.sentiment.scoring import build_scorer, score_narratives
    from tracer_assets.settings import TracerSettings
    from tracer_assets_tests.labelled_eval import LABELS, evaluate, load_labelled_set
    from tracer_assets_tests.tiny_model import build_tiny_classifier

    labelled = load_labelled_set()
    texts = labelled["text"].tolist() * args.repeat
    print(
        f"torch threads: {torch.get_num_threads()}, cpu count: {os.cpu_count()}, python {sys.version.split()[0]}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        tiny_folder = build_tiny_classifier(tmp / "tiny", LABELS, labelled["text"])
        lexicon = LexiconScorer()
        tiny = build_scorer(TracerSettings(polarity_model=str(tiny_folder), sentiment_device="cpu").sentiment)
        start = time.perf_counter()
        embedder = build_embedder("minilm", device="cpu", batch_size=64)
        embedder.embed(["warm up"])
        load_s = time.perf_counter() - start

        print("\n## Throughput (headlines per second)\n")
        print("| scorer | headlines | seconds | headlines/s |")
        print("|---|---:|---:|---:|")
        for name, fn, batch in (
            ("lexicon", lexicon.score, texts),
            ("tiny BERT (2 layers, 32 wide, text-classification pipeline)", tiny.score, texts),
            ("all-MiniLM-L6-v2 embeddings", embedder.embed, texts[:2000]),
        ):
            rate, secs = _rate(fn, batch)
            print(f"| {name} | {len(batch)} | {secs:.2f} | {rate:,.0f} |")
        print(f"\nMiniLM load + first batch, torch and transformers already imported: {load_s:.1f} s")

        print(f"\n## Scoring {args.days} days x {args.symbols} symbols (lexicon + MiniLM novelty)\n")
        hist = _history(labelled["text"].tolist(), args.days, args.symbols, args.per_day)
        settings = TracerSettings(novelty_model="minilm", sentiment_device="cpu")
        lake = tmp / "lake"
        cold_start = time.perf_counter()
        cold = score_narratives(hist, settings.sentiment, lake, embedder=embedder)
        cold_s = time.perf_counter() - cold_start
        warm_start = time.perf_counter()
        warm = score_narratives(hist, settings.sentiment, lake, embedder=embedder)
        warm_s = time.perf_counter() - warm_start
        assert cold.equals(warm), "a cached re-run must give the same rows"
        print("| run | narratives | seconds | cache (scores / embeddings) |")
        print("|---|---:|---:|---|")
        for name, secs, frame in (("cold cache", cold_s, cold), ("cached re-run", warm_s, warm)):
            a = frame.attrs["sentiment"]
            print(
                f"| {name} | {len(frame)} | {secs:.2f} | {a['score_cache']['hits']}/{a['score_cache']['misses']} hit/miss, "
                f"{a['embedding_cache']['hits']}/{a['embedding_cache']['misses']} hit/miss |"
            )
        print(
            f"\ncached re-run speed-up: {cold_s / warm_s:.1f}x; duplicates grouped: {int(cold['is_duplicate'].sum())}"
        )

        print(
            f"\n## Labelled set ({len(labelled)} headlines: {labelled['label'].value_counts().to_dict()})\n"
        )
        print("| scorer | accuracy | macro-F1 |")
        print("|---|---:|---:|")
        for name, scorer in (("lexicon", lexicon), ("tiny BERT, random weights (pipeline check)", tiny)):
            ev = evaluate(scorer, labelled)
            print(f"| {name} | {ev.accuracy:.3f} | {ev.macro_f1:.3f} |")
        if args.finetune:
            predicted, secs = _finetune_cv(labelled)
            truth = labelled["label"].tolist()
            acc = accuracy_score(truth, predicted)
            f1 = f1_score(truth, predicted, labels=LABELS, average="macro", zero_division=0)
            print(f"| tiny BERT fine-tuned, 5-fold cross-validation ({secs:.0f} s) | {acc:.3f} | {f1:.3f} |")
        ev = evaluate(lexicon, labelled)
        print("\nlexicon confusion (rows: truth, columns: predicted)\n")
        print(ev.confusion.to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
