"""The daily chain's stage code over a demo lake's range, this code against a peer (``--peer``, default main).

Each stage's pipeline call (what its asset calls before writing) runs over the lake's whole range in
one call and day by day (one call per day, as a one-day run makes it), reading the lake (``--lake``: a
lake ``tracer demo`` wrote) and writing nothing, in a child process per code version (``git archive``
of the peer, so nothing is checked out). Prints CPU seconds per stage and whether every frame the two
versions computed is the same (values, dtypes, order; floats exact).

    python benchmarks/chain_stages.py --lake /tmp/demo/lake [--peer main] [--repeat 2]
"""

from __future__ import annotations

import json
import pickle
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peer_worker import lake_peer_args, run_worker  # noqa: E402
from replay import ROOT, export_ref  # noqa: E402

STAGES = ["price_features", "narrative_pressure"]


def _calls(lake, settings, symbols):
    from tracer_assets.pipeline import market, sentiment

    return {
        "price_features": lambda s, e: market.price_features(lake, settings, s, e),
        "narrative_pressure": lambda s, e: sentiment.narrative_pressure(lake, settings, symbols, s, e),
    }


def worker(lake_path: str, out: str, repeat: int) -> None:
    """Runs under the code version on PYTHONPATH: each stage over the range and per day; JSON timings."""
    from tracer_assets.lake import Lake
    from tracer_assets.settings import TracerSettings
    from tracer_assets.universe import load_universe

    settings = TracerSettings()
    lake = Lake(lake_path)
    calls = _calls(lake, settings, load_universe(settings.market.universe).symbols)
    days = lake.partitions("price_features")
    start, end = pd.Timestamp(days[0], tz="UTC"), pd.Timestamp(days[-1], tz="UTC") + pd.Timedelta(days=1)
    best: dict[str, list[float]] = {}
    frames: dict[str, pd.DataFrame] = {}
    for _ in range(repeat):
        for stage in STAGES:
            t0 = time.process_time()
            whole = calls[stage](start, end)
            t1 = time.process_time()
            daily = [
                calls[stage](d, d + pd.Timedelta(days=1)) for d in pd.date_range(start, end, inclusive="left")
            ]
            t2 = time.process_time()
            r, d = best.get(stage, [float("inf"), float("inf")])
            best[stage] = [min(r, t1 - t0), min(d, t2 - t1)]
            frames[stage] = whole
            frames[stage + " per day"] = pd.concat(daily, ignore_index=True)
    with open(Path(out) / "frames.pkl", "wb") as fh:
        pickle.dump({k: (v, dict(v.attrs)) for k, v in frames.items()}, fh)
    print(json.dumps({"best": best, "days": len(days)}))


def run(code: Path, lake: str, repeat: int) -> tuple[dict, dict]:
    with tempfile.TemporaryDirectory(prefix="chain-stages-") as out:
        timings = run_worker(__file__, code, lake, out, repeat)
        with open(Path(out) / "frames.pkl", "rb") as fh:
            frames = pickle.load(fh)
    return timings, frames


def same(a: tuple[pd.DataFrame, dict], b: tuple[pd.DataFrame, dict]) -> bool:
    """Identical frames (columns, dtypes, index, exact values) and identical attrs."""
    try:
        pd.testing.assert_frame_equal(a[0], b[0], check_exact=True)
    except AssertionError:
        return False
    return a[1] == b[1]


def main() -> None:
    args = lake_peer_args(__doc__)
    if args.worker:
        worker(args.lake, args.out, args.repeat)
        return
    with tempfile.TemporaryDirectory(prefix="chain-stages-peer-") as tmp:
        peer, peer_frames = run(export_ref(args.peer, Path(tmp)), args.lake, args.repeat)
    ours, our_frames = run(ROOT, args.lake, args.repeat)
    print(
        f"CPU seconds, best of {args.repeat}, over {ours['days']} days: one call for the range / one per day"
    )
    print(
        f"{'stage':<20} {args.peer + ' range':>11} {'this range':>11} {args.peer + ' daily':>11} {'this daily':>11}"
    )
    totals = [0.0, 0.0, 0.0, 0.0]
    for stage, (r, d) in ours["best"].items():
        pr, pd_ = peer["best"][stage]
        totals = [a + b for a, b in zip(totals, (pr, r, pd_, d), strict=True)]
        print(f"{stage:<20} {pr:>11.2f} {r:>11.2f} {pd_:>11.2f} {d:>11.2f}")
    print(f"{'all':<20} {totals[0]:>11.2f} {totals[1]:>11.2f} {totals[2]:>11.2f} {totals[3]:>11.2f}")
    for name in our_frames:
        ok = same(our_frames[name], peer_frames[name])
        print(f"{name}: {len(our_frames[name][0])} rows, the same as {args.peer}'s: {'yes' if ok else 'NO'}")


if __name__ == "__main__":
    main()
