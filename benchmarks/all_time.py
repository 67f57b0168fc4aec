"""Cost of the weekly all-time metrics and Brier pages against the weeks of history (issue 14: linear).

A synthetic history shaped like the demo's observations (per week about 90 market questions scored by
both predictors at the 24 h and 168 h leads, and 6 signals; the 365-day demo lake holds 10,102
observations) is stored in a ``MemoryStore``, and ``pipeline.evaluation.eval_metrics_all_time`` (what
the asset runs) is timed, in CPU seconds (the machine is shared):

- one week alone at the end of 52 and of 260 weeks of history;
- a range: every week of the history in one call, per week;
- a week of the Brier-over-time pages after 52 and 260 weeks (``page_seconds``).

``--peer REF`` runs the same measurements with the code of git ref ``REF`` (``git archive``) in a
subprocess: the previous version beside this one. ``--peer-range`` also times the peer's ranges (the
old path re-bootstraps all history every week: a 260-week range takes a quarter of an hour there).

    python benchmarks/all_time.py [--weeks 52 260] [--peer main] [--peer-range]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
FIRST = pd.Timestamp("2022-01-03", tz="UTC")  # a Monday


def demo_like_history(weeks: int, seed: int = 1) -> pd.DataFrame:
    """``weeks`` of observations with the demo's mix (module docstring); outcomes drawn from the truth."""
    rng = np.random.default_rng(seed)
    days, n_q, n_s = weeks * 7, 13 * weeks * 7, 6 * weeks
    lead = np.where(rng.uniform(size=n_q) < 0.88, 24, 168)
    resolved = FIRST + pd.to_timedelta(rng.integers(0, days - 1, n_q) + 1, unit="D")
    truth = rng.uniform(0.02, 0.98, n_q)
    question = {
        "kind": "market",
        "question_id": [f"q{i}" for i in range(n_q)],
        "symbol": rng.choice(["BTC/USD", "ETH/USD", "SOL/USD"], n_q),
        "asset_class": "crypto",
        "direction": "yes",
        "strength": np.nan,
        "lead_hours": lead,
        "resolved_ts": resolved,
        "decision_ts": resolved - pd.to_timedelta(lead + 1, unit="h"),
        "outcome": (rng.uniform(size=n_q) < truth).astype("int64"),
        "cohort": [f"crypto:lead{h}h" for h in lead],
    }
    frames = [
        pd.DataFrame(
            {
                **question,
                "predictor": predictor,
                "source_model": model,
                "observation_id": [f"{predictor}-q{i}-{h}" for i, h in enumerate(lead)],
                "predicted_prob": np.clip(truth + rng.normal(0, noise, n_q), 0.001, 0.999),
            }
        )
        for predictor, model, noise in (("market", "market", 0.05), ("internal", "lognormal_rv", 0.2))
    ]
    s_resolved = FIRST + pd.to_timedelta(rng.integers(24, days * 24 - 24, n_s), unit="h")
    asset_class = np.where(rng.uniform(size=n_s) < 0.8, "crypto", "stock")
    direction = rng.choice(["long", "short"], n_s)
    frames.append(
        pd.DataFrame(
            {
                "kind": "signal",
                "question_id": [f"s{i}" for i in range(n_s)],
                "observation_id": [f"s{i}" for i in range(n_s)],
                "symbol": "ETH/USD",
                "asset_class": asset_class,
                "direction": direction,
                "strength": rng.uniform(0, 0.8, n_s),
                "lead_hours": 24,
                "resolved_ts": s_resolved,
                "decision_ts": s_resolved - pd.Timedelta(hours=24),
                "predictor": "internal",
                "source_model": "lexicon",
                "cohort": [f"{a}:{d}" for a, d in zip(asset_class, direction, strict=True)],
                "predicted_prob": rng.uniform(0.5, 0.7, n_s),
                "outcome": rng.integers(0, 2, n_s),
            }
        )
    )
    obs = pd.concat(frames, ignore_index=True)
    # markets become known at the next snapshot (23:00 the day after), signals at their horizon
    obs["available_ts"] = obs["resolved_ts"] + pd.to_timedelta(
        np.where(obs["kind"] == "market", 23, 0), unit="h"
    )
    obs["event_ts"] = obs["resolved_ts"]
    return obs


def measure(weeks_list: list[int], ranges: bool) -> dict:
    """CPU seconds of one all-time week alone (and of whole ranges) per history length."""
    from tracer_assets.pipeline import evaluation
    from tracer_assets.pipeline.store import MemoryStore
    from tracer_assets.settings import TracerSettings

    settings = TracerSettings()
    out = {}
    for weeks in weeks_list:
        obs = demo_like_history(weeks)
        store = MemoryStore()
        days = pd.date_range(FIRST, FIRST + pd.Timedelta(days=weeks * 7), freq="D").strftime("%Y-%m-%d")
        store.write_partitions("eval_observations", obs, days, by="available_ts")
        keys = [(FIRST + pd.Timedelta(days=7 * k)).strftime("%Y-%m-%d") for k in range(weeks)]
        start = time.process_time()
        evaluation.eval_metrics_all_time(store, settings, keys[-1:])
        row = {"observations": len(obs), "week_alone_s": time.process_time() - start}
        if ranges:
            start = time.process_time()
            evaluation.eval_metrics_all_time(store, settings, keys)
            row["range_s"] = time.process_time() - start
        out[str(weeks)] = row
    return out


def _pages_week(brier_plots, carried, week: str, frame: pd.DataFrame, folder: Path) -> None:
    """One week's Brier pages: ``carried`` is a ``BrierHistory`` (this version) or a list of the
    weeks' rows (the version before, which concatenated them all every week)."""
    if isinstance(carried, list):
        carried.append(frame)
        brier_plots(pd.concat(carried, ignore_index=True), folder, week, "directory")
    else:
        carried.add(frame)
        brier_plots(carried, folder, week, "directory")


def page_seconds(weeks_list: list[int], timed: int = 8) -> dict:
    """CPU seconds a week of the Brier-over-time pages (the eval_metrics asset's plots) costs after
    ``weeks`` of history, the mean of ``timed`` consecutive weeks after one untimed week (which writes
    the shared plotly bundle), each version in its own way: this one carries the plotted columns
    (``BrierHistory``), the one before concatenated every week's rows for every week."""
    from tracer_assets.evaluation.artifacts import brier_plots
    from tracer_assets.evaluation.metrics import weekly_metrics
    from tracer_assets.settings import TracerSettings

    try:
        from tracer_assets.evaluation.brier_history import BrierHistory
    except ImportError:  # the version before
        BrierHistory = None
    settings = TracerSettings(eval_bootstrap_resamples=50).evaluation
    week_rows = weekly_metrics(demo_like_history(1), FIRST.strftime("%Y-%m-%d"), settings)
    rng = np.random.default_rng(0)
    out = {}
    for weeks in weeks_list:
        labels = [(FIRST + pd.Timedelta(days=7 * k)).strftime("%Y-%m-%d") for k in range(weeks)]
        rows = [week_rows.assign(week=w, brier=week_rows["brier"] * rng.uniform(0.9, 1.1)) for w in labels]
        first = weeks - timed - 1
        if BrierHistory is not None:
            carried = BrierHistory()
            carried.add(pd.concat(rows[:first], ignore_index=True))
        else:
            carried = rows[:first]

        with tempfile.TemporaryDirectory() as tmp:
            _pages_week(brier_plots, carried, labels[first], rows[first], Path(tmp))
            start = time.process_time()
            for week, frame in zip(labels[first + 1 :], rows[first + 1 :], strict=True):
                _pages_week(brier_plots, carried, week, frame, Path(tmp))
            out[str(weeks)] = (time.process_time() - start) / timed
    return out


def print_table(label: str, figures: dict) -> None:
    for weeks, row in figures.items():
        line = f"{label:<14} {weeks:>4} weeks ({row['observations']:>6} observations): one week alone {row['week_alone_s']:6.2f} s"
        if "range_s" in row:
            line += f", whole range {row['range_s']:7.1f} s = {row['range_s'] / int(weeks):.3f} s a week"
        print(line, flush=True)


def print_pages(label: str, figures: dict) -> None:
    pages = ", ".join(f"{weeks} weeks of history {seconds:.3f} s" for weeks, seconds in figures.items())
    print(f"{label:<14} Brier-over-time pages, a week: {pages}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--weeks", type=int, nargs="+", default=[52, 260])
    parser.add_argument("--peer", default=None, help="the same measurements at this git ref")
    parser.add_argument("--peer-range", action="store_true", help="time the peer's ranges too (slow)")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # the peer's subprocess
    parser.add_argument("--no-range", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.json:  # PYTHONPATH names the peer's code
        print(
            json.dumps(
                {"all_time": measure(args.weeks, ranges=not args.no_range), "pages": page_seconds(args.weeks)}
            )
        )
        return
    sys.path.insert(0, str(ROOT))  # this worktree's code, not an installed copy
    from benchmarks.replay import export_ref

    print(f"CPU seconds of eval_metrics_all_time, {os.cpu_count()} CPUs (shared: CPU time, not wall)")
    print_table("this version", measure(args.weeks, ranges=True))
    print_pages("this version", page_seconds(args.weeks))
    if args.peer:
        with tempfile.TemporaryDirectory() as tmp:
            code = export_ref(args.peer, Path(tmp) / "peer")
            command = [
                sys.executable,
                str(Path(__file__).resolve()),
                "--json",
                "--weeks",
                *map(str, args.weeks),
            ]
            command += [] if args.peer_range else ["--no-range"]
            env = {**os.environ, "PYTHONPATH": str(code)}
            done = subprocess.run(command, env=env, cwd=code, capture_output=True, text=True, check=True)
        peer = json.loads(done.stdout.strip().splitlines()[-1])
        print_table(args.peer, peer["all_time"])
        print_pages(args.peer, peer["pages"])


if __name__ == "__main__":
    main()
