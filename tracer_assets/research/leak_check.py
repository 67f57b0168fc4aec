"""A leak check that could catch a leak: rebuild everything derived from the raw inputs known at a
decision time, and compare with what the lake holds.

For each sampled decision time ``t`` (on day ``D``): the raw-level inputs (``bars`` and ``narratives``)
are copied into a ``MemoryStore`` truncated at ``available_ts <= t``; the chain's derived stages
(price_features, narrative_scores with novelty, narrative_pressure, signals with calibration,
eval_observations) are re-run from ``D - leak_check_history_days`` to ``D`` on that store; and every row
of day ``D`` known by ``t`` is compared with the lake's: features by (symbol, ts), scores by narrative,
pressure by (symbol, decision_ts), signals by id (direction, strength, calibrated probability, size,
calibration method), and signals present in one but not the other. A value that used anything after
``t`` (a centred window, a day-level statistic, a later story) differs, and the mismatch rows say where.

Earlier derived state (signals for the cooldown, outcomes for calibration) before the rebuilt window is
copied from the lake; set ``TRACER_LEAK_CHECK_HISTORY_DAYS`` to cover the whole replay to rebuild it too.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from tracer_assets.clock import utc
from tracer_assets.pipeline import MemoryStore, Store, run_chain
from tracer_assets.pipeline.governed import GOVERNED_TABLE
from tracer_assets.sentiment.pressure import pressure_lookback
from tracer_assets.settings import TracerSettings
from tracer_assets.universe import Universe

DAY = pd.Timedelta(days=1)
RAW_TABLES = ("bars", "narratives")
STATE_TABLES = ("signals", "eval_observations")
REBUILD_STAGES = ("price_features", "narrative_scores", "narrative_pressure", "signals", "eval_observations")
MISMATCH_COLUMNS = ["sample_ts", "table", "key", "column", "lake", "rebuilt"]
# table -> (time column that must be <= t, key columns, compared columns)
COMPARED: dict[str, tuple[str, list[str], list[str]]] = {
    "price_features": (
        "available_ts",
        ["symbol", "ts"],
        ["close", "ret_1h", "realized_vol", "volume_z", "ret_24h", "trend_1d"],
    ),
    "narrative_scores": (
        "available_ts",
        ["narrative_id"],
        ["polarity", "confidence", "novelty", "combined_polarity", "combined_confidence"],
    ),
    "narrative_pressure": ("decision_ts", ["symbol", "decision_ts"], ["pressure", "n_narratives"]),
    "signals": (
        "decision_ts",
        ["signal_id"],
        ["direction", "strength", "internal_prob", "size", "calibration_method"],
    ),
}
_REL_TOL = 1e-9


def sample_decision_times(lake: Store, n: int, seed: int, last_days: int) -> list[pd.Timestamp]:
    """``n`` decision times from the lake's latest ``last_days`` signal partitions (signal times first,
    topped up with feature bar closes), seeded."""
    parts = lake.partitions("signals") or lake.partitions("price_features")
    if not parts:
        return []
    first = parts[max(0, len(parts) - last_days)]
    rng = np.random.default_rng(seed)
    sig = lake.read("signals", first, parts[-1])
    times = sorted(pd.to_datetime(sig["decision_ts"], utc=True).unique()) if len(sig) else []
    picked = list(rng.choice(times, size=min(n, len(times)), replace=False)) if times else []
    if len(picked) < n:
        feats = lake.read("price_features", first, parts[-1], columns=["available_ts"])
        pool = sorted(set(pd.to_datetime(feats["available_ts"], utc=True)) - set(picked))
        if pool:
            picked += list(rng.choice(pool, size=min(n - len(picked), len(pool)), replace=False))
    return sorted(utc(t) for t in picked)


def _truncated_store(lake: Store, t: pd.Timestamp, first: pd.Timestamp, lookback_days: int) -> MemoryStore:
    mem = MemoryStore()
    lo = (first - DAY * lookback_days).strftime("%Y-%m-%d")
    hi = t.strftime("%Y-%m-%d")
    for table in (*RAW_TABLES, GOVERNED_TABLE):  # governed thresholds are inputs known from their time
        days = lake.partitions(table)
        for day in [d for d in days if (lo <= d or table == GOVERNED_TABLE) and d <= hi]:
            rows = lake.read(table, day, day)
            if len(rows):
                rows = rows[pd.to_datetime(rows["available_ts"], utc=True) <= t]
            mem.write_partition(table, day, rows.reset_index(drop=True))
    before = (first - DAY).strftime("%Y-%m-%d")
    for table in STATE_TABLES:
        for day in [d for d in lake.partitions(table) if d <= before]:
            mem.write_partition(table, day, lake.read(table, day, day))
    return mem


def _day_rows(df: pd.DataFrame, table: str, t: pd.Timestamp) -> pd.DataFrame:
    time_col, keys, cols = COMPARED[table]
    if df.empty:
        return pd.DataFrame(columns=[*keys, *cols])
    ts = pd.to_datetime(df[time_col], utc=True)
    day_col = "event_ts" if table == "narrative_scores" else ("ts" if table == "price_features" else time_col)
    day = pd.to_datetime(df[day_col], utc=True).dt.floor("D")
    keep = (ts <= t) & (day == t.floor("D"))
    return df[keep][[*keys, *[c for c in cols if c in df.columns]]].reset_index(drop=True)


def _key(row: pd.Series, keys: list[str]) -> str:
    return "|".join(str(row[k]) for k in keys)


def _same(a, b) -> bool:
    if isinstance(a, float | np.floating) or isinstance(b, float | np.floating):
        a, b = float(a), float(b)
        if np.isnan(a) and np.isnan(b):
            return True
        return abs(a - b) <= _REL_TOL * max(1.0, abs(a), abs(b))
    return (pd.isna(a) and pd.isna(b)) or a == b


def compare_tables(
    lake_rows: pd.DataFrame, rebuilt_rows: pd.DataFrame, table: str, t: pd.Timestamp
) -> list[dict]:
    """Mismatch records between the lake's and the rebuilt rows of one table (presence and values)."""
    _, keys, cols = COMPARED[table]
    left = {_key(r, keys): r for _, r in lake_rows.iterrows()}
    right = {_key(r, keys): r for _, r in rebuilt_rows.iterrows()}
    out = []
    for key in sorted(set(left) | set(right)):
        if key not in right or key not in left:
            out.append(
                {
                    "sample_ts": t,
                    "table": table,
                    "key": key,
                    "column": "(row)",
                    "lake": "present" if key in left else "absent",
                    "rebuilt": "present" if key in right else "absent",
                }
            )
            continue
        for col in cols:
            if (
                col in left[key].index
                and col in right[key].index
                and not _same(left[key][col], right[key][col])
            ):
                out.append(
                    {
                        "sample_ts": t,
                        "table": table,
                        "key": key,
                        "column": col,
                        "lake": str(left[key][col]),
                        "rebuilt": str(right[key][col]),
                    }
                )
    return out


def _rebuild_days(settings: TracerSettings) -> int:
    """Days of derived tables a decision day reads back (features for the signal windows, scores for the
    pressure lookback): at least these are rebuilt before a sampled day, never copied."""
    pressure_days = math.ceil(pressure_lookback(settings.sentiment) / DAY)
    return max(settings.signals.signal_lookback_days, pressure_days) + 1


def leak_check(
    lake: Store, settings: TracerSettings, universe: Universe, times: list[pd.Timestamp]
) -> pd.DataFrame:
    """Mismatch rows (``MISMATCH_COLUMNS``) over the sampled decision ``times``; empty when none leak."""
    ev = settings.evidence
    first_part = min((lake.partitions(t)[0] for t in RAW_TABLES if lake.partitions(t)), default=None)
    mismatches: list[dict] = []
    for t in times:
        t = pd.Timestamp(t).tz_convert("UTC")
        day = t.floor("D")
        first = day - DAY * max(ev.leak_check_history_days, _rebuild_days(settings))
        first = max(first, pd.Timestamp(first_part, tz="UTC")) if first_part else day
        lookback = (
            max(
                settings.market.feature_lookback_days,
                settings.signals.signal_lookback_days,
                settings.sentiment.novelty_days,
            )
            + 2
        )
        mem = _truncated_store(lake, t, first, lookback)
        run_chain(
            mem,
            settings,
            first.strftime("%Y-%m-%d"),
            day.strftime("%Y-%m-%d"),
            universe=universe,
            stages=REBUILD_STAGES,
        )
        for table in COMPARED:
            lake_rows = _day_rows(
                lake.read(table, day.strftime("%Y-%m-%d"), day.strftime("%Y-%m-%d")), table, t
            )
            rebuilt = _day_rows(mem.read(table, day.strftime("%Y-%m-%d"), day.strftime("%Y-%m-%d")), table, t)
            mismatches += compare_tables(lake_rows, rebuilt, table, t)
    return pd.DataFrame(mismatches, columns=MISMATCH_COLUMNS)
