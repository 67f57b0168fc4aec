"""The one atomic file write: a temp file in the destination folder, renamed into place, so a reader
sees the old file or the new one and a crash never leaves half a file. Every writer uses it: the lake's
Parquet, the raw zone, the outbox and Telegram ledger, artifacts, plots, the report, the pause flag.

Durable writes (the lake's files) are made durable before they become visible. Alone, that is two
fsyncs per file (the temp file, then its folder after the rename: about 8 ms here, most of a year's
11,000 files' write time). Inside ``durable_batch()`` (a range's partitions) the renames wait for the
batch's end: every temp file is written, then one ``syncfs`` makes them all durable, then the renames,
then a second ``syncfs`` makes the renames durable. Crash semantics, the same guarantee as one file at
a time: a rename happens only after its file's bytes are on disk, so after a crash or power loss each
file is the old one or the whole new one, never torn; a crash before the renames leaves every old file
and only temp files (swept on the next start, ``lake/tempfiles.py``); a crash (power loss) during the
renames may keep some of the range's new files and not others, as a crash between two single writes
does. A writer that fails inside the batch makes none of the batch visible. Files of the batch are not
readable until it ends, so a batch holds only writes that nothing in it reads back.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from pathlib import Path

from tracer_assets.lake.tempfiles import temp_prefix


class DurableBatch:
    """Temp files waiting for their rename (in write order) until the batch ends."""

    def __init__(self) -> None:
        self.pending: deque[tuple[str, Path]] = deque()

    def commit(self) -> None:
        """Make every temp file durable, rename them in order, make the renames durable."""
        if not self.pending:
            return
        if len(self.pending) == 1:  # one file: its own two fsyncs cost less than two syncfs
            tmp, dest = self.pending[0]
            _fsync_path(tmp)
            os.replace(tmp, dest)
            self.pending.clear()
            _fsync_path(dest.parent)
            return
        folders = list(dict.fromkeys(dest.parent for _, dest in self.pending))
        if not _syncfs(folders):
            for tmp, _ in self.pending:
                _fsync_path(tmp)
        while self.pending:
            tmp, dest = self.pending[0]
            os.replace(tmp, dest)
            self.pending.popleft()
        if not _syncfs(folders):
            for folder in folders:
                _fsync_path(folder)

    def abort(self) -> None:
        """Drop the batch's temp files: none of its files becomes visible."""
        for tmp, _ in self.pending:
            Path(tmp).unlink(missing_ok=True)
        self.pending.clear()


_BATCH: ContextVar[DurableBatch | None] = ContextVar("tracer_durable_batch", default=None)


@contextlib.contextmanager
def durable_batch() -> Iterator[DurableBatch]:
    """Durable writes inside are renamed into place together when the block ends (see the module doc);
    a batch inside a batch joins the outer one."""
    outer = _BATCH.get()
    if outer is not None:
        yield outer
        return
    batch = DurableBatch()
    token = _BATCH.set(batch)
    try:
        yield batch
    except BaseException:
        batch.abort()
        raise
    finally:
        _BATCH.reset(token)
    try:
        batch.commit()
    except BaseException:
        batch.abort()  # the temp files not yet renamed
        raise


def _fsync_path(path: str | Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _libc_syncfs() -> Callable[[int], int] | None:
    try:
        fn = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):  # not Linux: fsync file by file instead
        return None
    fn.argtypes = [ctypes.c_int]
    return fn


_SYNCFS = _libc_syncfs()


def _syncfs(folders: list[Path]) -> bool:
    """``syncfs`` the filesystem of each folder once (one per device); False where there is no syncfs.
    An error of the flush raises (Linux 5.8+ reports writeback errors through syncfs)."""
    if _SYNCFS is None:
        return False
    done: set[int] = set()
    for folder in folders:
        device = os.stat(folder).st_dev
        if device in done:
            continue
        fd = os.open(folder, os.O_RDONLY)
        try:
            if _SYNCFS(fd) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"syncfs {folder}: {os.strerror(err)}")
        finally:
            os.close(fd)
        done.add(device)
    return True


def atomic_write(
    dest: str | Path, write: Callable[[str], None], *, durable: bool = False, mode: int | None = None
) -> Path:
    """Call ``write(tmp_path)``, then rename the temp file onto ``dest``; ``durable`` fsyncs the file
    first and its folder after (the lake's Parquet files), or inside ``durable_batch()`` leaves both
    and the rename to the batch's end; ``mode`` sets its permissions (a temp file is private to its
    owner)."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(), suffix=dest.suffix, dir=dest.parent)
    os.close(fd)
    try:
        write(tmp)
        if mode is not None:
            os.chmod(tmp, mode)
        batch = _BATCH.get() if durable else None
        if batch is not None:
            batch.pending.append((tmp, dest))
            return dest
        if durable:
            _fsync_path(tmp)  # durable before it becomes visible
        os.replace(tmp, dest)  # atomic on POSIX
        if durable:
            _fsync_path(dest.parent)
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
