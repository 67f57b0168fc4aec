"""Cooldown: no second signal on the same symbol and direction within ``cooldown_hours``.

State comes from signals already in the lake (earlier partitions and runs), read point-in-time, and
from the signals this call emits as it walks forward in time. An opposite-direction signal inside
the window is a reversal of the last call and passes only when ``cooldown_allow_reversal`` is set.
The walk is sequential by nature, so it loops, but only over candidates that passed every other check.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class CooldownDecision:
    passed: bool
    last_same_ts: pd.Timestamp | None
    last_opposite_ts: pd.Timestamp | None
    flip: bool


def prior_state(
    prior_signals: pd.DataFrame | None, first_decision_ts: pd.Timestamp, own_ids: set[str] | None = None
) -> dict[tuple[str, str], pd.Timestamp]:
    """Last decision time per (symbol, direction) among prior signals known before ``first_decision_ts``.

    Prior signals at or after the first decision time of this call are ignored: this call recomputes
    them, so re-running a partition gives the same rows (idempotent) instead of blocking itself.
    """
    if prior_signals is None or prior_signals.empty:
        return {}
    missing = [c for c in ("symbol", "direction", "decision_ts") if c not in prior_signals.columns]
    if missing:
        raise ValueError(f"prior_signals frame is missing columns {missing}")
    p = prior_signals
    known = pd.to_datetime(p["available_ts"] if "available_ts" in p.columns else p["decision_ts"], utc=True)
    decided = pd.to_datetime(p["decision_ts"], utc=True)
    keep = (decided < first_decision_ts) & (known <= first_decision_ts)
    if own_ids and "signal_id" in p.columns:
        keep &= ~p["signal_id"].isin(own_ids)
    last = p[keep].assign(decision_ts=decided[keep]).groupby(["symbol", "direction"])["decision_ts"].max()
    return {key: ts for key, ts in last.items()}


def apply_cooldown(
    candidates: pd.DataFrame,
    state: dict[tuple[str, str], pd.Timestamp],
    cooldown_hours: float,
    allow_reversal: bool,
) -> dict[object, CooldownDecision]:
    """Walk candidates in time order; return a decision per candidate index. ``state`` is updated."""
    window = pd.Timedelta(hours=cooldown_hours)
    opposite = {"long": "short", "short": "long"}
    out: dict[object, CooldownDecision] = {}
    ordered = candidates.sort_values(["decision_ts", "symbol", "direction"])
    for idx, symbol, direction, ts in zip(
        ordered.index, ordered["symbol"], ordered["direction"], ordered["decision_ts"], strict=True
    ):
        same = state.get((symbol, direction))
        other = state.get((symbol, opposite[direction]))
        same_hot = same is not None and ts - same < window
        other_hot = other is not None and ts - other < window
        # a same-direction call inside the window always blocks, even after a flip in between
        passed = not same_hot and (not other_hot or allow_reversal)
        # report only calls inside the window: older ones don't matter, and reporting them would make
        # a day computed alone (state read from the lake) differ from the same day inside a range
        out[idx] = CooldownDecision(
            passed, same if same_hot else None, other if other_hot else None, bool(other_hot)
        )
        if passed:
            state[(symbol, direction)] = ts
    return out
