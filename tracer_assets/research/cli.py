"""``tracer placebo``: placebos through the pipeline, on the lake's data or on a fresh sim world."""

from __future__ import annotations

import argparse
import sys


def _placebo(args: argparse.Namespace) -> int:
    from tracer_assets.lake import Lake
    from tracer_assets.research.placebo import placebo_study, sim_base_store, window_store
    from tracer_assets.settings import TracerSettings
    from tracer_assets.universe import load_universe

    overrides = {"lake_root": args.lake} if args.lake else {}
    if args.sim_seed is not None:
        overrides["sim_seed"] = args.sim_seed
    if args.effect is not None:
        overrides["sim_effect_strength"] = args.effect
    settings = TracerSettings(**overrides)
    universe = load_universe(settings.market.universe)
    if args.sim:
        base = sim_base_store(settings, universe, args.first, args.last)
    else:
        lake = Lake(settings.lake.lake_root)
        if not lake.partitions("narrative_pressure"):
            print(
                f"tracer placebo: lake {settings.lake.lake_root} holds no narrative_pressure (run a replay, or --sim)",
                file=sys.stderr,
            )
            return 2
        base = window_store(lake, settings, args.first, args.last)
    from tracer_assets.progress import Reporter

    with Reporter() as rep, rep.steps("placebo runs", total=None) as steps:

        def on_run(what: str, total: int) -> None:
            steps.total(total)
            steps.advance(what=f"{what} done")

        results, summary = placebo_study(
            base, settings, universe, args.first, args.last, draws=args.draws, seed=args.seed, on_run=on_run
        )
    real = results[results["kind"] == "real"].iloc[0]
    print(f"real: hit rate {real.hit_rate:.3f}, Sharpe {real.sharpe:.2f}, {int(real.n_signals)} signals")
    cols = [
        "kind",
        "draws",
        "hit_rate_mean",
        "hit_rate_p95",
        "hit_rate_p_value",
        "sharpe_mean",
        "sharpe_p95",
        "sharpe_p_value",
    ]
    print(summary[cols].to_markdown(index=False, floatfmt=".3f"))
    if args.csv:
        results.to_csv(args.csv, index=False)
    return 0


def register(subparsers) -> None:
    """Add ``placebo`` to the ``tracer`` command's subparsers."""
    p = subparsers.add_parser(
        "placebo", help="placebos through the pipeline: real vs broken-news null distributions"
    )
    p.add_argument("--first", required=True, help="first day YYYY-MM-DD")
    p.add_argument("--last", required=True, help="last day YYYY-MM-DD")
    p.add_argument(
        "--draws", type=int, default=None, help="draws per random kind (default TRACER_PLACEBO_DRAWS)"
    )
    p.add_argument("--seed", type=int, default=None, help="placebo seed (default TRACER_PLACEBO_SEED)")
    p.add_argument("--sim", action="store_true", help="compute the window on a fresh in-memory sim world")
    p.add_argument("--sim-seed", type=int, default=None, help="with --sim: the world's seed")
    p.add_argument("--effect", type=float, default=None, help="with --sim: the planted effect strength")
    p.add_argument("--lake", help="lake root (default: TRACER_LAKE_ROOT)")
    p.add_argument("--csv", help="also write every draw to this CSV file")
    p.set_defaults(func=_placebo)
