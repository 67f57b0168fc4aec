"""``tracer positions``, ``tracer kill-trading`` and ``tracer resume-trading``."""

from __future__ import annotations

import argparse
import getpass

import pandas as pd

from tracer_assets.execution.controls import (
    KILL,
    RESUME,
    append_control,
    control_row,
    kill_state,
    read_controls,
)
from tracer_assets.lake import Lake
from tracer_assets.settings import TracerSettings


def _lake(args: argparse.Namespace) -> Lake:
    return Lake(args.lake or TracerSettings().lake.lake_root)


def positions_main(args: argparse.Namespace) -> int:
    lake = _lake(args)
    port = lake.read("portfolio")
    on, why = kill_state(read_controls(lake), pd.Timestamp.now(tz="UTC"))
    print(
        f"trading mode: {TracerSettings().execution.trading_mode}; kill switch: {'ON (' + why + ')' if on else 'off'}"
    )
    if not len(port):
        print("(no portfolio rows yet)")
        return 0
    last = port.sort_values("ts").iloc[-1]
    print(
        f"as of {pd.Timestamp(last['ts']):%Y-%m-%d %H:%M} UTC: equity {last['equity']:,.2f}  cash {last['cash']:,.2f}  "
        f"gross {last['gross_exposure']:,.2f}  net {last['net_exposure']:,.2f}  day PnL {last['daily_pnl']:,.2f}  "
        f"drawdown {100 * last['drawdown']:.2f}%"
    )
    pos = lake.read("positions")
    book = pos[pos["ts"] == last["ts"]] if len(pos) else pos
    if not len(book):
        print("(flat)")
        return 0
    shown = book[["symbol", "qty", "avg_price", "market_value"]].sort_values("symbol")
    print(shown.to_markdown(index=False, tablefmt="simple", floatfmt=",.4f"))
    return 0


def _control(action: str):
    def run(args: argparse.Namespace) -> int:
        row = control_row(action, args.who or getpass.getuser(), args.reason, pd.Timestamp.now(tz="UTC"))
        append_control(_lake(args), row)
        print(
            f"{'kill switch ON' if action == KILL else 'kill switch cleared'} at {row['ts']:%Y-%m-%d %H:%M:%S} UTC "
            f"by {row['who']}: {row['why']}"
        )
        return 0

    return run


def register(subparsers) -> None:
    """Add the execution commands to ``tracer``'s subparsers."""
    p = subparsers.add_parser(
        "positions", help="print the paper (or broker) book: equity, exposure, holdings"
    )
    p.add_argument("--lake", help="lake root (default: TRACER_LAKE_ROOT)")
    p.set_defaults(func=positions_main)
    for name, action, text in (
        ("kill-trading", KILL, "trip the kill switch: no order is sent until resume-trading"),
        ("resume-trading", RESUME, "clear the kill switch (recorded with who, when and why)"),
    ):
        c = subparsers.add_parser(name, help=text)
        c.add_argument("--reason", required=True, help="why (kept in trading_controls)")
        c.add_argument("--who", help="who (default: the OS user)")
        c.add_argument("--lake", help="lake root (default: TRACER_LAKE_ROOT)")
        c.set_defaults(func=_control(action))
