"""Walk-forward folds: out-of-sample windows with anchored or rolling in-sample windows before them.

Every fold's out-of-sample (OOS) window is one calendar period (a month by default). Its in-sample (IS)
window ends ``embargo_days`` before the OOS window starts (the embargo gap) and starts either at the
series start (anchored) or ``is_months`` before its end (rolling). In-sample signals whose horizon
reaches past the IS end are purged (``purge``), so no in-sample outcome is decided by prices from the
embargo or the OOS window.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Fold:
    """One walk-forward fold; every bound is a UTC midnight, windows are [start, end)."""

    fold_id: str
    is_start: pd.Timestamp
    is_end: pd.Timestamp
    oos_start: pd.Timestamp
    oos_end: pd.Timestamp


def _utc_day(value) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.normalize()


def fold_for(
    oos_month: str,
    *,
    data_start,
    is_months: int,
    embargo_days: int,
    anchored: bool = False,
) -> Fold:
    """The fold whose OOS window is the calendar month ``oos_month`` (``YYYY-MM`` or a day in it)."""
    if is_months < 1:
        raise ValueError("is_months must be >= 1")
    if embargo_days < 0:
        raise ValueError("embargo_days must be >= 0")
    oos_start = _utc_day(pd.Timestamp(oos_month).replace(day=1))
    oos_end = oos_start + pd.DateOffset(months=1)
    is_end = oos_start - pd.Timedelta(days=embargo_days)
    first = _utc_day(data_start)
    is_start = first if anchored else max(first, is_end - pd.DateOffset(months=is_months))
    if is_start >= is_end:
        raise ValueError(f"fold {oos_start:%Y-%m}: no in-sample data before {is_end:%Y-%m-%d}")
    return Fold(f"{oos_start:%Y-%m}", is_start, is_end, oos_start, oos_end)


def monthly_folds(start, end, **kwargs) -> list[Fold]:
    """One fold per calendar month whose OOS window lies inside [start, end) (see ``fold_for``)."""
    months = pd.date_range(_utc_day(start), _utc_day(end), freq="MS", inclusive="left")
    if _utc_day(start).day == 1 and (not len(months) or months[0] != _utc_day(start)):
        months = months.insert(0, _utc_day(start))
    return [fold_for(f"{m:%Y-%m}", **kwargs) for m in months if m + pd.DateOffset(months=1) <= _utc_day(end)]


def purge(signals: pd.DataFrame, fold: Fold) -> pd.DataFrame:
    """In-sample signals of ``fold``: decided in [is_start, is_end) and resolved by ``is_end``."""
    if signals.empty:
        return signals
    decided = pd.to_datetime(signals["decision_ts"], utc=True)
    resolved = decided + pd.to_timedelta(signals["horizon_hours"].astype(float), unit="h")
    keep = (decided >= fold.is_start) & (decided < fold.is_end) & (resolved <= fold.is_end)
    return signals[keep.to_numpy()]


def out_of_sample(signals: pd.DataFrame, fold: Fold) -> pd.DataFrame:
    """Signals decided inside the fold's OOS window."""
    if signals.empty:
        return signals
    decided = pd.to_datetime(signals["decision_ts"], utc=True)
    return signals[((decided >= fold.oos_start) & (decided < fold.oos_end)).to_numpy()]
