"""What can go wrong in a written partition, checked on the rows themselves.

The writer (``lake.store.to_arrow``) already refuses missing contract columns and naive timestamps at
write time, so these checks look at the file as stored (a hand-made or older file can still break
the contract) and at what the writer cannot know: point-in-time order, duplicate keys, and values
outside their domain (a price of zero, a probability of 1.3, a strength below zero).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from tracer_assets.lake.schemas import CONTRACT, TS
from tracer_assets.monitoring.stored_frames import keyed_runs, stacked

# The columns that identify one row of a table (a duplicate is a writer or provider bug).
TABLE_KEYS: dict[str, list[str]] = {
    "bars": ["symbol", "ts"],
    "price_features": ["symbol", "ts"],
    "narratives": ["narrative_id"],
    "narrative_scores": ["narrative_id", "model"],
    "narrative_pressure": ["symbol", "decision_ts"],
    "signals": ["signal_id"],
    "digest": ["digest_id", "section", "rank"],
    "polymarket_markets": ["market_id", "available_ts"],
    "eval_observations": ["kind", "observation_id"],
    "quarantine": ["quarantine_id"],
    "run_health": ["health_id"],
}


@dataclass(frozen=True)
class Range:
    """Where a column's non-null values must lie (None: unbounded on that side); always finite."""

    lo: float | None
    hi: float | None
    lo_open: bool = False

    def outside(self, values: pd.Series) -> pd.Series:
        bad = ~np.isfinite(values)
        if self.lo is not None:
            bad |= values <= self.lo if self.lo_open else values < self.lo
        if self.hi is not None:
            bad |= values > self.hi
        return bad

    def __str__(self) -> str:
        lo = "-inf" if self.lo is None else f"{self.lo:g}"
        hi = "inf" if self.hi is None else f"{self.hi:g}"
        return f"{'(' if self.lo_open or self.lo is None else '['}{lo}, {hi}{']' if self.hi is not None else ')'}"


POSITIVE = Range(0.0, None, lo_open=True)
UNIT = Range(0.0, 1.0)
SIGNED_UNIT = Range(-1.0, 1.0)
NON_NEGATIVE = Range(0.0, None)
VALUE_RANGES: dict[str, dict[str, Range]] = {
    "bars": {"open": POSITIVE, "high": POSITIVE, "low": POSITIVE, "close": POSITIVE, "volume": NON_NEGATIVE},
    "price_features": {"close": POSITIVE, "realized_vol": NON_NEGATIVE},
    "narrative_scores": {"polarity": SIGNED_UNIT, "confidence": UNIT, "novelty": UNIT},
    "signals": {"strength": UNIT, "internal_prob": UNIT, "horizon_hours": POSITIVE},
    "digest": {"strength": UNIT, "internal_prob": UNIT, "yes_price": UNIT},
    "polymarket_markets": {"yes_price": UNIT, "resolved_outcome": UNIT, "internal_prob": UNIT},
    "eval_observations": {"predicted_prob": UNIT, "outcome": UNIT},
    "eval_metrics": {"n": NON_NEGATIVE, "brier": UNIT, "hit_rate": UNIT, "log_loss": NON_NEGATIVE},
    "eval_win_rates": {"n": NON_NEGATIVE, "win_rate": UNIT, "win_rate_lo": UNIT, "win_rate_hi": UNIT},
    "calibration_bins": {"mean_predicted": UNIT, "observed_freq": UNIT, "count": NON_NEGATIVE},
}
# Pairs (low column, high column) that must be ordered on every row.
ORDERED: dict[str, list[tuple[str, str]]] = {"bars": [("low", "high"), ("low", "close"), ("close", "high")]}


@dataclass
class CheckReport:
    """Problems found in one table's partitions; ``passed`` when there are none."""

    table: str
    partitions: list[str]
    rows: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        return "; ".join(self.problems) if self.problems else "ok"


def schema_problems(table: str, schema: pa.Schema) -> list[str]:
    """Contract columns present with their Arrow types (as stored), timestamps UTC."""
    problems = []
    stored = {f.name: f.type for f in schema}
    for name, wanted in [*CONTRACT.get(table, []), ("event_ts", TS), ("available_ts", TS)]:
        got = stored.get(name)
        if got is None:
            problems.append(f"missing column {name}")
        elif pa.types.is_null(got):
            continue  # an all-null column merges with any type; the rows check catches required nulls
        elif pa.types.is_timestamp(wanted):
            if not pa.types.is_timestamp(got) or got.tz not in ("UTC", "+00:00", "Etc/UTC"):
                problems.append(f"{name} is {got}, not a UTC timestamp")
        elif got != wanted and not (pa.types.is_string(wanted) and pa.types.is_large_string(got)):
            problems.append(f"{name} is {got}, contract says {wanted}")
    return problems


def row_problems(table: str, df: pd.DataFrame) -> list[str]:
    """Point-in-time order, null timestamps, duplicate keys, values in range, ordered pairs."""
    return grouped_row_problems(table, df, np.zeros(len(df), dtype=np.intp), 1)[0]


def _parsed_alike(table: str, df: pd.DataFrame) -> bool:
    """Whether the columns the rules parse hold timestamps and numbers already (or only nulls): then
    parsing the whole frame is parsing each group alone (text is parsed with formats guessed from its
    first rows)."""
    stamps = [c for c in ("event_ts", "available_ts") if c in df.columns]
    numbers = [c for c in VALUE_RANGES.get(table, {}) if c in df.columns]
    numbers += [c for pair in ORDERED.get(table, []) for c in pair if c in df.columns]
    return all(pd.api.types.is_datetime64_any_dtype(df[c]) or df[c].isna().all() for c in stamps) and all(
        pd.api.types.is_numeric_dtype(df[c]) or df[c].isna().all() for c in numbers
    )


def grouped_row_problems(table: str, df: pd.DataFrame, group: np.ndarray, n: int) -> list[list[str]]:
    """``row_problems`` of each of ``n`` groups of rows (``group[i]``: row i's) in one pass over the frame,
    equal to ``row_problems`` of each group's rows alone (in frame order): every rule is row by row,
    per key within the group, or the group's first offending row."""
    if n > 1 and not _parsed_alike(table, df):
        return [row_problems(table, df[group == g].reset_index(drop=True)) for g in range(n)]
    out: list[list[str]] = [[] for _ in range(n)]
    if not len(df):
        return out

    def per_group(mask: pd.Series | np.ndarray) -> np.ndarray:
        return np.bincount(group[np.asarray(mask, dtype=bool)], minlength=n)

    def add(counts: np.ndarray, message) -> None:
        for g in np.flatnonzero(counts):
            out[g].append(message(int(counts[g]), g))

    ev = pd.to_datetime(df["event_ts"], utc=True) if "event_ts" in df else None
    av = pd.to_datetime(df["available_ts"], utc=True) if "available_ts" in df else None
    if ev is not None and av is not None:
        add(per_group(ev.isna() | av.isna()), lambda c, _: f"{c} rows without event_ts/available_ts")
        add(
            per_group(av < ev),
            lambda c, _: f"{c} rows available before their event (available_ts < event_ts)",
        )
    keys = [k for k in TABLE_KEYS.get(table, []) if k in df.columns]
    if keys and len(keys) == len(TABLE_KEYS[table]):
        if n == 1:
            dups = df.duplicated(keys, keep="first")
        else:  # the group is one more key column
            keyed = df[keys].set_axis(range(len(keys)), axis=1)
            keyed[len(keys)] = group
            dups = keyed.duplicated(keep="first")
        add(per_group(dups), lambda c, _: f"{c} duplicate rows on key ({', '.join(keys)})")
    for col, allowed in VALUE_RANGES.get(table, {}).items():
        if col not in df.columns:
            continue
        values = pd.to_numeric(df[col], errors="coerce").astype(float)
        bad = np.asarray(df[col].notna() & allowed.outside(values), dtype=bool)
        rows = np.flatnonzero(bad)
        first = dict(zip(*np.unique(group[rows], return_index=True), strict=True))
        add(
            per_group(bad),
            lambda c, g, col=col, allowed=allowed, rows=rows, first=first: (
                f"{c} {col} values outside {allowed} (e.g. {df[col].iloc[rows[first[g]]]!r})"
            ),
        )
    for low, high in ORDERED.get(table, []):
        if low in df.columns and high in df.columns:
            bad = pd.to_numeric(df[low], errors="coerce") > pd.to_numeric(df[high], errors="coerce")
            add(per_group(bad), lambda c, _, low=low, high=high: f"{c} rows with {low} > {high}")
    return out


def _file_problems(report: CheckReport, key: str, tables: list[pa.Table]) -> None:
    for arrow in tables:
        report.problems += [f"{key}: {p}" for p in schema_problems(report.table, arrow.schema)]
        report.rows += arrow.num_rows


def check_partitions(table: str, parts: dict[str, list[pa.Table]]) -> CheckReport:
    """Check the stored files of ``parts`` ({partition key: its part files as Arrow tables})."""
    report = CheckReport(table, sorted(parts))
    for key, tables in sorted(parts.items()):
        _file_problems(report, key, tables)
    frame = stacked([t for _, tables in sorted(parts.items()) for t in tables])
    if frame is not None:
        # duplicates are per table: a key written into two days is as wrong as one written twice
        report.problems += row_problems(table, frame)
    if not parts:
        report.problems.append("no partition written")
    return report


def check_each_partition(table: str, parts: dict[str, list[pa.Table]]) -> dict[str, CheckReport]:
    """``check_partitions(table, {key: files})`` of every key of ``parts`` on its own, the rows of each
    run of files sharing a schema converted and checked at once (``stored_frames``)."""
    reports = {}
    for key, tables in sorted(parts.items()):
        _file_problems(reports.setdefault(key, CheckReport(table, [key])), key, tables)
    runs, split = keyed_runs(parts)
    for run in runs:
        for key, problems in zip(
            run.keys, grouped_row_problems(table, run.frame, run.group, len(run.keys)), strict=True
        ):
            if key not in split:
                reports[key].problems += problems
    for key, tables in split.items():
        reports[key].problems += row_problems(table, stacked(tables))
    return reports
