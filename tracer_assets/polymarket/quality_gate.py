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

from collections.abc import Callable

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


Texts = list[tuple[np.ndarray, str | Callable[[int], str]]]


def _joined(parts: Texts, n: int, sep: str = "; ") -> np.ndarray:
    """Per row, the texts of the ``(mask, text)`` parts whose mask holds there, in order, ``sep``-joined
    ('' where none): a text is a string or a function of the row's position, called only where needed."""
    rows: list[list[str]] = [[] for _ in range(n)]
    for mask, text in parts:
        for i in np.flatnonzero(mask):
            rows[i].append(text if isinstance(text, str) else text(i))
    out = np.empty(n, dtype=object)
    out[:] = [sep.join(r) for r in rows]
    return out


def quality_gate(
    markets: pd.DataFrame, settings: PolymarketSettings, as_of: pd.Timestamp | str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split ``markets`` into (kept, rejected) as of ``as_of``.

    Both keep the input columns plus ``hours_to_end``, ``spread`` (best ask - best bid),
    ``gate_unknown`` (the checks that could not be made, comma-separated) and ``gate_status``;
    ``rejected`` adds ``reason``, every failed check in plain words.
    """
    df, reasons = _judged(markets, settings, as_of)
    rejected_mask = reasons != ""
    kept = df[~rejected_mask]
    rejected = df[rejected_mask].assign(gate_status="rejected", reason=reasons[rejected_mask])
    return kept, rejected


def _judged(
    markets: pd.DataFrame, settings: PolymarketSettings, as_of: pd.Timestamp | str
) -> tuple[pd.DataFrame, pd.Series]:
    """Every row with ``GATE_COLUMNS`` (the status before rejections), and each row's reasons to
    reject it ('' for none)."""
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

    open_ = (~closed).to_numpy(dtype=bool)
    hours = df["hours_to_end"].to_numpy(dtype=float)
    failed: Texts = [
        (open_ & end_ts.isna().to_numpy(dtype=bool), "no end time"),
        (
            open_ & (hours < settings.pm_min_hours_to_end),
            lambda i: f"ends in {hours[i]:.1f} h (minimum {settings.pm_min_hours_to_end:g} h)",
        ),
        (open_ & ~yes.between(0.0, 1.0).fillna(False).to_numpy(dtype=bool), "no yes-price in [0, 1]"),
    ]
    not_known: Texts = []
    checks = [
        ("liquidity", liquidity, liquidity < settings.pm_min_liquidity, f"< {settings.pm_min_liquidity:g}"),
        ("volume", volume, volume < settings.pm_min_volume, f"< {settings.pm_min_volume:g}"),
        ("spread", df["spread"], df["spread"] > settings.pm_max_spread, f"> {settings.pm_max_spread:g}"),
    ]
    for name, values, fails, limit in checks:
        v = values.to_numpy(dtype=float)
        missing = open_ & np.isnan(v)
        not_known.append((missing, name))
        if not settings.pm_unknown_passes:
            failed.append((missing, f"{name} unknown"))
        failing = open_ & ~np.isnan(v) & fails.to_numpy(dtype=bool)
        failed.append((failing, lambda i, v=v, n=name, lim=limit: f"{n} {v[i]:g} {lim}"))
    failed.append((open_ & (df["spread"] < 0).to_numpy(dtype=bool), "crossed book (best ask below best bid)"))
    reasons = pd.Series(_joined(failed, len(df)), index=idx, dtype=object)
    unknown = pd.Series(_joined(not_known, len(df), sep=","), index=idx, dtype=object)

    df["gate_unknown"] = unknown
    status = np.where(closed, "closed: not gated", np.where(unknown == "", "passed", "passed with unknowns"))
    df["gate_status"] = pd.Series(status, index=idx, dtype=object)
    return df, reasons


def gate_snapshot(
    markets: pd.DataFrame, settings: PolymarketSettings, as_of: pd.Timestamp | str
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Every row of ``markets`` with the gate's verdict on it, in the input order, and counts.

    Adds ``GATE_COLUMNS`` and ``gate_reason`` ('' unless rejected): nothing is dropped, so a snapshot
    keeps the rejected markets (for the record and the UI) and the closed ones (the resolutions).
    Counts: kept (open, passed), rejected, closed.
    """
    # the rows stay where they are (no split and re-join): the same board quality_gate's two parts give
    board, reasons = _judged(markets, settings, as_of)
    rejected = (reasons != "").to_numpy(dtype=bool)
    board["gate_status"] = board["gate_status"].where(~rejected, "rejected")
    board["gate_reason"] = reasons
    for col in ("gate_unknown", "gate_status", "gate_reason"):
        board[col] = board[col].astype(object).fillna("").astype(str)
    closed = int((board["gate_status"] == "closed: not gated").sum())
    counts = {"kept": int((~rejected).sum()) - closed, "rejected": int(rejected.sum()), "closed": closed}
    return board.reset_index(drop=True), counts
