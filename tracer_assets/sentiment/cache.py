"""Content-hash caches for model outputs: one small SQLite file per (kind, model id, model revision).

``<cache_dir>/<kind>/<model-slug>__<id-hash>__<revision>.sqlite`` holds ``key -> value`` rows, the key
being the SHA-256 of the normalised text (plus whatever else the output depends on, e.g. the symbol
given to the LLM). Re-materializing a partition whose narratives did not change finds every key and
runs no model; another model or revision is another file, so switching model re-scores.

SQLite rather than a rewritten Parquet file: every insert is an atomic transaction, concurrent runs
wait on the file lock instead of overwriting each other's entries, and nothing is rewritten whole.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from tracer_assets.settings import SentimentSettings

_SLUG = re.compile(r"[^A-Za-z0-9._-]+")
_SPACE = re.compile(r"\s+")
_CHUNK = 500  # keys per SELECT (well under SQLite's bound-parameter limit)
LOCAL_FALLBACK = Path(".tracer_cache") / "sentiment"
T = TypeVar("T")


def normalise_text(text: str | None) -> str:
    """NFC, trimmed, inner whitespace collapsed: trivially different copies share a cache entry."""
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text or "")).strip()


def content_hash(*parts: str | None) -> str:
    """SHA-256 (hex, 32 characters) of the normalised parts."""
    digest = hashlib.sha256("\x1f".join(normalise_text(p) for p in parts).encode("utf-8"))
    return digest.hexdigest()[:32]


def model_slug(model_id: str, revision: str) -> str:
    """A file name for (model id, revision): readable slug plus a hash so distinct ids never collide."""
    slug = _SLUG.sub("-", model_id).strip("-.")[-60:] or "model"
    rev = _SLUG.sub("-", revision).strip("-.")[:40] or "unknown"
    return f"{slug}__{hashlib.sha256(model_id.encode()).hexdigest()[:8]}__{rev}"


def cache_root(settings: SentimentSettings, lake_root: str | Path) -> Path:
    """Where caches live: ``sentiment_cache_dir`` if absolute, else under the lake root.

    A remote lake root (``s3://...``) cannot hold SQLite files, so the cache then goes to a local
    ``.tracer_cache/sentiment`` folder (a cache may be lost; it is never the source of truth).
    """
    configured = Path(settings.sentiment_cache_dir)
    if configured.is_absolute():
        return configured
    if "://" in str(lake_root):
        return LOCAL_FALLBACK
    return Path(lake_root) / configured


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"hits": self.hits, "misses": self.misses}


@dataclass
class KeyValueCache:
    """``key -> bytes`` in one SQLite file, created on first write."""

    path: Path
    stats: CacheStats = field(default_factory=CacheStats)

    @classmethod
    def for_model(cls, root: Path, kind: str, model_id: str, revision: str) -> KeyValueCache:
        return cls(Path(root) / kind / f"{model_slug(model_id, revision)}.sqlite")

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=60.0)
        con.execute("CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, value BLOB NOT NULL)")
        return con

    def get_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        wanted = list(dict.fromkeys(keys))
        if not wanted or not self.path.exists():
            return {}
        found: dict[str, bytes] = {}
        with closing(self._connect()) as con:
            for i in range(0, len(wanted), _CHUNK):
                chunk = wanted[i : i + _CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = con.execute(f"SELECT key, value FROM entries WHERE key IN ({marks})", chunk)
                found.update((k, bytes(v)) for k, v in rows)
        return found

    def put_many(self, items: dict[str, bytes]) -> None:
        if not items:
            return
        with closing(self._connect()) as con, con:  # one transaction: all rows or none
            con.executemany("INSERT OR REPLACE INTO entries (key, value) VALUES (?, ?)", items.items())

    def __len__(self) -> int:
        if not self.path.exists():
            return 0
        with closing(self._connect()) as con:
            return int(con.execute("SELECT COUNT(*) FROM entries").fetchone()[0])


def cached_compute(
    cache: KeyValueCache | None,
    keys: Sequence[str],
    compute: Callable[[list[int]], list[T]],
    encode: Callable[[T], bytes],
    decode: Callable[[bytes], T],
    store: Callable[[T], bool] = lambda _: True,
) -> list[T]:
    """Values for ``keys``: cached ones decoded, the rest computed once per distinct key and stored.

    ``compute`` gets the positions (into ``keys``) of one representative per missing key. ``store``
    says whether a computed value may be cached (a failed LLM call is not).
    """
    found = cache.get_many(keys) if cache is not None else {}
    out: list[T | None] = [None] * len(keys)
    missing: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        if key in found:
            out[i] = decode(found[key])
        else:
            missing.setdefault(key, []).append(i)
    if cache is not None:
        cache.stats.hits += len(keys) - sum(len(v) for v in missing.values())
        cache.stats.misses += sum(len(v) for v in missing.values())
    if missing:
        firsts = [positions[0] for positions in missing.values()]
        values = compute(firsts)
        to_store: dict[str, bytes] = {}
        for (key, positions), value in zip(missing.items(), values, strict=True):
            for i in positions:
                out[i] = value
            if store(value):
                to_store[key] = encode(value)
        if cache is not None:
            cache.put_many(to_store)
    return out  # type: ignore[return-value]
