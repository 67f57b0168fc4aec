"""Evidence on the sim world, from the same pipeline code the assets run (``run_chain`` in memory):

1. planted and null results over several seeds and effect strengths: hit rate (pooled, with a Wilson
   interval, and mean/spread over seeds) and the signal strategy's Sharpe (horizon-hold P&L);
2. placebos (delayed, swapped, flipped, rotated stories) for a planted effect and for none, on every
   seed (``--placebo-seeds`` to narrow), summarised over seeds;
3. the lexicon's accuracy on the sim's stories against the hidden truth.

The default thresholds were picked on sim 2024 H1 with seed 7; this reports another period (2025) and
other seeds. Markdown tables for the README are printed at the end.

    python benchmarks/evidence.py [--first 2025-01-06 --last 2025-02-23] [--seeds 1,2,3,4,5]
        [--strengths 0,0.3,0.6,1.0] [--placebo-draws 3] [--placebo-seeds 1,2] [--workers 2] [--fast-effect]

``--fast-effect`` runs the fast world (``FAST_EFFECT_TIMING``: the planted drift starts 30 min after a
story, builds over 2 h and fades over 10 days) instead of the default timing.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd


def _settings(tmp: Path, seed: int, strength: float, timing: dict | None = None):
    from tracer_assets.settings import TracerSettings

    return TracerSettings(
        _env_file=None,
        lake_root=str(tmp / "lake"),
        sim_truth_root=str(tmp / "truth"),
        outbox_dir=str(tmp / "outbox"),
        sim_seed=seed,
        sim_effect_strength=strength,
        # MiniLM embeddings cost minutes per run on 2 shared cores; the hashing model keeps novelty
        # (lexical near-duplicates) and the rest of the chain identical
        novelty_model="hashing",
        **(timing or {}),
    )


def _one(job: tuple[int, float, str, str, int, dict | None]) -> dict:
    """Real figures (and placebos when ``draws`` > 0) for one seed and strength (and effect timing)."""
    seed, strength, first, last, draws, timing = job
    warnings.filterwarnings("ignore")
    from tracer_assets.pipeline import SIGNAL_STAGES
    from tracer_assets.research.placebo import _measure, placebo_study, sim_base_store
    from tracer_assets.universe import load_universe

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        settings = _settings(Path(tmp), seed, strength, timing)
        universe = load_universe(settings.market.universe)
        base = sim_base_store(settings, universe, first, last)
        if draws:
            results, summary = placebo_study(base, settings, universe, first, last, draws=draws, seed=seed)
            real = results[results["kind"] == "real"].iloc[0].to_dict()
        else:
            real = _measure(base.fork(), settings, universe, first, last, SIGNAL_STAGES)
            results, summary = None, None
        wins = int(round(real["hit_rate"] * real["n_signals"])) if real["n_signals"] else 0
    return {
        "seed": seed,
        "strength": strength,
        "n_signals": int(real["n_signals"]),
        "wins": wins,
        "hit_rate": float(real["hit_rate"]),
        "sharpe": float(real["sharpe"]),
        "seconds": time.perf_counter() - t0,
        "placebo_results": results,
        "placebo_summary": summary,
    }


def lexicon_accuracy(seeds: list[int], first: str, last: str) -> pd.DataFrame:
    """The lexicon's label against the sim's hidden polarity, per seed: all, plain and hard stories."""
    from tracer_assets.providers.sim import SimWorld
    from tracer_assets.sentiment.lexicon import LexiconScorer
    from tracer_assets.universe import load_universe

    rows = []
    labels = {"positive": 1, "negative": -1, "neutral": 0}
    for seed in seeds:
        with tempfile.TemporaryDirectory() as tmp:
            settings = _settings(Path(tmp), seed, 1.0)
            universe = load_universe(settings.market.universe)
            world = SimWorld(settings, universe)
            start, end = pd.Timestamp(first, tz="UTC"), pd.Timestamp(last, tz="UTC") + pd.Timedelta(days=1)
            insts = list(universe.instruments)
            news = world.fetch_narratives(insts, start, end)
            truth = world.truth_narratives(insts, start, end)
        df = news.merge(truth, on=["narrative_id", "symbol", "event_ts"])
        df["guess"] = [labels[p.label] for p in LexiconScorer().score(df["headline"].tolist())]
        right = df["guess"] == df["true_polarity"]
        directional = df["true_polarity"] != 0
        rows.append(
            {
                "seed": seed,
                "stories": len(df),
                "accuracy": right.mean(),
                "plain": right[~df["hard_phrasing"]].mean(),
                "hard": right[df["hard_phrasing"]].mean(),
                "directional_right": right[directional].mean(),
                "directional_opposite": (df["guess"] == -df["true_polarity"])[directional].mean(),
            }
        )
    return pd.DataFrame(rows)


def multi_seed_table(runs: pd.DataFrame) -> pd.DataFrame:
    from tracer_assets.evaluation.metrics import wilson_interval

    out = []
    for strength, g in runs.groupby("strength"):
        n, wins = int(g["n_signals"].sum()), int(g["wins"].sum())
        lo, hi = wilson_interval(wins, n, 0.95)
        out.append(
            {
                "effect": f"{strength:g}",
                "seeds": len(g),
                "signals": n,
                "hit rate (pooled) [95% CI]": f"{wins / n:.1%} [{lo:.1%}, {hi:.1%}]" if n else "-",
                "hit rate mean ± sd over seeds": f"{g['hit_rate'].mean():.1%} ± {g['hit_rate'].std():.1%}",
                "Sharpe mean ± sd": f"{g['sharpe'].mean():.2f} ± {g['sharpe'].std():.2f}",
                "Sharpe min..max": f"{g['sharpe'].min():.2f}..{g['sharpe'].max():.2f}",
            }
        )
    return pd.DataFrame(out)


def placebo_table(run: dict) -> pd.DataFrame:
    s = run["placebo_summary"]
    return pd.DataFrame(
        {
            "kind": s["kind"],
            "draws": s["draws"],
            "placebo hit rate mean (p95)": [
                f"{m:.1%} ({p:.1%})" for m, p in zip(s["hit_rate_mean"], s["hit_rate_p95"], strict=True)
            ],
            "real above p95 (p)": [
                f"{'yes' if a else 'no'} ({p:.2f})"
                for a, p in zip(s["hit_rate_above_p95"], s["hit_rate_p_value"], strict=True)
            ],
            "placebo Sharpe mean (p95)": [
                f"{m:.2f} ({p:.2f})" for m, p in zip(s["sharpe_mean"], s["sharpe_p95"], strict=True)
            ],
            "real Sharpe above p95 (p)": [
                f"{'yes' if a else 'no'} ({p:.2f})"
                for a, p in zip(s["sharpe_above_p95"], s["sharpe_p_value"], strict=True)
            ],
        }
    )


def placebo_seed_table(studies: list[dict]) -> pd.DataFrame:
    """Per effect and placebo kind, over the seeds studied: on how many seeds the real hit rate and
    Sharpe are above the kind's 95th percentile, and the real and placebo means over seeds."""
    rows = []
    for d in studies:
        s = d["placebo_summary"]
        rows.append(s.assign(effect=f"{d['strength']:g}", seed=d["seed"]))
    per = pd.concat(rows, ignore_index=True)
    out = []
    for (effect, kind), g in per.groupby(["effect", "kind"], sort=False):
        n = len(g)
        out.append(
            {
                "effect": effect,
                "kind": kind,
                "hit rate above p95": f"{int(g['hit_rate_above_p95'].sum())} of {n}",
                "real hit rate mean": f"{g['real_hit_rate'].mean():.1%}",
                "placebo hit rate mean": f"{g['hit_rate_mean'].mean():.1%}",
                "Sharpe above p95": f"{int(g['sharpe_above_p95'].sum())} of {n}",
                "real Sharpe mean": f"{g['real_sharpe'].mean():.2f}",
                "placebo Sharpe mean": f"{g['sharpe_mean'].mean():.2f}",
            }
        )
    return pd.DataFrame(out).sort_values(["effect", "kind"], ascending=[False, True], kind="stable")


def pooled_placebos(studies: list[dict]) -> pd.DataFrame:
    """The placebo summary of one effect strength with the seeds pooled: per kind and draw, the hit rate
    over every seed's signals together and the mean of the seeds' Sharpes (a draw that fired no signal
    counts as a flat book), the real run pooled the same way; ranked by ``summarize_placebos``."""
    from tracer_assets.research.placebo import NO_SIGNAL, summarize_placebos

    per = pd.concat([d["placebo_results"] for d in studies], ignore_index=True)
    per["wins"] = per["hit_rate"].fillna(0.0) * per["n_signals"]
    per["sharpe"] = per["sharpe"].fillna(NO_SIGNAL["sharpe"])
    pooled = per.groupby(["kind", "draw"], sort=False).agg(
        wins=("wins", "sum"), n_signals=("n_signals", "sum"), sharpe=("sharpe", "mean")
    )
    pooled["hit_rate"] = (pooled["wins"] / pooled["n_signals"]).where(pooled["n_signals"] > 0)
    return summarize_placebos(pooled.reset_index())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first", default="2025-01-06")
    parser.add_argument("--last", default="2025-02-23")
    parser.add_argument("--seeds", default="1,2,3,4,5")
    parser.add_argument("--strengths", default="0,0.3,0.6,1.0")
    parser.add_argument(
        "--placebo-seeds", default=None, help="world seeds of the placebo runs (default: every seed)"
    )
    parser.add_argument("--placebo-draws", type=int, default=3)
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument(
        "--fast-effect",
        action="store_true",
        help="the fast world: the planted drift starts 30 min after a story and builds over 2 h (README)",
    )
    args = parser.parse_args()
    from tracer_assets.providers.sim.narratives import FAST_EFFECT_TIMING

    timing = FAST_EFFECT_TIMING if args.fast_effect else None
    seeds = [int(x) for x in args.seeds.split(",")]
    strengths = [float(x) for x in args.strengths.split(",")]
    t0 = time.perf_counter()
    placebo_seeds = [int(x) for x in args.placebo_seeds.split(",")] if args.placebo_seeds else seeds
    jobs = [
        (
            s,
            x,
            args.first,
            args.last,
            args.placebo_draws if s in placebo_seeds and x in (0.0, 1.0) else 0,
            timing,
        )
        for x in strengths
        for s in seeds
    ]
    done = []
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        for d in pool.map(_one, jobs):
            print(
                f"seed {d['seed']} effect {d['strength']:g}: {d['n_signals']} signals, hit rate {d['hit_rate']:.3f}, "
                f"Sharpe {d['sharpe']:.2f} ({d['seconds']:.0f} s)",
                flush=True,
            )
            done.append(d)
    runs = pd.DataFrame([{k: v for k, v in d.items() if not k.startswith("placebo")} for d in done])
    print(
        f"# Evidence on sim {args.first}..{args.last}, seeds {args.seeds}, effect timing "
        f"{timing or 'default'}, {time.perf_counter() - t0:.0f} s wall\n"
    )
    print(runs.sort_values(["strength", "seed"]).to_markdown(index=False, floatfmt=".3f"))
    print("\n## Planted and null results over seeds\n")
    print(multi_seed_table(runs).to_markdown(index=False))
    studies = [d for d in done if d["placebo_summary"] is not None]
    if studies:
        print("\n## Placebos over seeds (real figure above the placebo's 95th percentile, per seed)\n")
        print(placebo_seed_table(studies).to_markdown(index=False))
        for strength in sorted({d["strength"] for d in studies}, reverse=True):
            group = [d for d in studies if d["strength"] == strength]
            beat = [
                d["seed"]
                for d in group
                if (
                    d["placebo_summary"]["hit_rate_above_p95"] & d["placebo_summary"]["sharpe_above_p95"]
                ).all()
            ]
            print(
                f"\neffect {strength:g}: the real run is above every kind's p95 on both figures on "
                f"{len(beat)} of {len(group)} seeds ({', '.join(map(str, beat)) or 'none'})"
            )
        for strength in sorted({d["strength"] for d in studies}, reverse=True):
            group = [d for d in studies if d["strength"] == strength]
            pooled = pooled_placebos(group)
            both = pooled["hit_rate_above_p95"] & pooled["sharpe_above_p95"]
            print(
                f"\n## Placebos, effect {strength:g}, seeds {','.join(str(d['seed']) for d in group)} pooled: "
                f"real above every kind's p95 on both figures: {'yes' if both.all() else 'no'}\n"
            )
            print(placebo_table({"placebo_summary": pooled}).to_markdown(index=False))
    for d in studies:
        print(
            f"\n## Placebos, effect {d['strength']:g}, seed {d['seed']}: real hit rate {d['hit_rate']:.1%}, "
            f"Sharpe {d['sharpe']:.2f}, {d['n_signals']} signals\n"
        )
        print(placebo_table(d).to_markdown(index=False))
    lex = lexicon_accuracy(seeds, args.first, args.last)
    print("\n## Lexicon against the sim's hidden truth\n")
    print(lex.to_markdown(index=False, floatfmt=".3f"))
    print(
        f"\nmean: accuracy {lex['accuracy'].mean():.1%}, plain {lex['plain'].mean():.1%}, hard {lex['hard'].mean():.1%}; "
        f"directional stories read right {lex['directional_right'].mean():.1%}, "
        f"opposite {lex['directional_opposite'].mean():.1%}"
    )
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    raise SystemExit(main())
