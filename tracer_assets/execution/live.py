"""Routing to a broker outside the sim (``alpaca_paper``, ``alpaca_live``): gate, reconcile, risk, send.

Nothing is sent when: the kill switch is on; ``alpaca_live`` is not armed (``TRACER_LIVE_ARMED``) or
lacks its per-order and per-day notional caps; the ledger's positions differ from the broker's (the
kill switch trips). A signal older than ``TRACER_EXECUTION_MAX_SIGNAL_AGE_HOURS`` is skipped, so a
backfill of old days never sends orders. Each such decision is a ``risk_events`` row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tracer_assets.backtest import trade_rules
from tracer_assets.execution.brokers import Broker, BrokerError, OrderRequest
from tracer_assets.execution.controls import KILL, RISK_ENGINE, control_row, kill_state
from tracer_assets.execution.ledger import Ledger, client_order_id
from tracer_assets.execution.risk import BLOCKED, HALTED, REDUCED, Book, MarketCheck, check_entry, risk_event
from tracer_assets.execution.sim import BarIndex
from tracer_assets.settings import ExecutionSettings, RiskSettings

HOUR = pd.Timedelta(hours=1)


def fill_row(order, symbol: str, sign: float, at: pd.Timestamp) -> dict:
    """The ledger's fill of a broker order that has filled (the broker's average price, no fee)."""
    return {
        "order_id": order.order_id,
        "symbol": symbol,
        "qty": sign * order.filled_qty,
        "price": order.filled_avg_price,
        "fee": 0.0,
        "notional": sign * order.filled_qty * order.filled_avg_price,
        "fill_id": order.order_id,
        "event_ts": at,
        "available_ts": at,
    }


def live_gate(execution: ExecutionSettings, kill_on: bool, kill_why: str) -> tuple[str, str] | None:
    """(rule, why) when nothing may be sent, else None."""
    if kill_on:
        return "kill_switch", kill_why or "kill switch on"
    if execution.trading_mode == "alpaca_live":
        if not execution.live_armed:
            return "live_not_armed", "alpaca_live sends nothing unless TRACER_LIVE_ARMED=true"
        if execution.live_max_order_notional is None or execution.live_max_daily_notional is None:
            return "live_caps_missing", (
                "alpaca_live needs TRACER_LIVE_MAX_ORDER_NOTIONAL and TRACER_LIVE_MAX_DAILY_NOTIONAL"
            )
    return None


def reconcile(ledger_qty: dict[str, float], broker_positions: dict[str, dict], tolerance: float) -> list[str]:
    """Symbols whose ledger and broker quantities differ by more than ``tolerance``."""
    symbols = set(ledger_qty) | set(broker_positions)
    return sorted(
        s
        for s in symbols
        if abs(ledger_qty.get(s, 0.0) - broker_positions.get(s, {}).get("qty", 0.0)) > tolerance
    )


def route(
    broker: Broker,
    signals: pd.DataFrame,
    *,
    now: pd.Timestamp,
    ledger_qty: dict[str, float],
    due_exits: pd.DataFrame,
    controls: pd.DataFrame,
    risk: RiskSettings,
    execution: ExecutionSettings,
    asset_class: dict[str, str],
    bars: pd.DataFrame | None = None,
    sent_today_notional: float = 0.0,
    open_orders: pd.DataFrame | None = None,
    stamp: pd.Timestamp | None = None,
    known_client_order_ids: frozenset[str] = frozenset(),
) -> tuple[Ledger, list[dict]]:
    """One routing pass at ``now``: the ledger rows it produced and any kill switch trip.

    ``open_orders`` (earlier orders not yet filled) are looked up first, so fills that arrived since
    the last run reach the ledger before reconciling; ``stamp`` dates the rows (default ``now``).
    """
    led, trips = Ledger(), []
    at = stamp if stamp is not None else now
    ledger_qty = dict(ledger_qty)
    for row in open_orders.itertuples(index=False) if open_orders is not None and len(open_orders) else []:
        order = broker.find_order(row.client_order_id)
        if order is not None and order.filled_qty and order.filled_avg_price:
            sign = 1.0 if order.side == "buy" else -1.0
            ledger_qty[order.symbol] = ledger_qty.get(order.symbol, 0.0) + sign * order.filled_qty
            led.fills.append(fill_row(order, order.symbol, sign, at))
    on, why = kill_state(controls, now)
    gate = live_gate(execution, on, why)
    if gate:
        led.risk_events.append(risk_event(at, gate[0], HALTED, gate[1]))
        return led, trips
    held = broker.positions()
    mismatch = reconcile(ledger_qty, held, risk.risk_reconcile_tolerance)
    if mismatch:
        detail = "ledger and broker positions differ on " + ", ".join(mismatch)
        trips.append(control_row(KILL, RISK_ENGINE, f"reconciliation: {detail}", at))
        led.risk_events.append(risk_event(at, "reconciliation", HALTED, detail))
        return led, trips
    equity = broker.account()["equity"]
    index = BarIndex(bars) if bars is not None and len(bars) else None
    exposure = {s: p["market_value"] for s, p in held.items()}
    sent = sent_today_notional

    def send(signal_id, symbol, leg, notional=None, qty=None) -> None:
        nonlocal sent
        coid = client_order_id(signal_id, leg)
        if coid in known_client_order_ids:  # already in the ledger from an earlier pass
            return
        signed = notional if notional is not None else qty
        side = "buy" if signed > 0 else "sell"
        request = OrderRequest(
            coid,
            symbol,
            side,
            abs(notional) if notional is not None else None,
            abs(qty) if qty is not None else None,
        )
        row = {
            "client_order_id": coid,
            "signal_id": signal_id,
            "symbol": symbol,
            "side": side,
            "qty": abs(qty) if qty is not None else np.nan,
            "notional": abs(notional) if notional is not None else np.nan,
            "type": "market",
            "broker": broker.name,
            "submitted_ts": at,
            "event_ts": at,
            "available_ts": at,
            "leg": leg,
            "filled_ts": pd.NaT,
        }
        try:
            order = broker.submit(request)
        except BrokerError as exc:
            led.orders.append({**row, "order_id": "", "status": "rejected" if exc.rejected else "unsent"})
            rule = "broker_rejected" if exc.rejected else "broker_unavailable"
            led.risk_events.append(risk_event(at, rule, BLOCKED, str(exc), symbol, signal_id))
            return
        led.orders.append({**row, "order_id": order.order_id, "status": order.status})
        sent += abs(notional) if notional is not None else 0.0
        if order.filled_qty and order.filled_avg_price:
            sign = 1.0 if side == "buy" else -1.0
            led.fills.append(fill_row(order, symbol, sign, at))

    for row in due_exits.itertuples(index=False) if len(due_exits) else []:
        qty = held.get(row.symbol, {}).get("qty", 0.0)
        if qty:
            send(row.signal_id, row.symbol, "exit", qty=-qty)
    max_age = HOUR * execution.execution_max_signal_age_hours
    ordered = signals.sort_values(["decision_ts", "signal_id"]) if len(signals) else signals
    for sig in ordered.itertuples(index=False):
        if not float(sig.size) > 0:
            continue
        age = now - pd.Timestamp(sig.decision_ts)
        if age > max_age:
            led.risk_events.append(
                risk_event(
                    at,
                    "signal_age",
                    BLOCKED,
                    f"signal {age / HOUR:.1f} h old > {execution.execution_max_signal_age_hours} h",
                    sig.symbol,
                    sig.signal_id,
                )
            )
            continue
        direction = 1.0 if sig.direction == "long" else -1.0
        market = (
            index.market_check(sig.symbol, now, risk.risk_volume_lookback_bars) if index else None
        ) or MarketCheck()
        decision = check_entry(
            risk,
            ts=at,
            symbol=sig.symbol,
            signal_id=sig.signal_id,
            notional=trade_rules.entry_notional(direction, sig.size, equity),
            book=Book(equity, exposure, asset_class),
            orders_last_hour=len(led.orders),
            day_return=0.0,
            market=market,
        )
        led.risk_events.extend(decision.events)
        notional = decision.notional
        if notional == 0:
            continue
        if execution.trading_mode == "alpaca_live":
            cap = min(execution.live_max_order_notional, execution.live_max_daily_notional - sent)
            if cap <= 0:
                led.risk_events.append(
                    risk_event(
                        at,
                        "live_daily_notional",
                        BLOCKED,
                        "daily live notional cap reached",
                        sig.symbol,
                        sig.signal_id,
                    )
                )
                continue
            if abs(notional) > cap:
                led.risk_events.append(
                    risk_event(
                        at,
                        "live_order_notional",
                        REDUCED,
                        f"notional {abs(notional):.2f} -> {cap:.2f}",
                        sig.symbol,
                        sig.signal_id,
                    )
                )
                notional = np.sign(notional) * cap
        send(sig.signal_id, sig.symbol, "entry", notional=notional)
        exposure[sig.symbol] = exposure.get(sig.symbol, 0.0) + notional
    snapshot(broker, led, at)
    return led, trips


def snapshot(broker: Broker, led: Ledger, at: pd.Timestamp) -> None:
    """The broker's positions and account as ledger rows (the broker is the truth outside the sim)."""
    held, account = broker.positions(), broker.account()
    for symbol, p in sorted(held.items()):
        led.positions.append(
            {
                "ts": at,
                "symbol": symbol,
                "qty": p["qty"],
                "avg_price": p["avg_price"],
                "market_value": p["market_value"],
                "signal_id": "",
                "asset_class": "",
                "event_ts": at,
                "available_ts": at,
            }
        )
    values = [p["market_value"] for p in held.values()]
    led.portfolio.append(
        {
            "ts": at,
            "equity": account["equity"],
            "cash": account["cash"],
            "gross_exposure": float(sum(abs(v) for v in values)),
            "net_exposure": float(sum(values)),
            "daily_pnl": np.nan,
            "drawdown": np.nan,
            "kill_switch": False,
            "peak_equity": np.nan,
            "event_ts": at,
            "available_ts": at,
        }
    )
