"""``tracer walkforward`` (the fold partitions' backfill, run through Dagster as the UI runs it) and
``tracer params list|rollback`` (the governed versions, and a recorded rollback)."""

from __future__ import annotations

import argparse
import getpass
import json
import sys

import pandas as pd

from tracer_assets.pipeline.governed import GOVERNED_TABLE, read_governed
from tracer_assets.research.governance import fold_evidence, in_force, is_stand_aside, rollback_row
from tracer_assets.research.walkforward import SUMMARY_COLUMNS

# the summary without its run id and timestamps
SUMMARY_SHOWN = [c for c in SUMMARY_COLUMNS if c not in ("run_id", "event_ts", "available_ts")]


def _months(start: str, end: str) -> list[str]:
    """The ``YYYY-MM`` months from ``start``'s month to ``end``'s month (inclusive)."""
    first, last = pd.Timestamp(start).to_period("M"), pd.Timestamp(end).to_period("M")
    if last < first:
        raise ValueError(f"--end {end} is before --start {start}")
    return [str(p) for p in pd.period_range(first, last, freq="M")]


def _lake(args: argparse.Namespace):
    from tracer_assets.lake import Lake
    from tracer_assets.settings import TracerSettings

    return Lake(args.lake or TracerSettings().lake.lake_root)


def _walkforward(args: argparse.Namespace) -> int:
    from tracer_assets.defs.walkforward.run import materialize_folds

    try:
        months = _months(args.start, args.end)
    except ValueError as exc:
        print(f"tracer walkforward: {exc}", file=sys.stderr)
        return 2
    ok, message = materialize_folds(months, args.lake)
    if not ok:
        print(f"tracer walkforward: {message}", file=sys.stderr)
        return 1
    lake = _lake(args)
    folds = lake.read("walk_forward_folds", f"{months[0]}-01", f"{months[-1]}-01")
    summary = lake.read("walk_forward_summary", f"{months[0]}-01", f"{months[0]}-01")
    summary = summary[summary["run_id"] == message]
    print(fold_evidence(folds).to_markdown(index=False, floatfmt=".3f"))
    print()
    print(summary[SUMMARY_SHOWN].T.to_markdown(headers=["walk_forward_summary", message], floatfmt=".3f"))
    return 0


def _params_list(args: argparse.Namespace) -> int:
    lake = _lake(args)
    governed = read_governed(lake)
    if governed.empty:
        print("no governed versions: the settings' defaults are in force")
        return 0
    version, _ = in_force(governed, pd.Timestamp.now(tz="UTC"))
    shown = governed.sort_values(["available_ts", "version"], kind="stable")
    shown = shown.assign(
        in_force=shown["version"].eq(version) & (shown.index == shown.index[-1]),
        trades=["no: stand aside" if is_stand_aside(json.loads(p)) else "yes" for p in shown["params"]],
    )
    cols = ["version", "action", "available_ts", "trades", "actor", "reason", "source", "params", "in_force"]
    print(shown[cols].to_markdown(index=False))
    return 0


def rollback(lake, version: str, *, actor: str, reason: str, now: pd.Timestamp | None = None) -> pd.DataFrame:
    """Put ``version``'s parameters back in force from ``now`` (a new row: who, when, why)."""
    now = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now).tz_convert("UTC")
    row = rollback_row(read_governed(lake), version, actor=actor, reason=reason, ts=now)
    lake.write_partition(GOVERNED_TABLE, f"{now:%Y-%m-%d}", row, part=f"rollback_{now:%H%M%S%f}")
    return row


def _params_rollback(args: argparse.Namespace) -> int:
    try:
        row = rollback(_lake(args), args.version, actor=args.actor or getpass.getuser(), reason=args.reason)
    except ValueError as exc:
        print(f"tracer params rollback: {exc}", file=sys.stderr)
        return 2
    r = row.iloc[0]
    mode = " standing aside (no signals)" if is_stand_aside(json.loads(r.params)) else ""
    print(
        f"version {r.version}{mode} in force from {r.available_ts:%Y-%m-%d %H:%M:%S} UTC ({r.actor}: {r.reason})"
    )
    return 0


def register(subparsers) -> None:
    """Add ``walkforward`` and ``params`` to the ``tracer`` command's subparsers."""
    wf = subparsers.add_parser(
        "walkforward",
        help="walk-forward over monthly folds (the fold partitions' backfill), print the summary",
    )
    wf.add_argument("--start", required=True, help="first out-of-sample month (YYYY-MM or a day in it)")
    wf.add_argument("--end", required=True, help="last out-of-sample month (YYYY-MM or a day in it)")
    wf.add_argument("--lake", help="lake root (default: TRACER_LAKE_ROOT)")
    wf.set_defaults(func=_walkforward)
    params = subparsers.add_parser("params", help="governed threshold versions: list, rollback")
    psub = params.add_subparsers(dest="params_command", required=True)
    ls = psub.add_parser("list", help="every governed version, the one in force marked")
    ls.add_argument("--lake", help="lake root (default: TRACER_LAKE_ROOT)")
    ls.set_defaults(func=_params_list)
    rb = psub.add_parser("rollback", help="put an earlier version back in force from now (recorded)")
    rb.add_argument("version", help="a version listed by `tracer params list`")
    rb.add_argument("--reason", required=True, help="why (stored in governed_params)")
    rb.add_argument("--actor", help="who (default: the login name)")
    rb.add_argument("--lake", help="lake root (default: TRACER_LAKE_ROOT)")
    rb.set_defaults(func=_params_rollback)
