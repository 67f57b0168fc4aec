"""Accuracy and macro-F1 of a polarity scorer on the hand-labelled headline set (tests, benchmarks)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

from tracer_assets.providers.protocols import PolarityScorer

LABELS = ["positive", "negative", "neutral"]
LABELLED_SET = Path(__file__).resolve().parent / "data" / "labelled_headlines.csv"


def load_labelled_set() -> pd.DataFrame:
    """The hand-labelled finance and crypto headlines (columns text, label)."""
    df = pd.read_csv(LABELLED_SET, dtype=str, keep_default_na=False)
    bad = sorted(set(df["label"]) - set(LABELS))
    if bad:
        raise ValueError(f"labelled set has unknown labels {bad}")
    return df


@dataclass(frozen=True)
class Evaluation:
    model: str
    n: int
    accuracy: float
    macro_f1: float
    confusion: pd.DataFrame  # rows: true label, columns: predicted label

    def row(self) -> dict[str, object]:
        return {"model": self.model, "n": self.n, "accuracy": self.accuracy, "macro_f1": self.macro_f1}


def evaluate(scorer: PolarityScorer, labelled: pd.DataFrame | None = None) -> Evaluation:
    """Score every text of ``labelled`` (default: the packaged set) and compare with its label."""
    df = load_labelled_set() if labelled is None else labelled
    predicted = [p.label for p in scorer.score(df["text"].tolist())]
    truth = df["label"].tolist()
    cm = confusion_matrix(truth, predicted, labels=LABELS)
    return Evaluation(
        model=scorer.model_id,
        n=len(df),
        accuracy=float(accuracy_score(truth, predicted)),
        macro_f1=float(f1_score(truth, predicted, labels=LABELS, average="macro", zero_division=0)),
        confusion=pd.DataFrame(cm, index=LABELS, columns=LABELS),
    )
