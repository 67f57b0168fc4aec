"""Signals computed per second over a one-year universe replay (synthetic, built here).

12 symbols (6 crypto pairs every hour, 6 stocks in exchange sessions) x 1 year of hourly features and
narrative pressure. Measured in the same run:

- the full vectorised pipeline (divergence, confirmation, cooldown, sizing, calibration, evidence);
- the divergence stage vectorised vs a peer: the same rule as a naive row-by-row loop, on the same
  rows, whose candidates must agree with the vectorised ones.

    python benchmarks/signals.py [--days 365] [--repeat 3]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import pandas as pd


def naive_divergence(features: pd.DataFrame, pressure: pd.DataFrame, settings) -> set[tuple[str, str, str]]:
    """The divergence rule one row at a time: the peer the vectorised stage is measured against."""
    s = settings
    readings: dict[str, list[tuple[pd.Timestamp, float]]] = {}
    for _, r in pressure.sort_values("decision_ts").iterrows():
        readings.setdefault(r["symbol"], []).append((r["decision_ts"], r["pressure"]))
    out = set()
    for symbol, rows in features.sort_values(["symbol", "available_ts"]).groupby("symbol"):
        closes, times, vols = list(rows["close"]), list(rows["available_ts"]), list(rows["realized_vol"])
        series, j, current = readings.get(symbol, []), 0, 0.0
        for i in range(len(rows)):
            while j < len(series) and series[j][0] <= times[i]:
                current = series[j][1]
                j += 1
            if i < s.signals.signal_window_hours or not vols[i] or vols[i] != vols[i] or vols[i] <= 0:
                continue
            z = math.log(closes[i] / closes[i - s.signals.signal_window_hours]) / (
                vols[i] * math.sqrt(s.signals.signal_window_hours)
            )
            if (
                current >= s.signals.signal_min_pressure
                and current > 0
                and z <= s.signals.signal_max_aligned_move_z
            ):
                out.add((symbol, times[i].isoformat(), "long"))
            elif (
                current <= -s.signals.signal_min_pressure
                and current < 0
                and z >= -s.signals.signal_max_aligned_move_z
            ):
                out.add((symbol, times[i].isoformat(), "short"))
    return out


def best_of(repeat: int, fn):
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tracer_assets.settings import TracerSettings
    from tracer_assets.signals import compute_signals
    from tracer_assets.signals.divergence import decision_frame, divergence_candidates
    from tracer_assets_tests.synthetic_signals import synthetic_universe

    settings = TracerSettings(_env_file=None)
    start = pd.Timestamp("2024-01-01", tz="UTC")
    t0 = time.perf_counter()
    features, pressure = synthetic_universe(6, 6, start, start + pd.Timedelta(days=args.days), seed=5)
    n = len(features)
    print(
        f"universe: 12 symbols x {args.days} days = {n} decision hours (built in {time.perf_counter() - t0:.1f}s)"
    )

    full_s, res = best_of(
        args.repeat, lambda: compute_signals(features, pressure, None, None, settings.signals)
    )
    held = sum(res.held_back_counts.values())
    print(
        f"full pipeline:        {full_s:7.3f}s  {n / full_s:10,.0f} decisions/s  "
        f"{len(res.signals) / full_s:8,.0f} signals/s  ({len(res.signals)} signals, {held} held back)"
    )

    def vectorised():
        return divergence_candidates(decision_frame(features, pressure, settings.signals), settings.signals)

    vec_s, cands = best_of(args.repeat, vectorised)
    naive_s, naive = best_of(1, lambda: naive_divergence(features, pressure, settings))
    vec_set = {
        (sym, ts.isoformat(), d)
        for sym, ts, d, ok in zip(
            cands["symbol"], cands["decision_ts"], cands["direction"], cands["measurable"], strict=True
        )
        if ok
    }
    print(f"divergence vectorised: {vec_s:7.3f}s  {n / vec_s:10,.0f} decisions/s")
    print(f"divergence row loop:   {naive_s:7.3f}s  {n / naive_s:10,.0f} decisions/s  (peer, same rows)")
    print(
        f"speed-up: {naive_s / vec_s:.1f}x   candidates agree: {vec_set == naive} ({len(vec_set)} candidates)"
    )
    return 0 if vec_set == naive else 1


if __name__ == "__main__":
    raise SystemExit(main())
