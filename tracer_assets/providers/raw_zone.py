"""The raw landing zone: every real response body, stored as received, before anything parses it.

Layout: ``<lake>/raw/<provider>/date=YYYY-MM-DD/<stamp>-<fetch_id>-<seq>-<nonce>.body`` plus a JSON
sidecar of the same name (``.json``) with the request metadata: endpoint, params (no secrets),
status, kept headers, fetched_at, and the ``context`` a parser needs (window, symbols, timeframe).
``date`` is the UTC day the request is *about* (its window's start, or the snapshot's day), so a
replay of one partition finds its responses without scanning fetch dates.

"As received" has one exception: our own secret values are masked in the body (a server may echo a
key in an error body), so the lake never holds a secret; any other byte is kept.

Both files are written atomically (temp file, then rename) and the sidecar last: a sidecar on disk
means its body is complete. Parsers take ``RawRecord`` objects, live or loaded back from here.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from tracer_assets.lake.atomic import atomic_write_bytes
from tracer_assets.providers.redact import Redactor

RAW_DIR = "raw"


class RawDecodeError(ValueError):
    """A raw body is not valid JSON."""


@dataclass(frozen=True)
class RawRecord:
    """One HTTP response as received, with the metadata of its request."""

    provider: str
    day: str
    fetch_id: str
    seq: int
    endpoint: str
    method: str
    params: dict[str, Any]
    status: int
    fetched_at: pd.Timestamp
    body: bytes
    content_type: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    path: str | None = None  # body file, relative to the lake root; None when the zone is off

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def ref(self) -> str:
        """Where the body lives (or would live), for quarantine rows and messages."""
        return self.path or f"{RAW_DIR}/{self.provider}/date={self.day}/(not stored)"

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        """The decoded body; ``RawDecodeError`` names what is wrong (empty, HTML, truncated)."""
        if not self.body.strip():
            raise RawDecodeError("empty body")
        try:
            return json.loads(self.body)
        except ValueError as exc:
            kind = self.content_type.split(";")[0] or "unknown type"
            raise RawDecodeError(f"malformed JSON ({kind}): {exc}") from None

    def sidecar(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "day": self.day,
            "fetch_id": self.fetch_id,
            "seq": self.seq,
            "endpoint": self.endpoint,
            "method": self.method,
            "params": self.params,
            "status": self.status,
            "fetched_at": self.fetched_at.isoformat(),
            "content_type": self.content_type,
            "headers": self.headers,
            "context": self.context,
            "body_file": Path(self.path).name if self.path else None,
            "bytes": len(self.body),
            "sha256": hashlib.sha256(self.body).hexdigest(),
        }


def new_fetch_id() -> str:
    """Identifies one logical request (all its pages and attempts)."""
    return uuid.uuid4().hex[:12]


class RawZone:
    """Stores and lists raw responses under ``<lake_root>/raw``."""

    def __init__(self, lake_root: str | Path, enabled: bool = True, redactor: Redactor | None = None):
        self.lake_root = Path(lake_root)
        self.root = self.lake_root / RAW_DIR
        self.enabled = enabled
        self.redactor = redactor or Redactor()

    def store(
        self,
        provider: str,
        day: str | pd.Timestamp,
        *,
        fetch_id: str,
        seq: int,
        endpoint: str,
        method: str,
        params: Mapping[str, Any] | None,
        status: int,
        body: bytes,
        fetched_at: pd.Timestamp,
        headers: Mapping[str, str] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> RawRecord:
        """Write one response (body as received, redacted metadata) and return it as a record."""
        day = pd.Timestamp(day).strftime("%Y-%m-%d")
        headers = dict(headers or {})
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        record = RawRecord(
            provider=provider,
            day=day,
            fetch_id=fetch_id,
            seq=seq,
            endpoint=self.redactor.text(endpoint),
            method=method.upper(),
            params=self.redactor.params(params),
            status=int(status),
            fetched_at=pd.Timestamp(fetched_at).tz_convert("UTC"),
            body=self.redactor.body(body),
            content_type=self.redactor.text(content_type),
            headers=self.redactor.headers(headers),
            context=self.redactor.obj(dict(context or {})),
        )
        if not self.enabled:
            return record
        folder = self.root / provider / f"date={day}"
        folder.mkdir(parents=True, exist_ok=True)
        stem = f"{record.fetched_at.strftime('%Y%m%dT%H%M%S%fZ')}-{fetch_id}-{seq:04d}-{uuid.uuid4().hex[:6]}"
        body_path = folder / f"{stem}.body"
        atomic_write_bytes(body_path, record.body)
        record = replace(record, path=str(body_path.relative_to(self.lake_root)))
        atomic_write_bytes(
            folder / f"{stem}.json", json.dumps(record.sidecar(), indent=1, sort_keys=True).encode()
        )
        return record

    # ---- reads ----------------------------------------------------------------------------
    def providers(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if p.is_dir()) if self.root.exists() else []

    def days(self, provider: str) -> list[str]:
        folder = self.root / provider
        if not folder.exists():
            return []
        return sorted(p.name[5:] for p in folder.glob("date=*") if p.is_dir())

    def records(
        self,
        provider: str,
        first_day: str | None = None,
        last_day: str | None = None,
        ok_only: bool = True,
    ) -> Iterator[RawRecord]:
        """Stored records of ``provider`` in day folders [first_day, last_day], oldest fetch first."""
        loaded = []
        for day in self.days(provider):
            if (first_day and day < first_day) or (last_day and day > last_day):
                continue
            for sidecar in sorted((self.root / provider / f"date={day}").glob("*.json")):
                record = self.load(sidecar)
                if record is not None and (record.ok or not ok_only):
                    loaded.append(record)
        loaded.sort(key=lambda r: (r.fetched_at, r.fetch_id, r.seq))
        yield from loaded

    def load(self, sidecar_path: Path) -> RawRecord | None:
        """A record from its sidecar and body; None when the body is missing (never half-written)."""
        meta = json.loads(Path(sidecar_path).read_text())
        body_path = Path(sidecar_path).with_name(meta["body_file"]) if meta.get("body_file") else None
        if body_path is None or not body_path.exists():
            return None
        return RawRecord(
            provider=meta["provider"],
            day=meta["day"],
            fetch_id=meta["fetch_id"],
            seq=int(meta["seq"]),
            endpoint=meta["endpoint"],
            method=meta["method"],
            params=meta.get("params") or {},
            status=int(meta["status"]),
            fetched_at=pd.Timestamp(meta["fetched_at"]).tz_convert("UTC"),
            body=body_path.read_bytes(),
            content_type=meta.get("content_type", ""),
            headers=meta.get("headers") or {},
            context=meta.get("context") or {},
            path=str(body_path.relative_to(self.lake_root)),
        )
