"""Invariants of a ledger, asserted by the tests and the year benchmark (same code, same answers)."""

from __future__ import annotations

import pandas as pd

from tracer_assets.settings import RiskSettings

TOLERANCE = 1e-9


def ledger_violations(frames: dict[str, pd.DataFrame], risk: RiskSettings) -> dict[str, int]:
    """Counts of rows breaking a cap, and blocked orders with no ``risk_events`` row."""
    port, pos = frames["portfolio"], frames["positions"]
    orders, events = frames["orders"], frames["risk_events"]
    gross = port["gross_exposure"] / port["equity"]
    net = (port["net_exposure"] / port["equity"]).abs()
    joined = pos.merge(port[["ts", "equity"]], on="ts", how="left")
    per_asset = joined["market_value"].abs() / joined["equity"]
    cls_gross = (
        joined.assign(v=joined["market_value"].abs()).groupby(["ts", "asset_class"])["v"].sum().reset_index()
    )
    cls_gross = cls_gross.merge(port[["ts", "equity"]], on="ts")
    class_caps = (
        cls_gross["asset_class"].map(risk.risk_max_class_exposure).fillna(risk.risk_max_gross_exposure)
    )
    blocked = orders[orders["status"] == "blocked"]
    explained = set(events["signal_id"].dropna()) if len(events) else set()
    return {
        "gross_over_cap": int((gross > risk.risk_max_gross_exposure + TOLERANCE).sum()),
        "net_over_cap": int((net > risk.risk_max_net_exposure + TOLERANCE).sum()),
        "position_over_cap": int((per_asset > risk.risk_max_position + TOLERANCE).sum()),
        "class_over_cap": int((cls_gross["v"] / cls_gross["equity"] > class_caps + TOLERANCE).sum()),
        "blocked_without_event": int((~blocked["signal_id"].isin(explained)).sum()),
        "missing_position_marks": int(joined["equity"].isna().sum()),
    }
