"""Confirmation checks on divergence candidates: open market, fresh and healthy inputs, volume
participation and trend alignment. Each check is a vectorised column; the reasons a candidate is
held back are listed in a fixed order so counts are stable.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from tracer_assets.settings import SignalSettings
from tracer_assets.universe import is_market_open

# held-back reasons, in the order a candidate's first (primary) reason is chosen
REASONS = (
    "insufficient_history",
    "closed_market",
    "degraded",
    "stale",
    "participation",
    "alignment",
    "cooldown",
    "stand_aside",  # passed every check, but the governed version in force trades nothing
)
ASSET_CLASSES = ("crypto", "stock")
Degraded = Iterable[str] | pd.DataFrame | None


def market_open_mask(candidates: pd.DataFrame, calendar: str = "XNYS") -> pd.Series:
    """True where the symbol's market is open at the decision time (crypto always).

    A stock bar closing at the session close is decided once the market has closed, so it is held
    back; its information is read again by the next session's first decision.
    """
    out = pd.Series(True, index=candidates.index)
    stock = candidates["asset_class"] == "stock"
    if stock.any():
        times = candidates.loc[stock, "decision_ts"]
        is_open = {t: is_market_open("stock", t, calendar) for t in times.unique()}
        out[stock] = times.map(is_open).astype(bool)
    return out


def _flag_scope(flag: str, symbols: set[str]) -> tuple[str, str]:
    """('symbol', X), ('asset_class', X) or ('provider', X): a flag's reach.

    Explicit 'symbol:X', 'asset_class:X', 'provider:X' forms win; a bare flag that names a symbol or
    an asset class is scoped to it; anything else names a provider and reaches every symbol.
    """
    kind, sep, value = flag.partition(":")
    if sep and kind in ("symbol", "asset_class", "provider"):
        return kind, value
    if flag in ASSET_CLASSES:
        return "asset_class", flag
    if flag in symbols:
        return "symbol", flag
    return "provider", flag


def flags_reaching(candidates: pd.DataFrame, degraded: Degraded, symbols: set[str]) -> pd.Series:
    """The degraded flags reaching each candidate, joined by ', ' ('' when healthy).

    ``degraded`` is a set of flags (see ``_flag_scope``) applying to every decision time, or a frame
    with a ``flag`` column and optional ``start_ts``/``end_ts`` limiting each flag to [start, end).
    """
    out = pd.Series("", index=candidates.index, dtype=object)
    if degraded is None or candidates.empty:
        return out
    if isinstance(degraded, pd.DataFrame):
        if "flag" not in degraded.columns:
            raise ValueError("degraded frame needs a 'flag' column")
        rows = degraded.to_dict("records")
    else:
        rows = [{"flag": f} for f in degraded]
    for row in rows:
        kind, value = _flag_scope(str(row["flag"]), symbols)
        hit = pd.Series(True, index=candidates.index)
        if kind == "symbol":
            hit &= candidates["symbol"] == value
        elif kind == "asset_class":
            hit &= candidates["asset_class"] == value
        start, end = row.get("start_ts"), row.get("end_ts")
        if start is not None and not pd.isna(start):
            hit &= candidates["decision_ts"] >= pd.Timestamp(start)
        if end is not None and not pd.isna(end):
            hit &= candidates["decision_ts"] < pd.Timestamp(end)
        label = str(row["flag"])
        out[hit] = np.where(out[hit] == "", label, out[hit] + ", " + label)
    return out


def confirm(
    candidates: pd.DataFrame,
    settings: SignalSettings,
    degraded: Degraded = None,
    symbols: set[str] | None = None,
    calendar: str = "XNYS",
) -> pd.DataFrame:
    """Candidates with one column per check, ``reversal``, and ``reasons`` (list of failed checks)."""
    s = settings
    c = candidates.copy()
    if c.empty:
        for col in ("market_open", "stale_bar", "stale_pressure", "stale_narrative", "participation"):
            c[col] = pd.Series(dtype=bool)
        c["reasons"] = pd.Series(dtype=object)
        return c
    c["market_open"] = market_open_mask(c, calendar)
    c["degraded_flags"] = flags_reaching(c, degraded, symbols or set(c["symbol"]))
    c["stale_bar"] = c["bar_gap_hours"] > s.signal_max_bar_gap_hours
    c["stale_pressure"] = c["pressure_age_hours"] > s.signal_max_pressure_age_hours
    c["stale_narrative"] = c["narrative_age_hours"] > s.signal_max_narrative_age_hours
    c["participation"] = c["volume_z"] >= s.signal_min_volume_z
    against = -c["sign"]
    c["contradicted"] = (c["trend_1h"] == against) & (c["trend_1d"] == against)
    c["reversal"] = (
        c["contradicted"] & s.signal_allow_reversal & (c["strength"] >= s.signal_reversal_min_strength)
    )
    failed = {
        "insufficient_history": ~c["measurable"],
        "closed_market": ~c["market_open"],
        "degraded": c["degraded_flags"] != "",
        "stale": c["stale_bar"] | c["stale_pressure"] | c["stale_narrative"],
        "participation": ~c["participation"],
        "alignment": c["contradicted"] & ~c["reversal"],
    }
    matrix = np.column_stack([failed[r].to_numpy(dtype=bool) for r in failed])
    names = np.array(list(failed), dtype=object)
    c["reasons"] = [names[row].tolist() for row in matrix]
    return c
