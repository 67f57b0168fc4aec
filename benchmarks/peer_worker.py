"""Shared by the benchmarks that time one code version against another over a demo lake: the
command line (``--lake``, ``--peer``, ``--repeat``, and the hidden ``--worker``/``--out`` of the child),
and a child process that runs the calling script's worker under one code version's ``PYTHONPATH``."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path


def lake_peer_args(doc: str | None) -> argparse.Namespace:
    """``--lake LAKE [--peer REF] [--repeat N]``, plus the worker's own flags."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lake", required=True, help="a lake `tracer demo` wrote")
    ap.add_argument("--peer", default="main", help="git ref of the code to compare with")
    ap.add_argument("--repeat", type=int, default=2, help="best of this many passes")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    return ap.parse_args()


def run_worker(script: str, code: Path, lake: str, out: str, repeat: int) -> dict:
    """``script --worker`` in a child with ``code`` first on the path; its last stdout line, as JSON."""
    done = subprocess.run(
        [sys.executable, script, "--worker", "--lake", lake, "--out", out, "--repeat", str(repeat)],
        env={**os.environ, "PYTHONPATH": str(code)},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])
