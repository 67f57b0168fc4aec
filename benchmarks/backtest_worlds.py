"""The backtest stage's P&L over several sim seeds, with the planted effect and without it (a null world).

Each world runs the same pipeline code the assets run: the upstream stages and the signal stage in memory
(``run_chain``), then ``pipeline.backtest.backtest_report`` (what ``backtest_summary`` writes): Tracer's
trades with costs beside buy-and-hold, the random-timing placebo and the price-only chain. The default
thresholds were picked on sim 2024 H1 with seed 7; the default window here is another period.

    python benchmarks/backtest_worlds.py [--first 2026-10-04 --last 2026-12-02] [--seeds 7,11,13]
        [--strengths 1.0,0] [--fast-effect] [--by-class]

``--fast-effect`` runs the fast world (``FAST_EFFECT_TIMING``, README "Honest accuracy"). ``--by-class``
adds where an edge is kept or lost, per asset class: how long after its story a signal is decided, the
horizon-hold return from the decision's last known close (what the evidence tables measure), and the
backtest engine's Sharpe on that class's signals alone, with the configured costs and with none.
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


def one_world(
    seed: int, strength: float, first: str, last: str, timing: dict | None = None, by_class: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``backtest_summary`` rows of one world (seed, effect strength, effect timing) over ``first..last``,
    and with ``by_class`` its per-asset-class breakdown (else an empty frame)."""
    from tracer_assets.pipeline import SIGNAL_STAGES, run_chain
    from tracer_assets.pipeline.backtest import backtest_report
    from tracer_assets.research.placebo import sim_base_store
    from tracer_assets.universe import load_universe

    with tempfile.TemporaryDirectory() as tmp:
        settings = _settings(Path(tmp), seed, strength, timing)
        universe = load_universe(settings.market.universe)
        store = sim_base_store(settings, universe, first, last)
        run_chain(store, settings, first, last, universe=universe, stages=SIGNAL_STAGES)
        start, end = pd.Timestamp(first, tz="UTC"), pd.Timestamp(last, tz="UTC") + pd.Timedelta(days=1)
        summary = backtest_report(store, settings, start, end).summary
        classes = class_breakdown(store, settings, start, end) if by_class else pd.DataFrame()
    tag = {"seed": seed, "strength": strength}
    return summary.assign(**tag), classes.assign(**tag)


def class_breakdown(store, settings, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Per asset class: decision latency after the story, horizon-hold return, engine Sharpe net and gross."""
    from tracer_assets.backtest.report import backtest_range
    from tracer_assets.research.strategy import signal_trades

    last_day = end - pd.Timedelta(days=1)
    bars = store.read("bars", start, last_day)
    signals = store.read("signals", start, last_day)
    signals = signals[signals["size"].astype(float) > 0]
    held = signal_trades(signals, bars, end).merge(signals[["signal_id", "asset_class"]], on="signal_id")
    no_costs = settings.backtest.model_copy(
        update={"backtest_fee_bps": 0.0, "backtest_slippage_bps": 0.0, "backtest_slippage_range_frac": 0.0}
    )
    latency_h = story_latency_h(
        signals, store.read("narrative_scores", start - pd.Timedelta(days=2), last_day)
    )
    rows = []
    for cls, sig in signals.groupby("asset_class"):
        engine = {
            name: backtest_range(bars, sig, costs, start, end, []).summary.set_index("strategy").loc["tracer"]
            for name, costs in (("net", settings.backtest), ("gross", no_costs))
        }
        hh = held[held["asset_class"] == cls]
        rows.append(
            {
                "class": cls,
                "signals": len(sig),
                "latency_h": float(latency_h[sig.index].median()),
                "hold_hit": float(hh["hit"].mean()),
                "hold_bps": float(hh["ret"].mean() * 1e4),
                "trades": int(engine["net"]["n_trades"]),
                "sharpe_net": float(engine["net"]["sharpe"]),
                "sharpe_gross": float(engine["gross"]["sharpe"]),
                "return_net": float(engine["net"]["total_return"]),
            }
        )
    return pd.DataFrame(rows)


def story_latency_h(signals: pd.DataFrame, stories: pd.DataFrame) -> pd.Series:
    """Hours from the publication of the latest story known at each decision (same symbol) to the
    decision, indexed like ``signals`` (NaN when no story was known)."""
    utc = "datetime64[ns, UTC]"
    q = signals[["symbol", "decision_ts"]].astype({"symbol": str, "decision_ts": utc}).reset_index()
    s = stories[["symbol", "event_ts", "available_ts"]].astype(
        {"symbol": str, "event_ts": utc, "available_ts": utc}
    )
    m = pd.merge_asof(
        q.sort_values("decision_ts"),
        s.sort_values("available_ts"),
        left_on="decision_ts",
        right_on="available_ts",
        by="symbol",
        direction="backward",
    ).set_index("index")
    return ((m["decision_ts"] - m["event_ts"]).dt.total_seconds() / 3600).reindex(signals.index)


def class_table(breakdowns: pd.DataFrame) -> pd.DataFrame:
    """Per effect and asset class over seeds: medians of latency, the hold's return and the engine's."""
    rows = []
    for (strength, cls), g in breakdowns.groupby(["strength", "class"], sort=True):
        rows.append(
            {
                "effect": strength,
                "class": cls,
                "seeds": g["seed"].nunique(),
                "signals": int(g["signals"].sum()),
                "decided after story, median h": f"{g['latency_h'].median():.1f}",
                "hold hit rate (mean)": f"{g['hold_hit'].mean():.1%}",
                "hold return, bps/signal (mean)": f"{g['hold_bps'].mean():.0f}",
                "engine Sharpe gross (mean, min..max)": _spread(g["sharpe_gross"]),
                "engine Sharpe net (mean, min..max)": _spread(g["sharpe_net"]),
            }
        )
    return pd.DataFrame(rows)


def _spread(x: pd.Series) -> str:
    return f"{x.mean():.2f} ({x.min():.2f}..{x.max():.2f})"


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
    parser.add_argument("--fast-effect", action="store_true", help="the fast world (FAST_EFFECT_TIMING)")
    parser.add_argument("--by-class", action="store_true", help="per asset class: latency, hold, engine")
    args = parser.parse_args()
    from tracer_assets.providers.sim.narratives import FAST_EFFECT_TIMING

    timing = FAST_EFFECT_TIMING if args.fast_effect else None
    frames, classes = [], []
    for strength in [float(x) for x in args.strengths.split(",")]:
        for seed in [int(x) for x in args.seeds.split(",")]:
            t0 = time.perf_counter()
            summary, breakdown = one_world(seed, strength, args.first, args.last, timing, args.by_class)
            frames.append(summary)
            classes.append(breakdown)
            print(f"seed {seed} effect {strength:g}: {time.perf_counter() - t0:.1f}s", flush=True)
    world = "fast world" if args.fast_effect else "default timing"
    table = world_table(pd.concat(frames, ignore_index=True))
    print(f"\nbacktest over {args.first}..{args.last} (sim, {world}; costs as TRACER_BACKTEST_*):\n")
    print(table.to_markdown(index=False))
    if args.by_class:
        print(f"\nper asset class ({world}):\n")
        print(class_table(pd.concat(classes, ignore_index=True)).to_markdown(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
