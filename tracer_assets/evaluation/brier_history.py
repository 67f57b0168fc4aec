"""The Brier-over-time pages' data, carried week by week through a range.

Per cohort dimension: the plotted columns of every week so far, and a digest chained over the weeks
(a page is redrawn only when its digest changed). Adding a week costs that week's rows: nothing
re-reads, re-concatenates or re-hashes the whole history; only the page itself holds every week.
"""

from __future__ import annotations

import hashlib

import pandas as pd

from tracer_assets.evaluation.metrics import COHORT_DIMS

# what brier_over_time_figure reads from eval_metrics rows
PLOT_COLUMNS = ["week", "kind", "predictor", "cohort_dim", "cohort", "n", "brier", "brier_lo", "brier_hi"]


def frame_digest(data: pd.DataFrame, *extra: str) -> str | None:
    """A hash of ``data`` (values, columns and dtypes) and ``extra``; None when a cell is unhashable."""
    h = hashlib.blake2b(digest_size=16)
    try:
        h.update(pd.util.hash_pandas_object(data, index=False).to_numpy().tobytes())
    except TypeError:
        return None
    for piece in (*map(str, data.columns), *map(str, data.dtypes), *extra):
        h.update(piece.encode())
    return h.hexdigest()


class BrierHistory:
    """Weekly ``eval_metrics`` rows, by cohort dimension, in week order."""

    def __init__(self) -> None:
        self._parts: dict[str, list[pd.DataFrame]] = {dim: [] for dim in COHORT_DIMS}
        self._digests: dict[str, str | None] = dict.fromkeys(COHORT_DIMS, "")

    def add(self, metrics: pd.DataFrame) -> None:
        """Append ``eval_metrics`` rows of one or more weeks later than those already added."""
        if metrics.empty:
            return
        metrics = metrics.sort_values("week", kind="stable")
        for dim, rows in metrics.groupby("cohort_dim", sort=False):
            if dim not in self._parts:
                continue
            rows = rows[PLOT_COLUMNS].reset_index(drop=True)
            self._parts[dim].append(rows)
            for _, week in rows.groupby("week", sort=True):  # chained week by week, however added
                before = self._digests[dim]
                self._digests[dim] = (
                    None if before is None else frame_digest(week.reset_index(drop=True), before)
                )

    def rows(self, dim: str) -> pd.DataFrame:
        """Every week's rows of ``dim`` (the plotted columns)."""
        parts = self._parts[dim]
        if len(parts) > 1:  # joined once per call: the next week appends to one frame
            parts[:] = [pd.concat(parts, ignore_index=True)]
        return parts[0] if parts else pd.DataFrame({c: pd.Series(dtype=object) for c in PLOT_COLUMNS})

    def digest(self, dim: str) -> str | None:
        """A digest of every week's rows of ``dim`` (None: not hashable, always redraw)."""
        return self._digests[dim]
