"""Quality gate for discovered prediction markets: enough liquidity and volume, enough time left,
a tight enough book, and a usable yes-price. Every threshold is a setting (``pm_*``).

Unknown values: a missing (or unparseable) liquidity, volume, best bid or best ask is "unknown", not
zero. With ``pm_unknown_passes`` (the default, because the sim and some Gamma payloads carry no book)
an unknown check passes and is listed in ``gate_unknown``; without it the market is rejected for it.
A missing end time or yes-price is never unknown-passable: the market cannot be scored without them.

Closed markets are not gated: the gate judges an open book, and a closed row is the market's
resolution, which the evaluation needs whatever its book looked like on the last day.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tracer_assets.clock import utc
from tracer_assets.settings import PolymarketSettings

# Canonical column -> the names a snapshot may carry it under (snake_case first, then Gamma's).
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "liquidity": ("liquidity", "liquidity_num", "liquidityNum"),
    "volume": ("volume", "volume_num", "volumeNum"),
    "best_bid": ("best_bid", "bestBid"),
    "best_ask": ("best_ask", "bestAsk"),
}

GATE_COLUMNS = ["hours_to_end", "spread", "gate_unknown", "gate_status"]


def _numeric(markets: pd.DataFrame, canonical: str) -> pd.Series:
    for name in COLUMN_ALIASES[canonical]:
        if name in markets.columns:
            return pd.to_numeric(markets[name], errors="coerce").astype(float)
    return pd.Series(np.nan, index=markets.index, dtype=float)


def _append(reasons: pd.Series, mask: pd.Series, text: pd.Series | str, sep: str = "; ") -> pd.Series:
    """Add ``text`` to the entries of the rows in ``mask``, ``sep``-separated."""
    text = text if isinstance(text, pd.Series) else pd.Series(text, index=reasons.index)
    joined = np.where(reasons == "", text, reasons + sep + text)
    return reasons.where(~mask, pd.Series(joined, index=reasons.index))


def quality_gate(
    markets: pd.DataFrame, settings: PolymarketSettings, as_of: pd.Timestamp | str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split ``markets`` into (kept, rejected) as of ``as_of``.

    Both keep the input columns plus ``hours_to_end``, ``spread`` (best ask - best bid),
    ``gate_unknown`` (the checks that could not be made, comma-separated) and ``gate_status``;
    ``rejected`` adds ``reason``, every failed check in plain words.
    """
    as_of = utc(as_of)
    df = markets.copy()
    idx = df.index
    closed = (
        df["closed"].astype("boolean").fillna(False).astype(bool)
        if "closed" in df
        else pd.Series(False, index=idx)
    )
    end_ts = pd.to_datetime(df["end_ts"], utc=True) if "end_ts" in df else pd.Series(pd.NaT, index=idx)
    df["hours_to_end"] = ((end_ts - as_of) / pd.Timedelta(hours=1)).astype(float)
    bid, ask = _numeric(df, "best_bid"), _numeric(df, "best_ask")
    df["spread"] = ask - bid
    liquidity, volume = _numeric(df, "liquidity"), _numeric(df, "volume")
    yes = (
        pd.to_numeric(df["yes_price"], errors="coerce") if "yes_price" in df else pd.Series(np.nan, index=idx)
    )

    reasons = pd.Series("", index=idx, dtype=object)
    unknown = pd.Series("", index=idx, dtype=object)
    open_ = ~closed

    reasons = _append(reasons, open_ & end_ts.isna(), "no end time")
    short = open_ & (df["hours_to_end"] < settings.pm_min_hours_to_end)
    reasons = _append(
        reasons,
        short,
        df["hours_to_end"].map(lambda h: f"ends in {h:.1f} h (minimum {settings.pm_min_hours_to_end:g} h)"),
    )
    reasons = _append(
        reasons, open_ & ~yes.between(0.0, 1.0).fillna(False).astype(bool), "no yes-price in [0, 1]"
    )

    checks = [
        (
            "liquidity",
            liquidity,
            liquidity < settings.pm_min_liquidity,
            f"< {settings.pm_min_liquidity:g}",
        ),
        (
            "volume",
            volume,
            volume < settings.pm_min_volume,
            f"< {settings.pm_min_volume:g}",
        ),
        (
            "spread",
            df["spread"],
            df["spread"] > settings.pm_max_spread,
            f"> {settings.pm_max_spread:g}",
        ),
    ]
    for name, values, fails, limit in checks:
        missing = open_ & values.isna()
        unknown = _append(unknown, missing, name, sep=",")
        if not settings.pm_unknown_passes:
            reasons = _append(reasons, missing, f"{name} unknown")
        failing = open_ & values.notna() & fails
        reasons = _append(reasons, failing, values.map(lambda v, n=name, lim=limit: f"{n} {v:g} {lim}"))
    crossed = open_ & (df["spread"] < 0)
    reasons = _append(reasons, crossed, "crossed book (best ask below best bid)")

    df["gate_unknown"] = unknown
    status = np.where(closed, "closed: not gated", np.where(unknown == "", "passed", "passed with unknowns"))
    df["gate_status"] = pd.Series(status, index=idx, dtype=object)
    rejected_mask = reasons != ""
    kept = df[~rejected_mask]
    rejected = df[rejected_mask].assign(gate_status="rejected", reason=reasons[rejected_mask])
    return kept, rejected


def gate_snapshot(
    markets: pd.DataFrame, settings: PolymarketSettings, as_of: pd.Timestamp | str
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Every row of ``markets`` with the gate's verdict on it, in the input order, and counts.

    Adds ``GATE_COLUMNS`` and ``gate_reason`` ('' unless rejected): nothing is dropped, so a snapshot
    keeps the rejected markets (for the record and the UI) and the closed ones (the resolutions).
    Counts: kept (open, passed), rejected, closed.
    """
    kept, rejected = quality_gate(markets, settings, as_of)
    board = pd.concat([kept.assign(gate_reason=""), rejected.rename(columns={"reason": "gate_reason"})])
    board = board.loc[markets.index] if len(board) else board.assign(gate_reason=pd.Series(dtype=object))
    for col in ("gate_unknown", "gate_status", "gate_reason"):
        board[col] = board[col].astype(object).fillna("").astype(str)
    closed = int((board["gate_status"] == "closed: not gated").sum()) if len(board) else 0
    counts = {"kept": len(kept) - closed, "rejected": len(rejected), "closed": closed}
    return board.reset_index(drop=True), counts
