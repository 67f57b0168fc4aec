"""``tracer sentiment [--model NAME] FILE|-``: one text per line in, one JSON object per line out.

Each output line is ``{"text", "label", "polarity", "confidence", "model"}``, label one of positive,
negative, neutral. Blank input lines are skipped. Without ``--model`` the configured default scorer
(``TRACER_POLARITY_MODEL``, "lexicon" unless set) is used.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import TextIO

from tracer_assets.settings import TracerSettings


def _lines(stream: TextIO) -> Iterator[str]:
    for line in stream:
        text = line.strip()
        if text:
            yield text


def _batches(lines: Iterator[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def sentiment_main(argv: list[str] | None = None) -> int:
    """Entry point of ``tracer sentiment``; returns the process exit code."""
    parser = argparse.ArgumentParser(
        prog="tracer sentiment", description="Score the polarity of texts, one per line."
    )
    parser.add_argument("file", help="a text file with one text per line, or - for stdin")
    parser.add_argument("--model", help="'lexicon' or a transformers model name / folder (default: settings)")
    parser.add_argument("--batch-size", type=int, help="texts per model batch (default: settings)")
    parser.add_argument("--device", help="'auto', 'cpu', 'cuda', ... (default: settings)")
    args = parser.parse_args(argv)

    overrides = {}
    if args.batch_size:
        overrides["sentiment_batch_size"] = args.batch_size
    if args.device:
        overrides["sentiment_device"] = args.device
    settings = TracerSettings(**overrides)

    from tracer_assets.sentiment.scoring import build_scorer
    from tracer_assets.sentiment.transformer import PolarityModelError

    try:
        scorer = build_scorer(settings.sentiment, args.model)
    except PolarityModelError as exc:
        print(f"tracer sentiment: {exc}", file=sys.stderr)
        return 2
    try:
        stream = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        print(f"tracer sentiment: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        for batch in _batches(_lines(stream), settings.sentiment.sentiment_batch_size):
            for text, p in zip(batch, scorer.score(batch), strict=True):
                row = {
                    "text": text,
                    "label": p.label,
                    "polarity": round(p.polarity, 6),
                    "confidence": round(p.confidence, 6),
                    "model": scorer.model_id,
                }
                print(json.dumps(row, ensure_ascii=False))
    finally:
        if stream is not sys.stdin:
            stream.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(sentiment_main())
