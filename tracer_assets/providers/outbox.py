"""File outbox ``Notifier``, the offline default: one file per key under ``settings.outbox_dir``.

Idempotent per key: a second ``send`` with a key already in the outbox writes nothing and reports
the existing file, so a retried run never delivers twice.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from tracer_assets.lake.atomic import atomic_write_text
from tracer_assets.providers.protocols import Delivery
from tracer_assets.settings import TracerSettings

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_key(key: str) -> str:
    """A file name for ``key``; keys that needed changing get a hash suffix so two never collide."""
    cleaned = _UNSAFE.sub("_", key).strip("._") or "message"
    if cleaned == key:
        return cleaned
    return f"{cleaned[:80]}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


class OutboxNotifier:
    """Writes each message to ``<outbox_dir>/<key>.txt``."""

    name = "outbox"

    def __init__(self, settings: TracerSettings, lake_root: str | Path | None = None):
        self.folder = Path(settings.lake.outbox_dir)

    def path_for(self, key: str) -> Path:
        return self.folder / f"{safe_key(key)}.txt"

    def send(self, text: str, key: str) -> Delivery:
        path = self.path_for(key)
        if path.exists():
            return Delivery(
                channel=self.name,
                key=key,
                chunks=1,
                delivered=True,
                detail="already in outbox",
                refs=[str(path)],
            )
        atomic_write_text(path, text)
        return Delivery(
            channel=self.name, key=key, chunks=1, delivered=True, detail="written", refs=[str(path)]
        )
