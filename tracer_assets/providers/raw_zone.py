"""The raw landing zone: every real response body, stored as received, before anything parses it.

Layout: ``<lake>/raw/<provider>/date=YYYY-MM-DD/<stamp>-<fetch_id>-<seq>-<nonce>.body`` plus a JSON
sidecar of the same name (``.json``) with the request metadata: endpoint, params (no secrets),
status, kept headers, fetched_at, and the ``context`` a parser needs (window, symbols, timeframe).
``date`` is the UTC day the request is *about* (its window's start, or the snapshot's day), so a
replay of one partition finds its responses without scanning fetch dates.

"As received" has one exception: our own secret values are masked in the body (a server may echo a
key in an error body), so the lake never holds a secret; any other byte is kept.

Both files are written through the lake's file API (locally a temp file, then rename; on S3 one object
PUT each) and the sidecar last: a sidecar in the zone means its body is complete. Parsers take ``RawRecord`` objects, live or loaded back from here.
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

from tracer_assets.lake.store import Lake
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


def window_context(start: pd.Timestamp, end: pd.Timestamp, **more: Any) -> dict[str, Any]:
    """A fetch's record ``context``: its window [start, end) (the replay provider matches on it), then ``more``."""
    return {"window_start": start.isoformat(), "window_end": end.isoformat(), **more}


class RawZone:
    """Stores and lists raw responses under ``<lake>/raw``, through the lake's file API (local or S3)."""

    def __init__(self, lake_root: str | Path | Lake, enabled: bool = True, redactor: Redactor | None = None):
        self.lake = lake_root if isinstance(lake_root, Lake) else Lake(lake_root)
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
        folder = f"{RAW_DIR}/{provider}/date={day}"
        stem = f"{record.fetched_at.strftime('%Y%m%dT%H%M%S%fZ')}-{fetch_id}-{seq:04d}-{uuid.uuid4().hex[:6]}"
        body_path = f"{folder}/{stem}.body"
        self.lake.write_bytes(body_path, record.body)
        record = replace(record, path=body_path)
        sidecar = json.dumps(record.sidecar(), indent=1, sort_keys=True).encode()
        self.lake.write_bytes(f"{folder}/{stem}.json", sidecar)
        return record

    # ---- reads ----------------------------------------------------------------------------
    def providers(self) -> list[str]:
        return self.lake.listdir(RAW_DIR)

    def days(self, provider: str) -> list[str]:
        return [n[5:] for n in self.lake.listdir(f"{RAW_DIR}/{provider}") if n.startswith("date=")]

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
            folder = f"{RAW_DIR}/{provider}/date={day}"
            for name in self.lake.listdir(folder):
                if not name.endswith(".json"):
                    continue
                record = self.load(f"{folder}/{name}")
                if record is not None and (record.ok or not ok_only):
                    loaded.append(record)
        loaded.sort(key=lambda r: (r.fetched_at, r.fetch_id, r.seq))
        yield from loaded

    def load(self, sidecar_path: str | Path) -> RawRecord | None:
        """A record from its sidecar and body (``sidecar_path`` relative to the lake root, or a local
        absolute path inside it); None when the body is missing (never half-written)."""
        rel = str(sidecar_path)
        if Path(rel).is_absolute():
            rel = Path(rel).relative_to(self.lake.root).as_posix()
        meta = json.loads(self.lake.read_bytes(rel))
        body_path = f"{rel.rsplit('/', 1)[0]}/{meta['body_file']}" if meta.get("body_file") else None
        if body_path is None or not self.lake.exists(body_path):
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
            body=self.lake.read_bytes(body_path),
            content_type=meta.get("content_type", ""),
            headers=meta.get("headers") or {},
            context=meta.get("context") or {},
            path=body_path,
        )
