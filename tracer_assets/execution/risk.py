"""Pre-trade risk checks: caps reduce an order to fit, other rules block it; each decision is a row.

Exposures are fractions of equity over the book's signed market values plus orders still waiting
for a fill. New orders are sized to ``risk_cap_headroom`` of each cap, and a held position that
drifts above ``risk_drift_trigger`` of a cap is trimmed back (``drift_trims``), so the ledger stays
under every cap. Kill switches (drawdown, stale data, reconciliation, manual) are decided by the
caller and passed in as ``kill``; they block every order, exits included.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tracer_assets.settings import RiskSettings

BLOCKED, REDUCED, HALTED = "blocked", "reduced", "halted"


def risk_event(ts, rule: str, action: str, detail: str, symbol: str = "", signal_id: str = "") -> dict:
    ts = pd.Timestamp(ts)
    return {
        "ts": ts,
        "rule": rule,
        "symbol": symbol,
        "signal_id": signal_id,
        "action": action,
        "detail": detail,
        "event_ts": ts,
        "available_ts": ts,
    }


@dataclass
class Book:
    """What the risk engine reads: equity and signed exposure per symbol (held plus pending)."""

    equity: float
    exposure: dict[str, float]
    asset_class: dict[str, str]

    def gross(self, cls: str | None = None) -> float:
        return sum(abs(v) for s, v in self.exposure.items() if cls is None or self.asset_class.get(s) == cls)

    def net(self) -> float:
        return sum(self.exposure.values())

    def open_symbols(self) -> set[str]:
        return {s for s, v in self.exposure.items() if abs(v) > 0}


@dataclass
class Decision:
    notional: float  # signed; 0 when blocked
    events: list[dict] = field(default_factory=list)


@dataclass
class MarketCheck:
    """The signal bar's anomaly inputs and age (from bars known at the decision)."""

    gap: float = 0.0
    volume_ratio: float = 0.0
    data_age_hours: float = 0.0


def check_entry(
    risk: RiskSettings,
    *,
    ts: pd.Timestamp,
    symbol: str,
    signal_id: str,
    notional: float,
    book: Book,
    orders_last_hour: int,
    day_return: float,
    market: MarketCheck,
) -> Decision:
    """Check one opening order of signed ``notional``; reduce it to fit the caps or block it."""

    def block(rule: str, detail: str) -> Decision:
        return Decision(0.0, [risk_event(ts, rule, BLOCKED, detail, symbol, signal_id)])

    if not np.isfinite(notional) or notional == 0 or book.equity <= 0:
        return block("invalid_order", f"notional={notional!r} equity={book.equity!r}")
    if market.gap > risk.risk_max_price_gap:
        return block("price_gap", f"gap={market.gap:.4f} > {risk.risk_max_price_gap}")
    if market.volume_ratio > risk.risk_volume_spike_ratio:
        return block(
            "volume_spike", f"volume/median={market.volume_ratio:.2f} > {risk.risk_volume_spike_ratio}"
        )
    if day_return <= -risk.risk_daily_loss_limit:
        return block("daily_loss", f"day return {day_return:.4f} <= -{risk.risk_daily_loss_limit}")
    if orders_last_hour >= risk.risk_max_orders_per_hour:
        return block("order_rate", f"{orders_last_hour} orders in the last hour")
    held = book.open_symbols()
    if symbol not in held and len(held) >= risk.risk_max_open_positions:
        return block("max_open_positions", f"{len(held)} open >= {risk.risk_max_open_positions}")

    equity, room = book.equity, risk.risk_cap_headroom
    side = 1.0 if notional > 0 else -1.0
    current = book.exposure.get(symbol, 0.0)
    cls = book.asset_class.get(symbol, "")
    net = book.net()
    limits = {
        "position_cap": room * risk.risk_max_position * equity - abs(current) * (side * current >= 0),
        "class_cap": room * risk.risk_max_class_exposure.get(cls, risk.risk_max_gross_exposure) * equity
        - book.gross(cls),
        "gross_cap": room * risk.risk_max_gross_exposure * equity - book.gross(),
        "net_cap": room * risk.risk_max_net_exposure * equity - side * net,
    }
    size, events = abs(notional), []
    for rule, limit in limits.items():
        if size > limit:
            if limit < risk.risk_min_order_frac * equity:
                return block(rule, f"room {max(limit, 0.0):.2f} below the smallest order")
            events.append(
                risk_event(ts, rule, REDUCED, f"notional {size:.2f} -> {limit:.2f}", symbol, signal_id)
            )
            size = limit
    return Decision(side * size, events)


def drift_trims(risk: RiskSettings, ts: pd.Timestamp, book: Book) -> tuple[dict[str, float], list[dict]]:
    """Signed notionals that bring drifted positions back to ``risk_cap_headroom`` of their caps."""
    equity = book.equity
    if equity <= 0:
        return {}, []
    trigger, room = risk.risk_drift_trigger, risk.risk_cap_headroom
    factor = dict.fromkeys(book.exposure, 1.0)
    rules: dict[str, list[str]] = {s: [] for s in book.exposure}

    def scale(symbols, used: float, cap: float, rule: str) -> None:
        if used > trigger * cap * equity:
            f = room * cap * equity / used
            for s in symbols:
                if f < factor[s]:
                    factor[s] = f
                rules[s].append(rule)

    for s, v in book.exposure.items():
        scale([s], abs(v), risk.risk_max_position, "position_cap_drift")
    for cls in set(book.asset_class.get(s, "") for s in book.exposure):
        members = [s for s in book.exposure if book.asset_class.get(s, "") == cls]
        cap = risk.risk_max_class_exposure.get(cls, risk.risk_max_gross_exposure)
        scale(members, book.gross(cls), cap, "class_cap_drift")
    scale(list(book.exposure), book.gross(), risk.risk_max_gross_exposure, "gross_cap_drift")
    net = book.net()
    scale(
        [s for s, v in book.exposure.items() if v * net > 0],
        abs(net),
        risk.risk_max_net_exposure,
        "net_cap_drift",
    )
    trims, events = {}, []
    for s, f in factor.items():
        if f < 1.0:
            trims[s] = book.exposure[s] * (f - 1.0)
            detail = f"{','.join(rules[s])}: exposure {book.exposure[s]:.2f} scaled by {f:.4f}"
            events.append(risk_event(ts, rules[s][0], REDUCED, detail, s, ""))
    return trims, events
