"""Where the lake lives: a local folder or an ``s3://bucket/prefix``, behind one fsspec filesystem.

A local lake writes each file through a temp file, fsync and rename (``lake/atomic.py``: readers see
the old file or the new one). S3 has no rename: each file is one object PUT, and a new object replaces the old one whole,
so readers again see one version or the other, never a mix.

S3 credentials and endpoint come from the standard AWS variables (``AWS_ENDPOINT_URL``,
``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_REGION``); they are
handed to s3fs and never appear in a path, a message or the lake.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fsspec import AbstractFileSystem
from fsspec.implementations.local import LocalFileSystem

REMOTE_SCHEMES = ("s3",)
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")


class LakeConfigError(ValueError):
    """``TRACER_LAKE_ROOT`` (or a setting it needs) cannot be used; the message names it."""


@dataclass(frozen=True)
class LakeLocation:
    """A parsed lake root: its filesystem, the root in that filesystem's terms, and how to show it."""

    fs: AbstractFileSystem
    base: str  # absolute local path, or "bucket/prefix" for S3
    scheme: str  # "file" or "s3"

    @property
    def is_local(self) -> bool:
        return self.scheme == "file"

    def url(self, path: str) -> str:
        """``path`` (in the filesystem's terms) as a user would write it."""
        return path if self.is_local else f"{self.scheme}://{path}"


def aws_env() -> dict[str, str | None]:
    """The standard AWS variables, read now (tests and workers set them after import)."""
    env = os.environ
    return {
        "endpoint_url": env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL") or None,
        "key": env.get("AWS_ACCESS_KEY_ID") or None,
        "secret": env.get("AWS_SECRET_ACCESS_KEY") or None,
        "token": env.get("AWS_SESSION_TOKEN") or None,
        "region": env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
    }


def s3_filesystem() -> AbstractFileSystem:
    """An s3fs filesystem from the AWS variables, with listings never cached (other workers write)."""
    import s3fs

    aws = aws_env()
    client_kwargs: dict[str, Any] = {}
    if aws["region"]:
        client_kwargs["region_name"] = aws["region"]
    return s3fs.S3FileSystem(
        key=aws["key"],
        secret=aws["secret"],
        token=aws["token"],
        endpoint_url=aws["endpoint_url"],
        client_kwargs=client_kwargs,
        use_listings_cache=False,
        skip_instance_cache=True,
    )


def open_location(root: str | Path) -> LakeLocation:
    """Parse a lake root. Anything with a scheme other than ``s3://`` or ``file://`` is refused, so a
    remote root can never silently become a local folder named ``s3:``."""
    text = str(root).strip()
    if not text:
        raise LakeConfigError("TRACER_LAKE_ROOT is empty: give a folder or s3://bucket/prefix")
    match = _SCHEME.match(text)
    if match and not (os.name == "nt" and len(match.group(1)) == 1):
        scheme = match.group(1).lower()
        rest = text[match.end() :]
        if not rest.startswith("//"):
            raise LakeConfigError(f"TRACER_LAKE_ROOT={text!r}: write {scheme}://..., with two slashes")
        rest = rest[2:]
        if scheme == "file":
            return _local(rest)
        if scheme not in REMOTE_SCHEMES:
            raise LakeConfigError(
                f"TRACER_LAKE_ROOT={text!r}: scheme {scheme!r} is not supported; "
                "use a local folder or s3://bucket/prefix"
            )
        base = rest.strip("/")
        if not base or base.startswith("."):
            raise LakeConfigError(f"TRACER_LAKE_ROOT={text!r}: no bucket named")
        return LakeLocation(s3_filesystem(), base, scheme)
    return _local(text)


def _local(path: str) -> LakeLocation:
    return LakeLocation(LocalFileSystem(), Path(path).expanduser().absolute().as_posix(), "file")
