"""Governed parameters at decision time: the ``governed_params`` rows in force cut a window into
segments, each computed with the settings plus that segment's parameter set (the defaults where no
version was adopted yet). The signals and narrative_pressure stages both read them (the grid's pressure
half-life belongs to the pressure stage); under a stand-aside version the signals stage emits nothing."""

from __future__ import annotations

from typing import NamedTuple

import pandas as pd

from tracer_assets.pipeline.store import Store
from tracer_assets.research.governance import (
    GOVERNED_COLUMNS,
    is_stand_aside,
    threshold_params,
    version_segments,
)
from tracer_assets.research.grid import with_params
from tracer_assets.settings import TracerSettings

GOVERNED_TABLE = "governed_params"


class Segment(NamedTuple):
    """[start, end) under one governed version: its settings, its version (None: the defaults) and
    whether it stands aside (no tradeable signal)."""

    start: pd.Timestamp
    end: pd.Timestamp
    settings: TracerSettings
    version: str | None
    stand_aside: bool

    @property
    def label(self) -> str:
        """The version as run metadata shows it."""
        name = self.version or "defaults"
        return f"{name} (stand aside)" if self.stand_aside else name


def read_governed(store: Store) -> pd.DataFrame:
    """Every ``governed_params`` row (adoptions and rollbacks); empty with the columns when none."""
    if GOVERNED_TABLE not in store.tables():
        return pd.DataFrame(columns=GOVERNED_COLUMNS)
    return store.read(GOVERNED_TABLE)


def governed_segments(
    store: Store, settings: TracerSettings, start: pd.Timestamp, end: pd.Timestamp
) -> list[Segment]:
    """[start, end) cut where the governed version changes."""
    governed = read_governed(store)
    if governed.empty:
        return [Segment(start, end, settings, None, False)]
    return [
        Segment(lo, hi, with_params(settings, threshold_params(params)), version, is_stand_aside(params))
        for lo, hi, version, params in version_segments(governed, start, end)
    ]
