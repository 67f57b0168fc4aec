"""The execution ledger's columns and ids (tables ``orders``, ``fills``, ``positions``,
``portfolio``, ``risk_events``; contracts in ``tracer_assets/lake/schemas.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from tracer_assets.lake.schemas import contract_columns
from tracer_assets.lake.store import new_id

LEDGER_TABLES = ("orders", "fills", "positions", "portfolio", "risk_events")
# extra columns beyond the contract, kept for audit and reporting
EXTRA = {
    "orders": ["leg", "filled_ts"],
    "fills": ["notional", "fill_id"],
    "positions": ["signal_id", "asset_class"],
    "portfolio": ["peak_equity"],
    "risk_events": [],
}


def client_order_id(signal_id: str, leg: str) -> str:
    """Deterministic per signal and leg (entry, exit, trim@ts): a retry or restart reuses it, so the
    broker refuses a second copy (Alpaca: 422, at most 128 characters)."""
    return f"tr-{new_id('client_order', signal_id, leg)}-{leg.split('@')[0]}"


def ledger_frame(table: str, rows: list[dict]) -> pd.DataFrame:
    columns = contract_columns(table) + EXTRA[table]
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    frame = pd.DataFrame(rows).reindex(columns=columns)
    for col in frame.columns:
        if col.endswith("_ts"):  # all-NaT columns (an unfilled order's filled_ts) must still be UTC
            frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


@dataclass
class Ledger:
    """Rows of the five tables produced by one run."""

    orders: list[dict] = field(default_factory=list)
    fills: list[dict] = field(default_factory=list)
    positions: list[dict] = field(default_factory=list)
    portfolio: list[dict] = field(default_factory=list)
    risk_events: list[dict] = field(default_factory=list)
    order_index: dict[str, dict] = field(default_factory=dict)  # order_id -> its row, for status updates

    def frames(self) -> dict[str, pd.DataFrame]:
        return {t: ledger_frame(t, getattr(self, t)) for t in LEDGER_TABLES}
