"""A range's lake writes and reads, this code against a peer (``--peer REF``, default main).

The frames are a demo lake's own tables (``--lake``: a lake ``tracer demo`` wrote), each written back as
its range's days through ``Lake.write_partitions`` (the call the assets make) into a temp lake and read
back whole through ``Lake.read``, in a child process per code version (``git archive`` of the peer, so
nothing is checked out). Prints CPU seconds per table and in all, and whether every file the two
versions wrote is the same bytes.

    python benchmarks/lake_io.py --lake /tmp/demo/lake [--peer main] [--repeat 2]
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peer_worker import lake_peer_args, run_worker  # noqa: E402
from replay import ROOT, export_ref  # noqa: E402

# daily tables and the column that keys their day, as the assets write them
TABLES = {
    "narratives": "event_ts",
    "narrative_scores": "event_ts",
    "price_features": "ts",
    "narrative_pressure": "decision_ts",
    "signals": "decision_ts",
    "orders": "event_ts",
    "backtest_equity": "ts",
    "lake_audit": "event_ts",
}


def worker(lake_path: str, out: str, repeat: int) -> None:
    """Runs under the code version on PYTHONPATH: write and read each table, print JSON timings."""
    from tracer_assets.lake import Lake

    src = Lake(lake_path)
    frames = {t: (src.read(t), src.partitions(t)) for t in TABLES if t in src.tables()}
    best: dict[str, list[float]] = {}
    for _ in range(repeat):
        dst = Lake(out)
        for table, (df, days) in frames.items():
            t0 = time.process_time()
            dst.write_partitions(table, df, days, by=TABLES[table])
            t1 = time.process_time()
            back = dst.read(table, days[0], days[-1])
            t2 = time.process_time()
            assert len(back) == len(df), f"{table}: {len(back)} rows read back of {len(df)}"
            w, r = best.get(table, [float("inf"), float("inf")])
            best[table] = [min(w, t1 - t0), min(r, t2 - t1)]
    digests = {
        str(p.relative_to(out)): hashlib.blake2b(p.read_bytes(), digest_size=16).hexdigest()
        for p in sorted(Path(out).rglob("*.parquet"))
    }
    print(json.dumps({"best": best, "days": {t: len(d) for t, (_, d) in frames.items()}, "files": digests}))


def run(code: Path, lake: str, repeat: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="lake-io-") as out:
        return run_worker(__file__, code, lake, out, repeat)


def main() -> None:
    args = lake_peer_args(__doc__)
    if args.worker:
        worker(args.lake, args.out, args.repeat)
        return
    with tempfile.TemporaryDirectory(prefix="lake-io-peer-") as tmp:
        peer = run(export_ref(args.peer, Path(tmp)), args.lake, args.repeat)
    ours = run(ROOT, args.lake, args.repeat)
    print(f"CPU seconds, best of {args.repeat}: write_partitions of the range / read of the range")
    print(
        f"{'table':<20} {'days':>5} {args.peer + ' write':>12} {'this write':>11} {args.peer + ' read':>11} {'this read':>10}"
    )
    totals = [0.0, 0.0, 0.0, 0.0]
    for table, (w, r) in ours["best"].items():
        pw, pr = peer["best"][table]
        totals = [a + b for a, b in zip(totals, (pw, w, pr, r), strict=True)]
        print(f"{table:<20} {ours['days'][table]:>5} {pw:>12.2f} {w:>11.2f} {pr:>11.2f} {r:>10.2f}")
    print(f"{'all':<20} {'':>5} {totals[0]:>12.2f} {totals[1]:>11.2f} {totals[2]:>11.2f} {totals[3]:>10.2f}")
    same = ours["files"] == peer["files"]
    print(f"files written: {len(ours['files'])}; the same bytes as {args.peer}'s: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
