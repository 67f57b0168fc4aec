"""One entry point for the execution assets: the paper broker over lake days, or one routing pass
to a broker outside the sim (``TRACER_TRADING_MODE``). Polymarket has no order path at all."""

from __future__ import annotations

import pandas as pd

from tracer_assets.execution.brokers import AlpacaBroker, Broker
from tracer_assets.execution.controls import read_controls, replace_engine_rows
from tracer_assets.execution.ledger import LEDGER_TABLES
from tracer_assets.execution.live import route
from tracer_assets.execution.paper import DAY, run_paper_days, write_paper_days
from tracer_assets.lake import Lake
from tracer_assets.ops.pause import pause_state
from tracer_assets.settings import TracerSettings

OPEN_STATUSES = ("new", "accepted", "pending_new", "partially_filled", "submitted")


def build_broker(settings: TracerSettings) -> Broker:
    return AlpacaBroker(settings, live=settings.execution.trading_mode == "alpaca_live")


def _ledger_qty(orders: pd.DataFrame, fills: pd.DataFrame, broker: str) -> dict[str, float]:
    if not len(orders) or not len(fills):
        return {}
    ids = set(orders.loc[orders["broker"] == broker, "order_id"])
    mine = fills[fills["order_id"].isin(ids)]
    return {s: float(q) for s, q in mine.groupby("symbol")["qty"].sum().items() if q}


def execute(
    lake: Lake,
    settings: TracerSettings,
    asset_class: dict[str, str],
    start: pd.Timestamp,
    end: pd.Timestamp,
    days: list[str],
    now: pd.Timestamp,
    broker: Broker | None = None,
) -> dict[str, int]:
    """Run execution for [start, end); returns rows written per ledger table. While ``tracer pause``
    holds, nothing is traded or sent and the ledger stays as it is (every table reports 0 rows)."""
    if pause_state(lake) is not None:
        return dict.fromkeys(LEDGER_TABLES, 0)
    if settings.execution.trading_mode == "paper_sim":
        counts = write_paper_days(
            lake, run_paper_days(lake, settings, asset_class, start, end), days, start, end
        )
        return {t: sum(c.values()) for t, c in counts.items()}
    broker = broker or build_broker(settings)
    history_start = pd.Timestamp(settings.lake.partitions_start, tz="UTC")
    orders, fills = lake.read("orders", history_start), lake.read("fills", history_start)
    mine = orders[orders["broker"] == broker.name] if len(orders) else orders
    open_orders = mine[mine["status"].isin(OPEN_STATUSES)] if len(mine) else mine
    if len(open_orders) and len(fills):  # a fill already in the ledger is not fetched twice
        open_orders = open_orders[~open_orders["order_id"].isin(fills["order_id"])]
    entries = mine[(mine["leg"] == "entry") & (mine["status"] == "filled")] if len(mine) else mine
    exited = set(mine.loc[mine["leg"] == "exit", "signal_id"]) if len(mine) else set()
    signals = lake.read("signals", start, end - DAY)
    due = pd.DataFrame(columns=["signal_id", "symbol"])
    if len(entries):
        past = lake.read("signals", history_start)
        horizon = past.set_index("signal_id")["horizon_hours"] if len(past) else pd.Series(dtype=float)
        entries = entries[~entries["signal_id"].isin(exited)]
        exit_due = pd.to_datetime(entries["submitted_ts"], utc=True) + pd.to_timedelta(
            entries["signal_id"].map(horizon).fillna(0).astype(float), unit="h"
        )
        due = entries[exit_due <= now][["signal_id", "symbol"]]
    stamp = min(now, end - pd.Timedelta(microseconds=1))
    today = (orders["submitted_ts"] >= now.floor("D")) if len(mine) else None
    sent = float(mine.loc[today.loc[mine.index], "notional"].fillna(0).sum()) if today is not None else 0.0
    led, trips = route(
        broker,
        signals,
        now=now,
        ledger_qty=_ledger_qty(orders, fills, broker.name),
        due_exits=due,
        controls=read_controls(lake),
        risk=settings.risk,
        execution=settings.execution,
        asset_class=asset_class,
        bars=lake.read("bars", start - DAY, end - DAY),
        sent_today_notional=sent,
        open_orders=open_orders,
        stamp=stamp,
        known_client_order_ids=frozenset(mine["client_order_id"]) if len(mine) else frozenset(),
    )
    frames = led.frames()
    day, part = stamp.strftime("%Y-%m-%d"), "t" + stamp.strftime("%H%M%S")
    for table in LEDGER_TABLES:  # one part per pass: hourly ticks on one day add, never overwrite
        lake.write_partition(table, day, frames[table], part=part)
    if trips:
        replace_engine_rows(lake, trips, stamp, stamp + pd.Timedelta(microseconds=1))
    return {t: len(frames[t]) for t in LEDGER_TABLES}
