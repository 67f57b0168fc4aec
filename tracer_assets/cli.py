"""The ``tracer`` command: ``demo``, ``sql``, ``sentiment``, ``backtest``, ``placebo``, ``walkforward``
and ``params``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pydantic import ValidationError

from tracer_assets.backtest import cli as backtest_cli
from tracer_assets.ops import cli as ops_cli
from tracer_assets.report import cli as report_cli
from tracer_assets.settings import settings_error_line


def _sql(args: argparse.Namespace) -> int:
    """Query the lake; every error is one line on stderr and a non-zero exit, never a traceback."""
    import duckdb
    from pydantic import ValidationError

    from tracer_assets.analytics.sql_models import ReadOnlyViolation, assert_read_only
    from tracer_assets.lake import Lake, LakeSchemaError
    from tracer_assets.lake.fs import LakeConfigError
    from tracer_assets.lake.store import LakeRootError
    from tracer_assets.settings import TracerSettings, settings_error_line

    if (args.query is None) == (args.file is None):
        print("tracer sql: give a query or --file, not both", file=sys.stderr)
        return 2
    try:
        sql = Path(args.file).read_text() if args.file else args.query
    except (OSError, UnicodeDecodeError) as exc:
        print(f"tracer sql: cannot read --file {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    try:
        assert_read_only(sql)
    except ReadOnlyViolation as exc:
        print(f"tracer sql: {exc}", file=sys.stderr)
        return 2
    try:
        lake = Lake(args.lake or TracerSettings().lake.lake_root)
        df = lake.query(sql)
    except ValidationError as exc:
        print(f"tracer sql: {settings_error_line(exc)}", file=sys.stderr)
        return 2
    except (LakeConfigError, LakeRootError, LakeSchemaError) as exc:
        print(f"tracer sql: {exc}", file=sys.stderr)
        return 2
    except duckdb.Error as exc:
        print(f"tracer sql: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    if args.format == "csv":
        print(df.to_csv(index=False), end="")
    elif args.format == "json":
        print(df.to_json(orient="records", date_format="iso"))
    else:
        shown = df.head(args.limit)
        print(shown.to_markdown(index=False, tablefmt="simple") if len(shown) else "(no rows)")
        if len(df) > args.limit:
            print(f"... {len(df) - args.limit} more rows (--limit)")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from tracer_assets.demo import run_demo

    return run_demo(days=args.days)


def _settings(args: argparse.Namespace) -> int:
    from tracer_assets.settings import TracerSettings
    from tracer_assets.settings_table import settings_markdown, settings_values

    sys.stdout.write(
        settings_markdown() if args.markdown else "\n".join(settings_values(TracerSettings())) + "\n"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "sentiment":
        from tracer_assets.sentiment.cli import sentiment_main

        return sentiment_main(argv[1:])
    parser = argparse.ArgumentParser(
        prog="tracer", description="Tracer: news-and-price signals as a Dagster asset DAG."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="backfill the whole DAG on the offline sim world and print the digest")
    demo.add_argument("--days", type=int, default=60, help="daily partitions ending yesterday (default 60)")
    demo.set_defaults(func=_demo)
    sql = sub.add_parser("sql", help="query the lake read-only through DuckDB")
    sql.add_argument("query", nargs="?", help="a SELECT statement")
    sql.add_argument("--file", help="read the query from a .sql file")
    sql.add_argument("--format", choices=["table", "csv", "json"], default="table")
    sql.add_argument("--limit", type=int, default=50, help="rows shown in table format")
    sql.add_argument("--lake", help="lake root (default: TRACER_LAKE_ROOT)")
    sql.set_defaults(func=_sql)
    shown = sub.add_parser("settings", help="print the settings in force (TRACER_NAME=value, secrets masked)")
    shown.add_argument(
        "--markdown", action="store_true", help="print the table of every variable (docs/settings.md)"
    )
    shown.set_defaults(func=_settings)
    backtest_cli.register(sub)
    report_cli.register(sub)
    sub.add_parser("sentiment", help="score texts: tracer sentiment [--model NAME] FILE|-")
    __import__("tracer_assets.research.cli", fromlist=["register"]).register(sub)
    __import__("tracer_assets.execution.cli", fromlist=["register"]).register(sub)
    ops_cli.register(sub)  # status, pause, resume, recover
    __import__("tracer_assets.research.walkforward_cli", fromlist=["register"]).register(sub)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ValidationError as exc:
        if not exc.title.endswith("Settings"):
            raise
        # a bad TRACER_* value: one line naming the variable, for every command (not a traceback)
        print(f"tracer {args.command}: {settings_error_line(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
