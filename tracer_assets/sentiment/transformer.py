"""Transformer polarity (FinBERT path) on ``transformers.pipeline("text-classification")``.

The model is a hub name (read from the local Hugging Face cache: hubs are unreachable here and
``HF_HUB_OFFLINE=1`` is the default) or a folder. Its labels map to positive / negative / neutral,
and the class probabilities give:

* ``polarity = p(positive) - p(negative)`` in [-1, 1];
* ``label``: the most probable mapped class for a 3-label model; for a 2-label model (no neutral
  class) ``neutral`` when ``|polarity| < binary_neutral_band``, else the sign of ``polarity``;
* ``confidence``: the largest mapped class probability.

Probabilities are renormalised over the mapped classes, so a sigmoid (multi-label) head also works.
Every row records the model name and a revision: the hub commit when known, else a fingerprint of
the folder's files, plus the truncation length (a different ``max_length`` is a different output).
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from tracer_assets.providers.protocols import Polarity

CANONICAL_LABELS = {
    "positive": "positive",
    "pos": "positive",
    "bullish": "positive",
    "negative": "negative",
    "neg": "negative",
    "bearish": "negative",
    "neutral": "neutral",
    "neu": "neutral",
}
_FINGERPRINT_BYTES = 1 << 20  # head and tail read from each weight file


class PolarityModelError(RuntimeError):
    """A polarity model could not be loaded or its labels cannot be mapped."""


def offline_hub() -> None:
    """Keep Hugging Face libraries from reaching the hub unless the environment says otherwise."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def resolve_device(device: str) -> str:
    """``auto`` becomes ``cuda:0`` when a GPU is visible (``mps`` on Apple silicon), else ``cpu``."""
    if device != "auto":
        return device
    import torch

    if torch.cuda.is_available():
        return "cuda:0"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def map_labels(id2label: dict[Any, str], overrides: dict[str, str] | None = None) -> dict[str, str]:
    """Raw model label -> canonical label. Overrides (case-insensitive) win over the built-in names.

    Raises PolarityModelError when positive or negative cannot be identified (e.g. LABEL_0/LABEL_1
    without an override), rather than guessing which class is which.
    """
    lowered = {k.lower(): v.lower() for k, v in (overrides or {}).items()}
    bad = sorted(v for v in lowered.values() if v not in ("positive", "negative", "neutral"))
    if bad:
        raise PolarityModelError(f"polarity_label_map targets must be positive/negative/neutral, got {bad}")
    mapping: dict[str, str] = {}
    for raw in id2label.values():
        key = str(raw).lower()
        target = lowered.get(key) or CANONICAL_LABELS.get(key)
        if target is not None:
            mapping[str(raw)] = target
    found = set(mapping.values())
    if not {"positive", "negative"} <= found:
        raise PolarityModelError(
            f"cannot map model labels {sorted(map(str, id2label.values()))} to positive/negative/neutral; "
            'set TRACER_POLARITY_LABEL_MAP, e.g. \'{"LABEL_0": "negative", "LABEL_1": "positive"}\''
        )
    return mapping


def polarity_from_scores(
    scores: list[dict[str, Any]], label_map: dict[str, str], binary_neutral_band: float
) -> Polarity:
    """One pipeline output (all classes with scores) to a Polarity."""
    probs = {"positive": 0.0, "negative": 0.0, "neutral": 0.0}
    for item in scores:
        target = label_map.get(str(item["label"]))
        if target is not None:
            probs[target] += float(item["score"])
    total = sum(probs.values())
    if total <= 0:
        return Polarity(label="neutral", polarity=0.0, confidence=0.0)
    probs = {k: v / total for k, v in probs.items()}
    polarity = probs["positive"] - probs["negative"]
    if "neutral" in label_map.values():
        label = max(probs, key=probs.__getitem__)
    elif abs(polarity) < binary_neutral_band:
        label = "neutral"
    else:
        label = "positive" if polarity > 0 else "negative"
    return Polarity(label=label, polarity=polarity, confidence=max(probs.values()))


def folder_fingerprint(folder: Path) -> str:
    """SHA-256 (12 hex) over a model folder's file names, sizes, small files and weight heads/tails."""
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel.startswith("."):
            continue
        size = path.stat().st_size
        h.update(f"{rel}:{size}\n".encode())
        with path.open("rb") as fh:
            if size <= 2 * _FINGERPRINT_BYTES:
                h.update(fh.read())
            else:
                h.update(fh.read(_FINGERPRINT_BYTES))
                fh.seek(-_FINGERPRINT_BYTES, os.SEEK_END)
                h.update(fh.read())
    return h.hexdigest()[:12]


def hub_commit(model: str) -> str | None:
    """The commit of a hub model's snapshot in the local Hugging Face cache (no network)."""
    from huggingface_hub import try_to_load_from_cache

    try:
        path = try_to_load_from_cache(model, "config.json")
    except ValueError:  # not a valid repo id
        return None
    if isinstance(path, str) and Path(path).parent.parent.name == "snapshots":
        return Path(path).parent.name
    return None


def model_revision(model: str, config: Any, fingerprint: str | None) -> str:
    """The folder's fingerprint for a local model, else the commit of the cached hub snapshot."""
    if fingerprint:
        return "local-" + fingerprint
    commit = getattr(config, "_commit_hash", None) or hub_commit(model)
    return str(commit)[:12] if commit else "unknown"


def _load_error(model: str, exc: Exception) -> PolarityModelError:
    return PolarityModelError(
        f"cannot load polarity model {model!r} (a local folder, or a hub name already in the local "
        f"cache; hubs are offline): {type(exc).__name__}: {str(exc)[:300]}"
    )


def _load_config(model: str) -> Any:
    offline_hub()
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(model)
    except (OSError, ValueError, KeyError) as exc:
        raise _load_error(model, exc) from exc


@lru_cache(maxsize=4)
def _load_pipeline(model: str, device: str, fingerprint: str | None) -> Any:
    """One pipeline per (model, device, folder fingerprint): a folder rewritten in place reloads."""
    offline_hub()
    from transformers import pipeline
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    try:
        return pipeline("text-classification", model=model, tokenizer=model, device=device, top_k=None)
    except (OSError, ValueError, KeyError) as exc:
        raise _load_error(model, exc) from exc


class TransformerScorer:
    """A text-classification model as a PolarityScorer (batched, truncated, on CPU or GPU).

    Only the config is read at construction (labels, revision, position limit); the weights load on
    the first ``score`` call, so a run whose texts are all cached never loads the model.
    """

    def __init__(
        self,
        model: str,
        *,
        batch_size: int = 32,
        max_length: int = 128,
        device: str = "auto",
        label_map: dict[str, str] | None = None,
        binary_neutral_band: float = 0.3,
    ):
        self.model_id = model
        self.device = resolve_device(device)
        self.batch_size = batch_size
        self.max_length = max_length
        self.binary_neutral_band = binary_neutral_band
        self._fingerprint = folder_fingerprint(Path(model)) if Path(model).is_dir() else None
        self._pipe: Any = None
        config = _load_config(model)
        self.label_map = map_labels(config.id2label, label_map)
        limit = getattr(config, "max_position_embeddings", None)
        if isinstance(limit, int) and limit > 2:
            self.max_length = min(max_length, limit)  # never ask for more positions than the model has
        self.model_revision = f"{model_revision(model, config, self._fingerprint)}-L{self.max_length}"

    @property
    def loaded(self) -> bool:
        return self._pipe is not None

    def score(self, texts: list[str]) -> list[Polarity]:
        if not texts:
            return []
        if self._pipe is None:
            self._pipe = _load_pipeline(self.model_id, self.device, self._fingerprint)
        outputs = self._pipe(
            [t if t else " " for t in texts],
            batch_size=self.batch_size,
            truncation=True,
            max_length=self.max_length,
        )
        return [polarity_from_scores(o, self.label_map, self.binary_neutral_band) for o in outputs]
