"""Walk-forward on a year of the sim world, through the code the fold assets run (``run_months`` over
an in-memory store holding the upstream stages' output):

1. timing: a year of monthly out-of-sample folds (2025) with the declared grid (180 configurations by
   default), wall time of the upstream stages and of the walk-forward itself;
2. evidence: the same walk-forward with the planted effect and with none (TRACER_SIM_EFFECT_STRENGTH=0)
   over several seeds: out-of-sample Sharpe with its block-bootstrap interval, deflated_sharpe_prob, PBO.

    python benchmarks/walkforward.py [--seeds 1,2,3] [--strengths 1,0] [--months 2025-01..2025-12]
        [--workers 2] [--json results.json] [--save DIR | --from-saved DIR] [--adopt-min-dsr 0,0.8,0.95]

The first (seed, strength) pair's times are the timing figures. Markdown tables are printed at the end.
``--adopt-min-dsr`` lists stand-aside hurdles to compare (default: the setting,
TRACER_WALKFORWARD_ADOPT_MIN_DSR): the in-sample selection and the trials are computed once per world,
only the stitched book per hurdle.
``--save DIR`` keeps each world's grid signals and bars (a pickle per world, tens of MB); ``--from-saved
DIR`` re-runs only ``evaluate_grid`` (selection, stitched book, DSR, PBO) on them, so a change to the
statistics is measured on the same worlds in seconds instead of minutes.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd


def one(
    seed: int,
    strength: float,
    months: list[str],
    workers: int,
    save_dir: str | None = None,
    hurdles: list[float] | None = None,
) -> list[dict]:
    """Upstream stages for the folds' span, then the walk-forward; figures and wall times."""
    from tracer_assets.pipeline import UPSTREAM_STAGES, MemoryStore, run_chain
    from tracer_assets.research.grid import expand_grid
    from tracer_assets.research.walkforward import (
        folds_for_months,
        grid_signals,
        research_store,
        span_of,
    )
    from tracer_assets.settings import TracerSettings, WalkForwardSettings
    from tracer_assets.universe import load_universe

    with tempfile.TemporaryDirectory() as tmp:
        settings = TracerSettings(
            _env_file=None,
            lake_root=str(Path(tmp) / "lake"),
            sim_truth_root=str(Path(tmp) / "truth"),
            outbox_dir=str(Path(tmp) / "outbox"),
            sim_seed=seed,
            sim_effect_strength=strength,
            # MiniLM embeddings cost minutes per year on 2 shared cores; the hashing model keeps novelty
            novelty_model="hashing",
            walkforward=WalkForwardSettings(walkforward_workers=workers),
        )
        universe = load_universe(settings.market.universe)
        wf = settings.walkforward
        # the first fold's in-sample window (rolling) and the warm-up, plus the stages' own lookbacks
        first = pd.Timestamp(f"{months[0]}-01") - pd.DateOffset(months=wf.walkforward_is_months)
        first -= pd.Timedelta(days=wf.walkforward_warmup_days + settings.market.feature_lookback_days + 7)
        last = pd.Timestamp(f"{months[-1]}-01") + pd.DateOffset(months=1) + pd.Timedelta(days=3)
        t0 = time.perf_counter()
        base = MemoryStore()
        run_chain(
            base, settings, f"{first:%Y-%m-%d}", f"{last:%Y-%m-%d}", universe=universe, stages=UPSTREAM_STAGES
        )
        t1 = time.perf_counter()
        # run_months step by step (the same calls), so the grid's signals can be kept for re-evaluation
        folds = folds_for_months(base, settings, months)
        span = span_of(folds, settings)
        store = research_store(base, settings, *span)
        points = expand_grid(wf.walkforward_grid)
        signal_sets = grid_signals(store, settings, universe.symbols, points, *span)
        bars = store.read("bars")
        results = evaluate(signal_sets, bars, settings, folds, points, run_id(seed, strength), hurdles)
        t2 = time.perf_counter()
    if save_dir:
        with open(Path(save_dir) / f"{run_id(seed, strength)}.pkl", "wb") as fh:
            pickle.dump({"signal_sets": signal_sets, "bars": bars, "folds": folds, "points": points}, fh)
    return [
        figures(seed, strength, months, span, h, r, round(t1 - t0, 1), round(t2 - t1, 1))
        for h, r in results.items()
    ]


def evaluate(signal_sets, bars, settings, folds, points, name: str, hurdles: list[float] | None) -> dict:
    """``evaluate_grid`` (its three steps) for each stand-aside hurdle: {hurdle: result}."""
    from tracer_assets.research.grid import with_params
    from tracer_assets.research.walkforward import grid_trials, select_in_sample, stitch

    choices = [select_in_sample(signal_sets, bars, settings, fold) for fold in folds]
    trials = grid_trials(signal_sets, bars, settings, folds)
    out = {}
    for h in hurdles or [settings.walkforward.walkforward_adopt_min_dsr]:
        s = with_params(settings, {"walkforward_adopt_min_dsr": h})
        out[h] = stitch(signal_sets, bars, s, folds, points, choices, trials, run_id=name)
    return out


def run_id(seed: int, strength: float) -> str:
    return f"seed{seed}_effect{strength:g}"


def from_saved(
    save_dir: str, seed: int, strength: float, months: list[str], hurdles: list[float] | None = None
) -> list[dict]:
    """Re-evaluate a saved world's grid signals with the current selection and statistics code."""
    from tracer_assets.research.walkforward import span_of
    from tracer_assets.settings import TracerSettings

    with open(Path(save_dir) / f"{run_id(seed, strength)}.pkl", "rb") as fh:
        saved = pickle.load(fh)
    settings = TracerSettings(_env_file=None, sim_seed=seed, sim_effect_strength=strength)
    t0 = time.perf_counter()
    args = (saved["signal_sets"], saved["bars"], settings, saved["folds"], saved["points"])
    results = evaluate(*args, run_id(seed, strength), hurdles)
    span = span_of(saved["folds"], settings)
    seconds = round(time.perf_counter() - t0, 1)
    return [figures(seed, strength, months, span, h, r, float("nan"), seconds) for h, r in results.items()]


def figures(seed, strength, months, span, hurdle, result, upstream_s: float, walkforward_s: float) -> dict:
    """One benchmark row from a walk-forward result."""
    from tracer_assets.research.governance import is_stand_aside

    s = result.summary
    aside = [is_stand_aside(json.loads(p)) for p in result.folds["params"]]
    return {
        "seed": seed,
        "strength": strength,
        "adopt_min_dsr": hurdle,
        "folds_stood_aside": f"{sum(aside)}/{len(aside)}",
        "months": f"{months[0]}..{months[-1]}",
        "span": f"{span[0]:%Y-%m-%d}..{span[1]:%Y-%m-%d}",
        "upstream_s": upstream_s,
        "walkforward_s": walkforward_s,
        "n_configs_tried": int(s["n_configs_tried"]),
        "n_oos_trades": int(s["n_oos_trades"]),
        "oos_sharpe": round(float(s["oos_sharpe"]), 3),
        "oos_sharpe_lo": round(float(s["oos_sharpe_lo"]), 3),
        "oos_sharpe_hi": round(float(s["oos_sharpe_hi"]), 3),
        "deflated_sharpe_prob": round(float(s["deflated_sharpe_prob"]), 4),
        "deflated_sharpe_prob_raw": round(float(s["deflated_sharpe_prob_raw"]), 4),
        "n_effective_trials": int(s["n_effective_trials"]),
        "pbo": round(float(s["pbo"]), 3),
        "oos_hit_rate": round(float(s["oos_hit_rate"]), 4),
        "mean_is_minus_oos": round(
            float((result.folds["is_objective"] - result.folds["oos_objective"]).mean()), 3
        ),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", default="1,2,3")
    p.add_argument("--strengths", default="1,0")
    p.add_argument("--months", default="2025-01..2025-12", help="first..last out-of-sample month")
    p.add_argument("--workers", type=int, default=2, help="processes for the grid points")
    p.add_argument("--json", help="append each result as a JSON line to this file")
    p.add_argument(
        "--adopt-min-dsr",
        help="comma-separated stand-aside hurdles to compare (default: the walkforward_adopt_min_dsr setting)",
    )
    p.add_argument("--save", help="folder to keep each world's grid signals in (for --from-saved)")
    p.add_argument(
        "--from-saved",
        help="re-evaluate the worlds kept in this folder (no upstream stages, no grid signals)",
    )
    args = p.parse_args(argv)
    if args.save:
        Path(args.save).mkdir(parents=True, exist_ok=True)
    warnings.filterwarnings("ignore")
    lo, hi = args.months.split("..")
    months = [str(m) for m in pd.period_range(lo, hi, freq="M")]
    hurdles = [float(x) for x in args.adopt_min_dsr.split(",")] if args.adopt_min_dsr else None
    rows = []
    for strength in [float(x) for x in args.strengths.split(",")]:
        for seed in [int(x) for x in args.seeds.split(",")]:
            if args.from_saved:
                world = from_saved(args.from_saved, seed, strength, months, hurdles)
            else:
                world = one(seed, strength, months, args.workers, args.save, hurdles)
            for row in world:
                rows.append(row)
                print(json.dumps(row), flush=True)
                if args.json:
                    with open(args.json, "a") as fh:
                        fh.write(json.dumps(row) + "\n")
    df = pd.DataFrame(rows)
    print("\nTiming (first run):")
    first = rows[0]
    print(
        f"{first['n_configs_tried']} configurations x {len(months)} monthly folds ({first['span']}): "
        f"walk-forward {first['walkforward_s']} s, upstream stages {first['upstream_s']} s"
    )
    print("\nEvidence:")
    df["oos_sharpe_95ci"] = df.apply(
        lambda r: f"{r.oos_sharpe:.2f} [{r.oos_sharpe_lo:.2f}, {r.oos_sharpe_hi:.2f}]", axis=1
    )
    cols = [
        "strength",
        "seed",
        "adopt_min_dsr",
        "oos_sharpe_95ci",
        "deflated_sharpe_prob",
        "n_effective_trials",
        "deflated_sharpe_prob_raw",
        "pbo",
        "oos_hit_rate",
        "n_oos_trades",
        "folds_stood_aside",
    ]
    print(df[cols].to_markdown(index=False, floatfmt=".3f"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
