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

from tracer_assets.lake.store import Lake

CONTROL_DIR = "_control"
PAUSE_FILE = "paused.json"
PAUSE_REL = f"{CONTROL_DIR}/{PAUSE_FILE}"


@dataclass(frozen=True)
class PauseState:
    who: str
    when: str
    why: str


def _lake(lake_root: str | Path | Lake) -> Lake:
    return lake_root if isinstance(lake_root, Lake) else Lake(lake_root)


def pause_path(lake_root: str | Path | Lake) -> Path:
    """The flag file of a local lake (an S3 lake's flag is the object ``_control/paused.json``)."""
    return _lake(lake_root).root / PAUSE_REL


def pause_state(lake_root: str | Path | Lake) -> PauseState | None:
    """The pause record, or None when running. An unreadable flag file still means paused."""
    lake = _lake(lake_root)
    if not lake.exists(PAUSE_REL):
        return None
    try:
        data = json.loads(lake.read_bytes(PAUSE_REL))
        return PauseState(str(data["who"]), str(data["when"]), str(data["why"]))
    except (OSError, ValueError, KeyError, TypeError):
        # a torn or hand-edited flag must fail safe: paused, with the reason saying why
        return PauseState("unknown", "unknown", f"unreadable pause flag {lake.uri(PAUSE_REL)}")


def is_paused(lake_root: str | Path | Lake) -> bool:
    return pause_state(lake_root) is not None


def pause(
    lake_root: str | Path | Lake, why: str, who: str | None = None, now: pd.Timestamp | None = None
) -> PauseState:
    """Set the flag (atomically: a temp file and a rename locally, one PUT on S3; pausing twice keeps
    the first record)."""
    lake = _lake(lake_root)
    existing = pause_state(lake)
    if existing is not None:
        return existing
    state = PauseState(
        who=who or getpass.getuser(),
        when=(now or pd.Timestamp.now(tz="UTC")).isoformat(),
        why=why,
    )
    lake.write_text(PAUSE_REL, json.dumps(asdict(state), indent=2))
    return state


def resume(lake_root: str | Path | Lake) -> PauseState | None:
    """Clear the flag; returns the record that was cleared (None when not paused)."""
    lake = _lake(lake_root)
    state = pause_state(lake)
    lake.delete(PAUSE_REL)
    return state
