"""Governed parameters at decision time: the ``governed_params`` rows in force cut a window into
segments, each computed with the settings plus that segment's parameter set (the defaults where no
version was adopted yet). The signals and narrative_pressure stages both read them (the grid's pressure
half-life belongs to the pressure stage)."""

from __future__ import annotations

import pandas as pd

from tracer_assets.pipeline.store import Store
from tracer_assets.research.governance import GOVERNED_COLUMNS, version_segments
from tracer_assets.research.grid import with_params
from tracer_assets.settings import TracerSettings

GOVERNED_TABLE = "governed_params"


def read_governed(store: Store) -> pd.DataFrame:
    """Every ``governed_params`` row (adoptions and rollbacks); empty with the columns when none."""
    if GOVERNED_TABLE not in store.tables():
        return pd.DataFrame(columns=GOVERNED_COLUMNS)
    return store.read(GOVERNED_TABLE)


def governed_segments(
    store: Store, settings: TracerSettings, start: pd.Timestamp, end: pd.Timestamp
) -> list[tuple[pd.Timestamp, pd.Timestamp, TracerSettings, str | None]]:
    """[start, end) cut where the governed version changes: (lo, hi, settings in force, version)."""
    governed = read_governed(store)
    if governed.empty:
        return [(start, end, settings, None)]
    return [
        (lo, hi, with_params(settings, params), version)
        for lo, hi, version, params in version_segments(governed, start, end)
    ]
