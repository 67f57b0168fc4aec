"""CPU seconds of some asset bodies on a demo's lake, this code beside a peer (issue 14, fourth round).

Each stage runs in a child process per code version (``--peer REF``: exported with ``git archive``)
over every partition of a lake a ``tracer demo`` wrote, which only is read. Stages, as the assets call
them: ``hit_rate_trend`` (every night of the range), ``market_board`` (each day's stored snapshot
priced and gated again), ``eval_metrics`` (each week's table), ``reliability`` and ``brier_pages``
(each week's figures, as JSON, and the Brier pages' HTML), ``digest`` (each day's digest). Beside each time: whether both versions gave the
same output (frames by value and dtype, figures by their JSON, pages by their HTML with plotly's
random div id taken out). The digest and market board stages read their range's input tables once where
the code has ``pipeline/range_reads.py`` (as their assets do), else per day.

    python benchmarks/asset_bodies.py --lake /tmp/ref60/lake --peer main [--repeat 2]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("hit_rate_trend", "market_board", "eval_metrics", "reliability", "brier_pages", "digest")
DIV_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _frame_bytes(df) -> bytes:
    import pandas as pd

    head = "|".join(f"{c}:{t}" for c, t in zip(df.columns, df.dtypes, strict=True)).encode()
    try:
        return head + pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes()
    except TypeError:  # unhashable cells (lists, dicts): their text
        return head + df.to_json(orient="split", date_format="iso").encode()


def _stage(name: str, lake_root: str) -> tuple[float, str]:
    """(CPU seconds, output digest) of one stage over the whole lake, in this process (imports and the
    first plotly figure, made once per process, not counted)."""
    import pandas as pd

    from tracer_assets.evaluation.brier_history import BrierHistory
    from tracer_assets.evaluation.metrics import COHORT_DIMS
    from tracer_assets.evaluation.plots import brier_over_time_figure, reliability_figure, write_html
    from tracer_assets.lake import Lake
    from tracer_assets.pipeline.digest import daily_digest
    from tracer_assets.pipeline.evaluation import eval_metrics, hit_rate_trend
    from tracer_assets.pipeline.polymarket import market_board, snapshot_time
    from tracer_assets.settings import TracerSettings
    from tracer_assets.universe import load_universe

    lake, settings, h = Lake(lake_root), TracerSettings(), hashlib.blake2b(digest_size=16)
    days = lake.partitions("polymarket_markets")
    weeks = lake.partitions("eval_metrics")
    reliability_figure(pd.DataFrame()).to_json()  # plotly's lazy imports and template loading
    start = time.process_time()
    if name == "hit_rate_trend":
        for trend in hit_rate_trend(lake, settings, days).values():
            h.update(_frame_bytes(trend))
    elif name == "market_board":
        universe = load_universe(settings.market.universe)
        gated = ["hours_to_end", "spread", "gate_unknown", "gate_status", "gate_reason"]
        snaps = {d: lake.read("polymarket_markets", d, d).drop(columns=gated, errors="ignore") for d in days}
        start = time.process_time()
        try:  # the range's features read once, as the asset reads them (a peer without it: per day)
            from tracer_assets.pipeline.polymarket import feature_look_back_days
            from tracer_assets.pipeline.range_reads import range_reads, span

            reads = range_reads(lake, *span(days, feature_look_back_days(settings)))
        except ImportError:
            reads = lake
        for day, snap in snaps.items():
            board, counts = market_board(reads, settings, universe, snap, day, snapshot_time(day))
            h.update(_frame_bytes(board) + json.dumps(counts, sort_keys=True).encode())
    elif name == "eval_metrics":
        for week in weeks:
            h.update(_frame_bytes(eval_metrics(lake, settings, week)))
    elif name == "reliability":
        for week in weeks:
            bins = lake.read("calibration_bins", week, week)
            for kind in sorted({"signal", "market"} | set(bins["kind"])):
                for strategy in ("uniform", "quantile"):
                    rows = bins[(bins["kind"] == kind) & (bins["strategy"] == strategy)]
                    h.update(reliability_figure(rows, title=f"{kind} {week} {strategy}").to_json().encode())
    elif name == "brier_pages":
        history = BrierHistory()
        with tempfile.TemporaryDirectory() as tmp:
            for week in weeks:
                history.add(lake.read("eval_metrics", week, week))
                for dim in COHORT_DIMS:
                    fig = brier_over_time_figure(history.rows(dim), cohort_dim=dim, title=f"{dim} to {week}")
                    page = write_html(fig, Path(tmp) / f"{week}_{dim}.html")
                    h.update(DIV_ID.sub("ID", page.read_text()).encode())
    elif name == "digest":
        try:  # the range's reads made once, as the asset makes them (a peer without it reads per day)
            from tracer_assets.pipeline.digest import digest_reads

            reads = digest_reads(lake, settings, days)
        except ImportError:
            reads = lake
        for day in days:
            d = daily_digest(
                reads, settings, day, now=pd.Timestamp(days[-1], tz="UTC") + pd.Timedelta(days=1)
            )
            body = d.rows.drop(columns=["digest_id"])  # an id drawn per build
            h.update(_frame_bytes(body) + d.text.encode() + "\n".join(d.messages).encode())
    else:
        raise ValueError(f"unknown stage {name!r}")
    return time.process_time() - start, h.hexdigest()


def run_child(code: Path, lake: str, stage: str) -> tuple[float, str]:
    env = {**os.environ, "PYTHONPATH": str(code)}
    cmd = [sys.executable, __file__, "--child", stage, "--code", str(code), "--lake", lake]
    out = subprocess.run(cmd, env=env, cwd=code, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"{stage} with {code} failed:\n{out.stderr[-3000:]}")
    cpu, digest = out.stdout.strip().splitlines()[-1].split()
    return float(cpu), digest


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lake", required=True, help="a lake written by `tracer demo` (read only)")
    parser.add_argument("--peer", help="git ref of the code to compare with (e.g. main)")
    parser.add_argument("--stages", nargs="*", default=list(STAGES))
    parser.add_argument("--repeat", type=int, default=1, help="best of N runs per stage and version")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--code", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sys.path.insert(0, args.code)
        cpu, digest = _stage(args.child, args.lake)
        print(f"{cpu:.3f} {digest}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        peer = None
        if args.peer:
            sys.path.insert(0, str(ROOT / "benchmarks"))
            from replay import export_ref

            peer = export_ref(args.peer, Path(tmp) / "peer")
        print(f"lake {args.lake}; CPU seconds, best of {args.repeat}")
        same_all = True
        for stage in args.stages:
            this = min((run_child(ROOT, args.lake, stage) for _ in range(args.repeat)), key=lambda r: r[0])
            line = f"{stage:15s} this {this[0]:7.2f} s"
            if peer is not None:
                ref = min((run_child(peer, args.lake, stage) for _ in range(args.repeat)), key=lambda r: r[0])
                same = ref[1] == this[1]
                same_all &= same
                line += f"  {args.peer} {ref[0]:7.2f} s  ({ref[0] / max(this[0], 1e-9):.2f}x)  "
                line += "same output" if same else "OUTPUT DIFFERS"
            print(line, flush=True)
    return 0 if same_all else 1


if __name__ == "__main__":
    raise SystemExit(main())
