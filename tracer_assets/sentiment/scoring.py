"""The sentiment domain's entry points: build a scorer, score narratives, (re-exported) pressure.

``score_narratives`` returns the ``narrative_scores`` rows: the contract columns plus novelty,
duplicate grouping, model revision and the optional LLM columns. Every model output (polarity,
embedding, LLM answer) goes through a content-hash cache under the lake root, so re-scoring
unchanged narratives runs no model. Cache counts and LLM degradation land in ``df.attrs["sentiment"]``.
"""

from __future__ import annotations

import json
import struct
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import SecretStr

from tracer_assets.providers.protocols import Polarity, PolarityScorer
from tracer_assets.sentiment.cache import KeyValueCache, cache_root, cached_compute, content_hash
from tracer_assets.sentiment.combine import combine_polarity
from tracer_assets.sentiment.lexicon import LexiconScorer
from tracer_assets.sentiment.llm import LlmPolarity, PerplexityPolarityScorer
from tracer_assets.sentiment.novelty import (
    Embedder,
    build_embedder,
    novelty_and_duplicates,
    release_models,
)
from tracer_assets.sentiment.pressure import hourly_decision_times, narrative_pressure, pressure_lookback
from tracer_assets.settings import SentimentSettings

__all__ = [
    "SCORE_COLUMNS",
    "build_scorer",
    "build_llm_scorer",
    "score_narratives",
    "narrative_pressure",
    "hourly_decision_times",
    "pressure_lookback",
]

REQUIRED_NARRATIVE_COLUMNS = ["narrative_id", "symbol", "headline", "event_ts", "available_ts"]
SCORE_COLUMNS = [
    "narrative_id",
    "symbol",
    "model",
    "polarity",
    "confidence",
    "label",
    "event_ts",
    "available_ts",
    "model_revision",
    "novelty",
    "max_similarity",
    "dup_group_id",
    "is_duplicate",
    "novelty_model",
    "llm_model",
    "llm_polarity",
    "llm_confidence",
    "llm_reason",
    "llm_sources",
    "llm_status",
    "llm_obtained_ts",
    "combined_polarity",
    "combined_confidence",
    "disagreement",
    "note",
]


def build_scorer(settings: SentimentSettings, model: str | None = None) -> PolarityScorer:
    """The lexicon for ``"lexicon"``, else a transformer loaded by hub name or folder path."""
    name = (model or settings.polarity_model).strip()
    if name.lower() == "lexicon":
        return LexiconScorer(settings.lexicon_neutral_band, settings.lexicon_negation_window)
    from tracer_assets.sentiment.transformer import TransformerScorer

    return TransformerScorer(
        name,
        batch_size=settings.sentiment_batch_size,
        max_length=settings.sentiment_max_length,
        device=settings.sentiment_device,
        label_map=settings.polarity_label_map,
        binary_neutral_band=settings.binary_model_neutral_band,
    )


def build_llm_scorer(
    settings: SentimentSettings, api_key: SecretStr | None, base_url: str, transport=None
) -> PerplexityPolarityScorer | None:
    """The Perplexity scorer when enabled and a key is set, else None (the key and URL are the
    providers' settings: the pipeline stage hands them over)."""
    if not settings.llm_polarity_enabled or api_key is None or not api_key.get_secret_value():
        return None
    return PerplexityPolarityScorer(
        api_key,
        base_url=base_url,
        model=settings.llm_model,
        timeout_s=settings.llm_timeout_s,
        max_tokens=settings.llm_max_tokens,
        max_calls=settings.llm_max_calls_per_run,
        max_consecutive_failures=settings.llm_max_consecutive_failures,
        transport=transport,
    )


# ---- helpers ----------------------------------------------------------------------------------
def _check_narratives(df: pd.DataFrame, what: str) -> None:
    missing = [c for c in REQUIRED_NARRATIVE_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{what} lacks columns {missing}")
    for col in ("event_ts", "available_ts"):
        if len(df) and pd.api.types.is_datetime64_any_dtype(df[col]) and df[col].dt.tz is None:
            raise ValueError(f"{what}.{col} holds naive timestamps; Tracer uses UTC only")


def _texts(df: pd.DataFrame, use_summary: bool) -> list[str]:
    heads = df["headline"].astype("string").fillna("").str.strip()
    if use_summary and "summary" in df.columns:
        summ = df["summary"].astype("string").fillna("").str.strip()
        joined = heads.where(summ == "", heads + ". " + summ)
        return joined.tolist()
    return heads.tolist()


def _polarity_bytes(p: Polarity) -> bytes:
    return json.dumps([p.label, p.polarity, p.confidence]).encode()


def _polarity_from_bytes(raw: bytes) -> Polarity:
    label, polarity, confidence = json.loads(raw)
    return Polarity(label=label, polarity=polarity, confidence=confidence)


def _vector_bytes(v: np.ndarray) -> bytes:
    return struct.pack(f"<{len(v)}f", *np.asarray(v, dtype=np.float32))


def _vector_from_bytes(raw: bytes) -> np.ndarray:
    return np.frombuffer(raw, dtype="<f4").copy()


def _model_cache(root: Path | None, kind: str, model_id: str, revision: str) -> KeyValueCache | None:
    return None if root is None else KeyValueCache.for_model(root, kind, model_id, revision)


def score_polarity(scorer: PolarityScorer, texts: list[str], cache: KeyValueCache | None) -> list[Polarity]:
    """Polarity of ``texts`` through the cache (each distinct uncached text scored once)."""
    keys = [content_hash(t) for t in texts]
    return cached_compute(
        cache,
        keys,
        lambda idx: scorer.score([texts[i] for i in idx]),
        _polarity_bytes,
        _polarity_from_bytes,
    )


def embed_texts(embedder: Embedder, texts: list[str], cache: KeyValueCache | None) -> np.ndarray:
    """Embeddings of ``texts`` through the cache."""
    keys = [content_hash(t) for t in texts]
    rows = cached_compute(
        cache,
        keys,
        lambda idx: list(embedder.embed([texts[i] for i in idx])),
        _vector_bytes,
        _vector_from_bytes,
    )
    return np.vstack(rows).astype(np.float32) if rows else np.zeros((0, 1), dtype=np.float32)


def llm_polarity(
    llm: PerplexityPolarityScorer,
    texts: list[str],
    symbols: list[str],
    cache: KeyValueCache | None,
    befores: list[date | None] | None = None,
) -> list[LlmPolarity]:
    """LLM answers through the cache; only successful answers are cached (failures retry next run).

    ``befores``: each story's availability day, bounding the web search; part of the cache key. A cached
    answer keeps the time it was first obtained."""
    befores = befores if befores is not None else [None] * len(texts)
    keys = [
        content_hash(s, t, b.isoformat() if b else "")
        for s, t, b in zip(symbols, texts, befores, strict=True)
    ]
    return cached_compute(
        cache,
        keys,
        lambda idx: llm.score([texts[i] for i in idx], [symbols[i] for i in idx], [befores[i] for i in idx]),
        LlmPolarity.to_json,
        LlmPolarity.from_json,
        store=lambda r: r.status == "ok",
    )


def _empty_scores() -> pd.DataFrame:
    ts = pd.Series(pd.DatetimeIndex([], tz="UTC"))
    frame = {c: pd.Series(dtype="string") for c in SCORE_COLUMNS}
    for c in ("polarity", "confidence", "novelty", "max_similarity", "llm_polarity", "llm_confidence"):
        frame[c] = pd.Series(dtype=float)
    frame["combined_polarity"] = pd.Series(dtype=float)
    frame["combined_confidence"] = pd.Series(dtype=float)
    frame["is_duplicate"] = pd.Series(dtype=bool)
    frame["disagreement"] = pd.Series(dtype="boolean")
    frame["event_ts"] = ts
    frame["available_ts"] = ts
    frame["llm_obtained_ts"] = ts
    return pd.DataFrame(frame)[SCORE_COLUMNS]


# ---- the entry point ------------------------------------------------------------------------------
def score_narratives(
    narratives: pd.DataFrame,
    settings: SentimentSettings,
    lake_root: str | Path | None,
    history: pd.DataFrame | None = None,
    *,
    scorer: PolarityScorer | None = None,
    embedder: Embedder | None = None,
    llm: PerplexityPolarityScorer | None = None,
) -> pd.DataFrame:
    """``narrative_scores`` rows for ``narratives`` (one row per narrative, same order).

    ``history``: the same symbols' earlier narratives (the previous ``novelty_days`` days) for novelty;
    rows whose narrative_id is in ``narratives`` are ignored. Novelty is point-in-time: each narrative
    is compared only with narratives (from either frame) available before it. ``lake_root=None``
    disables the caches. ``scorer`` / ``embedder`` override the ones the settings build; ``llm`` is the
    LLM polarity scorer (``build_llm_scorer``; the caller closes it), None for none.
    Scores are available when their narrative is: event_ts and available_ts are copied.
    """
    _check_narratives(narratives, "narratives")
    if narratives.empty:
        out = _empty_scores()
        out.attrs["sentiment"] = {"rows": 0}
        return out
    root = cache_root(settings, lake_root) if lake_root is not None else None
    today = narratives.reset_index(drop=True)
    texts = _texts(today, settings.sentiment_use_summary)
    symbols = today["symbol"].astype(str).tolist()
    stats: dict[str, object] = {"rows": len(today)}

    # 1. model polarity
    scorer = scorer or build_scorer(settings)
    revision = str(getattr(scorer, "model_revision", "unknown"))
    score_cache = _model_cache(root, "scores", scorer.model_id, revision)
    polarities = score_polarity(scorer, texts, score_cache)
    out = pd.DataFrame(
        {
            "narrative_id": today["narrative_id"].astype(str),
            "symbol": symbols,
            "model": scorer.model_id,
            "polarity": [p.polarity for p in polarities],
            "confidence": [p.confidence for p in polarities],
            "label": [p.label for p in polarities],
            "event_ts": pd.to_datetime(today["event_ts"], utc=True),
            "available_ts": pd.to_datetime(today["available_ts"], utc=True),
            "model_revision": revision,
        }
    )
    out["note"] = np.where(np.array([t == "" for t in texts]), "empty text: scored neutral", "")
    if score_cache is not None:
        stats["score_cache"] = score_cache.stats.as_dict()

    # 2. novelty and near-duplicates
    embedder = (
        embedder
        if embedder is not None
        else build_embedder(
            settings.novelty_model,
            device=settings.sentiment_device,
            batch_size=settings.sentiment_batch_size,
            max_length=settings.sentiment_max_length,
            threads=settings.sentiment_torch_threads,
            child_process=settings.sentiment_embed_in_child,
            processes=settings.sentiment_embed_processes,
        )
    )
    if embedder is None:
        out["novelty"], out["max_similarity"] = 1.0, 0.0
        out["dup_group_id"], out["is_duplicate"] = out["narrative_id"], False
        out["novelty_model"] = "none"
    else:
        hist = history if history is not None else pd.DataFrame(columns=REQUIRED_NARRATIVE_COLUMNS)
        _check_narratives(hist, "history")
        hist = hist[~hist["narrative_id"].astype(str).isin(set(out["narrative_id"]))]
        hist = hist[hist["symbol"].astype(str).isin(set(symbols))].reset_index(drop=True)
        hist_texts = _texts(hist, settings.sentiment_use_summary)
        hist_labels = [p.label for p in score_polarity(scorer, hist_texts, score_cache)]
        items = pd.DataFrame(
            {
                "narrative_id": out["narrative_id"].tolist() + hist["narrative_id"].astype(str).tolist(),
                "symbol": symbols + hist["symbol"].astype(str).tolist(),
                "available_ts": pd.to_datetime(
                    pd.concat([out["available_ts"], pd.to_datetime(hist["available_ts"], utc=True)]), utc=True
                ).to_numpy(),
                "label": out["label"].tolist() + hist_labels,
                "is_target": [True] * len(out) + [False] * len(hist),
            }
        )
        emb_cache = _model_cache(root, "embeddings", embedder.model_id, embedder.model_revision)
        vectors = embed_texts(embedder, texts + hist_texts, emb_cache)
        release_models()  # loaded only if a text was not cached; freed once the range is embedded
        nov = novelty_and_duplicates(
            items,
            vectors,
            window=pd.Timedelta(days=settings.novelty_days),
            threshold=settings.near_duplicate_threshold,
            polarity_aware=settings.novelty_polarity_aware,
        )
        for col in ("novelty", "max_similarity", "dup_group_id", "is_duplicate"):
            out[col] = nov[col].to_numpy()
        out["novelty_model"] = f"{embedder.model_id}@{embedder.model_revision}"
        stats["history_rows"] = len(hist)
        stats["duplicates"] = int(out["is_duplicate"].sum())
        if emb_cache is not None:
            stats["embedding_cache"] = emb_cache.stats.as_dict()

    # 3. LLM polarity beside the model (optional, degrades to nulls with a reason)
    if llm is None:
        reason = "disabled" if not settings.llm_polarity_enabled else "no Perplexity key"
        results = [LlmPolarity(status="skipped", detail=reason)] * len(out)
        out["llm_model"] = None
    else:
        llm_cache = _model_cache(root, "llm", llm.model_id, llm.model_revision)
        # copies weigh nothing in pressure and empty texts say nothing: no paid call for either
        results = [
            LlmPolarity(status="skipped", detail="empty text")
            if not text
            else LlmPolarity(status="skipped", detail=f"near-duplicate of {group}")
            for text, group in zip(texts, out["dup_group_id"], strict=True)
        ]
        wanted = [
            i for i, (t, dup) in enumerate(zip(texts, out["is_duplicate"], strict=True)) if t and not dup
        ]
        days = [ts.date() for ts in out["available_ts"]]
        answers = llm_polarity(
            llm,
            [texts[i] for i in wanted],
            [symbols[i] for i in wanted],
            llm_cache,
            [days[i] for i in wanted],
        )
        for i, answer in zip(wanted, answers, strict=True):
            results[i] = answer
        out["llm_model"] = llm.model_id
        stats["llm_calls"] = llm.calls
        if llm.stopped:
            stats["llm_degraded"] = llm.stopped
        if llm_cache is not None:
            stats["llm_cache"] = llm_cache.stats.as_dict()
    out["llm_polarity"] = [r.polarity if r.status == "ok" else np.nan for r in results]
    out["llm_confidence"] = [r.confidence if r.status == "ok" else np.nan for r in results]
    out["llm_reason"] = [r.reason if r.status == "ok" else None for r in results]
    out["llm_sources"] = [json.dumps(r.sources) if r.status == "ok" else None for r in results]
    out["llm_status"] = [r.status if r.status == "ok" else f"{r.status}: {r.detail}" for r in results]
    out["llm_obtained_ts"] = pd.to_datetime(
        [r.obtained_ts if r.status == "ok" else None for r in results], utc=True, format="ISO8601"
    )
    stats["llm_errors"] = int(sum(r.status == "error" for r in results))

    out = combine_polarity(
        out,
        llm_weight=settings.llm_weight,
        disagreement_threshold=settings.disagreement_threshold,
    )
    out = out[SCORE_COLUMNS]
    out.attrs["sentiment"] = stats
    return out
