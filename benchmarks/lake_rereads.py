"""What re-reading the lake a run just wrote costs: the lake audit, the written-partition checks and the
skip fingerprints, on a demo lake, this version against a git ref (CPU seconds).

Each part runs in a fresh process per version (cold caches, as a demo run starts), over every day of
the lake's daily range:

- ``audit``: ``audit_days`` of the range (the ``lake_audit`` asset's work, weekly tables skipped);
- ``checks``: ``check_written`` of every table over its partitions (the blocking asset checks);
- ``fingerprints``: for every asset of the graph, ``input_key`` and ``output_hash`` (``decide``) and
  ``output_hash`` again (``record``): the lake listed three times and the files hashed per asset (the
  code version, a hash of the sources, replaced by one stand-in so both versions' keys compare).

The outputs of both versions (audit frames, check reports, keys and hashes) must be identical; the
run fails when they are not. The lake is only read (make one with ``tracer demo --days 60``).

    python benchmarks/lake_rereads.py --lake /tmp/ref60/lake [--peer main] [--repeats 3]
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("audit", "checks", "fingerprints")


def worker(lake_root: str, out: Path) -> None:
    """In a process whose ``sys.path`` starts at the version's code: time each part, pickle results."""
    warnings.filterwarnings("ignore")
    from tracer_assets.definitions import CORE_ASSETS
    from tracer_assets.defs.partitions import weekly_partitions
    from tracer_assets.defs.skip import _graph, output_hash, reads_for
    from tracer_assets.lake import Lake
    from tracer_assets.monitoring.audit import audit_days
    from tracer_assets.monitoring.written import check_written
    from tracer_assets.pipeline import fingerprint
    from tracer_assets.pipeline.fingerprint import input_key

    # the input key hashes the source files too: the same stand-in for both versions, so the keys
    # compare what they hash of the lake
    fingerprint.code_version = lambda: "same code"

    lake = Lake(lake_root)
    files = lake.files_by_table()
    days = sorted({f.split("/")[1].removeprefix("date=") for f in files["bars"]})
    weekly = frozenset(a.key.path[-1] for a in CORE_ASSETS if a.partitions_def == weekly_partitions)
    assets = sorted(_graph()[0])
    times, results = {}, {}

    start = time.process_time()
    audit = audit_days(lake, days, weekly)
    times["audit"] = time.process_time() - start
    results["audit"] = {d: f.to_dict("list") for d, f in audit.items()}

    start = time.process_time()
    reports = {}
    for table in sorted(files):
        keys = sorted({f.split("/")[1].removeprefix("date=") for f in files[table] if "/date=" in f}) or None
        r = check_written(lake, table, keys)
        reports[table] = (r.rows, r.problems, r.partitions)
    times["checks"] = time.process_time() - start
    results["checks"] = reports

    start = time.process_time()
    prints = {}
    for asset in assets:
        key = input_key(lake_root, asset, days, "{}", reads_for(asset))
        prints[asset] = (key, output_hash(lake_root, asset, days), output_hash(lake_root, asset, days))
    times["fingerprints"] = time.process_time() - start
    results["fingerprints"] = prints
    out.write_bytes(pickle.dumps((times, results)))


def run(code: Path, lake: str, tmp: Path) -> tuple[dict, dict]:
    out = tmp / "out.pkl"
    script = f"import sys; sys.path.insert(0, {str(code)!r}); sys.path.insert(1, {str(ROOT)!r})\n"
    script += "from benchmarks.lake_rereads import worker\n"
    script += f"worker({lake!r}, __import__('pathlib').Path({str(out)!r}))"
    subprocess.run([sys.executable, "-c", script], check=True, cwd=tmp)
    return pickle.loads(out.read_bytes())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lake", required=True, help="a demo lake (read only)")
    parser.add_argument("--peer", default="main", help="git ref of the version to compare with")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from benchmarks.replay import export_ref

    with tempfile.TemporaryDirectory() as tmp:
        peer = export_ref(args.peer, Path(tmp) / "peer")
        timings: dict[str, dict[str, list[float]]] = {"peer": {}, "this": {}}
        outputs = {}
        for _ in range(args.repeats):
            for name, code in (("peer", peer), ("this", ROOT)):
                times, outputs[name] = run(code, args.lake, Path(tmp))
                for part in PARTS:
                    timings[name].setdefault(part, []).append(times[part])
        same = [part for part in PARTS if outputs["peer"][part] == outputs["this"][part]]
        print(f"lake {args.lake}: CPU seconds, median of {args.repeats} fresh processes each")
        print(f"{'part':14s} {args.peer:>10s} {'this':>10s}  speed-up  outputs")
        for part in PARTS:
            p, t = (statistics.median(timings[n][part]) for n in ("peer", "this"))
            print(
                f"{part:14s} {p:10.2f} {t:10.2f}  {p / t:7.1f}x  {'identical' if part in same else 'DIFFER'}"
            )
        p, t = (sum(statistics.median(timings[n][part]) for part in PARTS) for n in ("peer", "this"))
        print(f"{'total':14s} {p:10.2f} {t:10.2f}  {p / t:7.1f}x")
        if len(same) != len(PARTS):
            sys.exit(1)


if __name__ == "__main__":
    main()
