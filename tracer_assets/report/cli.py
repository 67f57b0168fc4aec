"""``tracer report [--start D --end D] [--out FILE]``: write the HTML report, with progress on a terminal."""

from __future__ import annotations

import argparse
import sys


def _day(text: str) -> str:
    import pandas as pd

    try:
        return pd.Timestamp(text).strftime("%Y-%m-%d")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (use YYYY-MM-DD)") from exc


def _report(args: argparse.Namespace) -> int:
    from tracer_assets.lake import Lake
    from tracer_assets.progress import Reporter
    from tracer_assets.report.build import SECTIONS, build_report, write_report
    from tracer_assets.report.sections import Window
    from tracer_assets.settings import TracerSettings

    settings = TracerSettings()
    if args.start and args.end and args.start > args.end:
        print(f"tracer report: --start {args.start} is after --end {args.end}", file=sys.stderr)
        return 2
    lake = Lake(args.lake or settings.lake.lake_root)
    out = args.out or settings.report.report_path
    with Reporter() as rep, rep.steps("report", total=len(SECTIONS)) as steps:
        page, sections = build_report(
            lake, settings.report, Window(args.start, args.end), on_section=lambda k: steps.advance(what=k)
        )
        path = write_report(page, out)
        for s in sections:
            rep.print(f"  {s.title}: {s.missing or 'ok'}")
        rep.print(f"Report: {path.resolve()}  (open it in a browser)")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report", help="write the HTML report (equity, calibration, cohorts, markets, health)"
    )
    parser.add_argument("--start", type=_day, help="first day (YYYY-MM-DD), default: the lake's first")
    parser.add_argument("--end", type=_day, help="last day (YYYY-MM-DD), default: the lake's last")
    parser.add_argument("--out", help="output HTML file (default: TRACER_REPORT_PATH)")
    parser.add_argument("--lake", help="lake root (default: TRACER_LAKE_ROOT)")
    parser.set_defaults(func=_report)
