"""The one atomic file write: a temp file in the destination folder, renamed into place, so a reader
sees the old file or the new one and a crash never leaves half a file. Every writer uses it: the lake's
Parquet, the raw zone, the outbox and Telegram ledger, artifacts, plots, the report, the pause flag."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from tracer_assets.lake.tempfiles import temp_prefix


def atomic_write(
    dest: str | Path, write: Callable[[str], None], *, durable: bool = False, mode: int | None = None
) -> Path:
    """Call ``write(tmp_path)``, then rename the temp file onto ``dest``; ``durable`` fsyncs the file
    and its folder first (the lake's Parquet files); ``mode`` sets its permissions (a temp file is
    private to its owner)."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(), suffix=dest.suffix, dir=dest.parent)
    os.close(fd)
    try:
        write(tmp)
        if mode is not None:
            os.chmod(tmp, mode)
        if durable:
            with open(tmp, "rb") as fh:  # durable before it becomes visible
                os.fsync(fh.fileno())
        os.replace(tmp, dest)  # atomic on POSIX
        if durable:
            dir_fd = os.open(dest.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest


def atomic_write_text(dest: str | Path, text: str, mode: int | None = None) -> Path:
    """``text`` (UTF-8) written atomically to ``dest``."""
    return atomic_write(dest, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"), mode=mode)


def atomic_write_bytes(dest: str | Path, data: bytes, mode: int | None = None) -> Path:
    """``data`` written durably and atomically to ``dest`` (the lake's local files, the raw zone)."""
    return atomic_write(dest, lambda tmp: Path(tmp).write_bytes(data), durable=True, mode=mode)
