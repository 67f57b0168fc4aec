"""The pause switch: a flag file under the lake that every delivery and execution step honours.

``<lake>/_control/paused.json`` holds who paused, when and why. While it exists, assets still compute
(the lake stays current for analysts) but nothing leaves the process: no digest is sent, no order
placed. ``tracer pause`` / ``tracer resume`` also stop and start the schedules and sensors.
"""

from __future__ import annotations

import getpass
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from tracer_assets.lake.atomic import atomic_write_text

CONTROL_DIR = "_control"
PAUSE_FILE = "paused.json"


@dataclass(frozen=True)
class PauseState:
    who: str
    when: str
    why: str


def pause_path(lake_root: str | Path) -> Path:
    return Path(lake_root) / CONTROL_DIR / PAUSE_FILE


def pause_state(lake_root: str | Path) -> PauseState | None:
    """The pause record, or None when running. An unreadable flag file still means paused."""
    path = pause_path(lake_root)
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
        return PauseState(str(data["who"]), str(data["when"]), str(data["why"]))
    except (OSError, ValueError, KeyError, TypeError):
        # a torn or hand-edited flag must fail safe: paused, with the reason saying why
        return PauseState("unknown", "unknown", f"unreadable pause flag {path}")


def is_paused(lake_root: str | Path) -> bool:
    return pause_state(lake_root) is not None


def pause(
    lake_root: str | Path, why: str, who: str | None = None, now: pd.Timestamp | None = None
) -> PauseState:
    """Set the flag (atomically; pausing twice keeps the first record)."""
    existing = pause_state(lake_root)
    if existing is not None:
        return existing
    state = PauseState(
        who=who or getpass.getuser(),
        when=(now or pd.Timestamp.now(tz="UTC")).isoformat(),
        why=why,
    )
    atomic_write_text(pause_path(lake_root), json.dumps(asdict(state), indent=2))
    return state


def resume(lake_root: str | Path) -> PauseState | None:
    """Clear the flag; returns the record that was cleared (None when not paused)."""
    state = pause_state(lake_root)
    pause_path(lake_root).unlink(missing_ok=True)
    return state
