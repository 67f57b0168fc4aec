"""The one atomic file write: a temp file in the destination folder, renamed into place, so a reader
sees the old file or the new one and a crash never leaves half a file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def atomic_write(dest: str | Path, write: Callable[[str], None], *, durable: bool = False) -> Path:
    """Call ``write(tmp_path)``, then rename the temp file onto ``dest``; ``durable`` fsyncs the file
    and its folder first (the lake's Parquet files)."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=dest.suffix, dir=dest.parent)
    os.close(fd)
    try:
        write(tmp)
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


def atomic_write_text(dest: str | Path, text: str) -> Path:
    """``text`` (UTF-8) written atomically to ``dest``."""
    return atomic_write(dest, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
