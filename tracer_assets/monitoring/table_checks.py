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


def _count(mask: pd.Series | np.ndarray) -> int:
    return int(np.asarray(mask, dtype=bool).sum())


def row_problems(table: str, df: pd.DataFrame) -> list[str]:
    """Point-in-time order, null timestamps, duplicate keys, values in range, ordered pairs."""
    if not len(df):
        return []
    problems = []
    ev = pd.to_datetime(df["event_ts"], utc=True) if "event_ts" in df else None
    av = pd.to_datetime(df["available_ts"], utc=True) if "available_ts" in df else None
    if ev is not None and av is not None:
        nulls = _count(ev.isna() | av.isna())
        if nulls:
            problems.append(f"{nulls} rows without event_ts/available_ts")
        early = _count(av < ev)
        if early:
            problems.append(f"{early} rows available before their event (available_ts < event_ts)")
    keys = [k for k in TABLE_KEYS.get(table, []) if k in df.columns]
    if keys and len(keys) == len(TABLE_KEYS[table]):
        dups = _count(df.duplicated(keys, keep="first"))
        if dups:
            problems.append(f"{dups} duplicate rows on key ({', '.join(keys)})")
    for col, allowed in VALUE_RANGES.get(table, {}).items():
        if col not in df.columns:
            continue
        values = pd.to_numeric(df[col], errors="coerce").astype(float)
        bad = df[col].notna() & allowed.outside(values)
        if _count(bad):
            example = df.loc[bad, col].iloc[0]
            problems.append(f"{_count(bad)} {col} values outside {allowed} (e.g. {example!r})")
    for low, high in ORDERED.get(table, []):
        if low in df.columns and high in df.columns:
            bad = _count(pd.to_numeric(df[low], errors="coerce") > pd.to_numeric(df[high], errors="coerce"))
            if bad:
                problems.append(f"{bad} rows with {low} > {high}")
    return problems


def check_partitions(table: str, parts: dict[str, list[pa.Table]]) -> CheckReport:
    """Check the stored files of ``parts`` ({partition key: its part files as Arrow tables})."""
    report = CheckReport(table, sorted(parts))
    frames = []
    for key, tables in sorted(parts.items()):
        for arrow in tables:
            report.problems += [f"{key}: {p}" for p in schema_problems(table, arrow.schema)]
            report.rows += arrow.num_rows
            if arrow.num_rows:
                frames.append(arrow.to_pandas())
    if frames:
        # duplicates are per table: a key written into two days is as wrong as one written twice
        report.problems += row_problems(table, pd.concat(frames, ignore_index=True))
    if not parts:
        report.problems.append("no partition written")
    return report
