"""The backtest stage's P&L over several sim seeds, with the planted effect and without it (a null world).

Each world runs the same pipeline code the assets run: the upstream stages and the signal stage in memory
(``run_chain``), then ``pipeline.backtest.backtest_report`` (what ``backtest_summary`` writes): Tracer's
trades with costs beside buy-and-hold, the random-timing placebo and the price-only chain. The default
thresholds were picked on sim 2024 H1 with seed 7; the default window here is another period.

    python benchmarks/backtest_worlds.py [--first 2026-10-04 --last 2026-12-02] [--seeds 7,11,13]
        [--strengths 1.0,0]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.evidence import _settings  # noqa: E402  (the same sim settings as the evidence tables)


def one_world(seed: int, strength: float, first: str, last: str) -> pd.DataFrame:
    """``backtest_summary`` rows of one world (seed, effect strength) over ``first..last``."""
    from tracer_assets.pipeline import SIGNAL_STAGES, run_chain
    from tracer_assets.pipeline.backtest import backtest_report
    from tracer_assets.research.placebo import sim_base_store
    from tracer_assets.universe import load_universe

    with tempfile.TemporaryDirectory() as tmp:
        settings = _settings(Path(tmp), seed, strength)
        universe = load_universe(settings.market.universe)
        store = sim_base_store(settings, universe, first, last)
        run_chain(store, settings, first, last, universe=universe, stages=SIGNAL_STAGES)
        start, end = pd.Timestamp(first, tz="UTC"), pd.Timestamp(last, tz="UTC") + pd.Timedelta(days=1)
        summary = backtest_report(store, settings, start, end).summary
    return summary.assign(seed=seed, strength=strength)


def world_table(summaries: pd.DataFrame) -> pd.DataFrame:
    """One row per world: Tracer beside its baselines (price-only as the range of its draws)."""
    rows = []
    for (seed, strength), g in summaries.groupby(["seed", "strength"], sort=True):
        by = g.set_index(["strategy", "draw"])
        t = by.loc[("tracer", 0)]
        po = g[g["strategy"] == "price_only"]
        rows.append(
            {
                "seed": seed,
                "effect": strength,
                "trades": int(t["n_trades"]),
                "return": f"{t['total_return']:+.2%}",
                "Sharpe": f"{t['sharpe']:.2f}",
                "hit rate": f"{t['hit_rate']:.1%}",
                "placebo pct": f"{t['placebo_sharpe_percentile']:.0f}",
                "placebo 5-95% Sharpe": f"{t['placebo_sharpe_p05']:.1f} .. {t['placebo_sharpe_p95']:.1f}",
                "placebo median return": f"{by.loc[('placebo', 0), 'total_return']:+.2%}",
                "price-only return": f"{po['total_return'].min():+.2%} .. {po['total_return'].max():+.2%}",
                "buy & hold": f"{by.loc[('buy_and_hold', 0), 'total_return']:+.2%}",
            }
        )
    return pd.DataFrame(rows)


def main() -> int:
    warnings.filterwarnings("ignore")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first", default="2026-10-04")
    parser.add_argument("--last", default="2026-12-02")
    parser.add_argument("--seeds", default="7,11,13")
    parser.add_argument("--strengths", default="1.0,0")
    args = parser.parse_args()
    frames = []
    for strength in [float(x) for x in args.strengths.split(",")]:
        for seed in [int(x) for x in args.seeds.split(",")]:
            t0 = time.perf_counter()
            frames.append(one_world(seed, strength, args.first, args.last))
            print(f"seed {seed} effect {strength:g}: {time.perf_counter() - t0:.1f}s", flush=True)
    table = world_table(pd.concat(frames, ignore_index=True))
    print(f"\nbacktest over {args.first}..{args.last} (sim; costs as TRACER_BACKTEST_*):\n")
    print(table.to_markdown(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
