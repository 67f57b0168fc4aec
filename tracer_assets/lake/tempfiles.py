"""Temp files of atomic writes: named by the writing process, swept after a crash.

Every atomic write goes through ``.tmp-<pid>-<random>`` next to its destination and is renamed into
place. A ``kill -9`` between the two leaves the temp file behind; ``sweep_temp_files`` removes it on
the next start. It never races a live writer: a file is removed only when the PID in its name is
gone, or (for names without a PID, or a PID reused by another process) when it is older than
``max_age_seconds``.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

TEMP_PREFIX = ".tmp-"
_OWNED = re.compile(r"^\.tmp-(\d+)-")


def temp_prefix() -> str:
    """The prefix this process gives its temp files (its PID, so a sweep can tell live from dead)."""
    return f"{TEMP_PREFIX}{os.getpid()}-"


def pid_alive(pid: int) -> bool:
    """Whether a process with ``pid`` exists (a zombie counts as gone)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True


@dataclass
class SweepReport:
    removed: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)


def sweep_temp_files(
    roots: list[Path | str], max_age_seconds: float, now: float | None = None
) -> SweepReport:
    """Remove crash litter (``.tmp-*`` files) under ``roots``: a dead owner's at once, others by age."""
    now = time.time() if now is None else now
    report = SweepReport()
    for root in roots:
        root = Path(root)
        if not root.is_dir():
            continue
        for path in root.rglob(f"{TEMP_PREFIX}*"):
            if not path.is_file():
                continue
            owner = _OWNED.match(path.name)
            try:
                age = now - path.stat().st_mtime
            except FileNotFoundError:  # its writer renamed it meanwhile
                continue
            dead_owner = owner is not None and not pid_alive(int(owner.group(1)))
            if dead_owner or age > max_age_seconds:
                path.unlink(missing_ok=True)
                report.removed.append(path)
            else:
                report.kept.append(path)
    return report
