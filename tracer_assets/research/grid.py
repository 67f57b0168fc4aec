"""The declared grid of signal thresholds and the settings each grid point runs with."""

from __future__ import annotations

import itertools
from collections.abc import Mapping

from tracer_assets.settings import FIELD_SECTION, TracerSettings


def expand_grid(grid: Mapping[str, list]) -> list[dict[str, object]]:
    """Every combination of the grid's values, in a stable order (the first key varies slowest)."""
    keys = list(grid)
    if not keys:
        return [{}]
    empty = [k for k in keys if not list(grid[k])]
    if empty:
        raise ValueError(f"walkforward_grid lists no values for {empty}")
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*(grid[k] for k in keys))]


def with_params(settings: TracerSettings, params: Mapping[str, object]) -> TracerSettings:
    """``settings`` with ``params`` applied and validated (an unknown name is an error naming it)."""
    known = set(FIELD_SECTION)
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValueError(f"walkforward_grid names unknown settings {unknown}")
    if not params:
        return settings
    return type(settings).model_validate({**settings.model_dump(), **dict(params)})
