"""One entry point for the signals rules: divergence -> confirmation -> cooldown -> sizing ->
calibrated probability -> rationale and evidence.

Every feature row's ``available_ts`` (bar close) inside [start, end) is a decision time. Candidates
that fail a check are not lost: they come back in ``held_back`` with their reasons.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from tracer_assets.lake import new_id
from tracer_assets.settings import TracerSettings
from tracer_assets.signals.calibration import internal_probabilities, prepare_outcomes
from tracer_assets.signals.confirmation import REASONS, Degraded, confirm
from tracer_assets.signals.cooldown_filter import apply_cooldown, prior_state
from tracer_assets.signals.divergence import decision_frame, divergence_candidates
from tracer_assets.signals.evidence import checks, evidence_lines, rationale, to_json
from tracer_assets.signals.sizing import position_sizes, size_bucket

SIGNAL_COLUMNS = [
    "signal_id",
    "symbol",
    "asset_class",
    "decision_ts",
    "direction",
    "strength",
    "internal_prob",
    "horizon_hours",
    "rationale",
    "pressure",
    "price_move_z",
    "realized_vol",
    "volume_z",
    "trend_1h",
    "trend_1d",
    "reversal",
    "size",
    "size_bucket",
    "evidence",
    "checks",
    "calibration_method",
    "event_ts",
    "available_ts",
]
HELD_BACK_COLUMNS = [
    "symbol",
    "asset_class",
    "decision_ts",
    "direction",
    "strength",
    "pressure",
    "price_move_z",
    "reason",
    "reasons",
    "event_ts",
    "available_ts",
]


class SignalInputs(NamedTuple):
    """What ``compute_signals`` reads, in its argument order (``compute_signals(*inputs, settings)``)."""

    features: pd.DataFrame
    pressure: pd.DataFrame
    prior_signals: pd.DataFrame | None
    outcomes: pd.DataFrame | None


@dataclass(frozen=True)
class SignalsResult:
    signals: pd.DataFrame
    held_back: pd.DataFrame
    n_decisions: int = 0

    @property
    def held_back_counts(self) -> dict[str, int]:
        """Held-back candidates by primary reason (every reason listed, zero included)."""
        counts = self.held_back["reason"].value_counts() if len(self.held_back) else pd.Series(dtype=int)
        return {r: int(counts.get(r, 0)) for r in REASONS}


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


def compute_signals(
    features: pd.DataFrame,
    pressure: pd.DataFrame,
    prior_signals: pd.DataFrame | None,
    outcomes: pd.DataFrame | None,
    settings: TracerSettings,
    degraded: Degraded = None,
    *,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    calendar: str = "XNYS",
) -> SignalsResult:
    """Signals for the decision times (feature ``available_ts``) in [start, end).

    ``features`` should reach back before ``start`` far enough for the price window and the daily
    trend; ``prior_signals`` are signals already in the lake (cooldown state; also a source of
    strength for ``outcomes`` that only carry a signal id); ``outcomes`` are resolved signal outcomes
    (decision_ts, resolved_ts, strength or raw_score, outcome 0/1); ``degraded`` is a set of flags
    (symbol, asset class or provider) or a frame of flags with optional [start_ts, end_ts).
    """
    s = settings
    if features.empty:
        return SignalsResult(_empty(SIGNAL_COLUMNS), _empty(HELD_BACK_COLUMNS), 0)
    decisions = decision_frame(features, pressure, s, start, end, calendar)
    n_decisions = len(decisions)
    cands = divergence_candidates(decisions, s)
    symbols = set(features["symbol"].astype(str)) | set(pressure["symbol"].astype(str))
    cands = confirm(cands, s, degraded, symbols, calendar)
    if cands.empty:
        return SignalsResult(_empty(SIGNAL_COLUMNS), _empty(HELD_BACK_COLUMNS), n_decisions)

    cands["direction"] = cands["direction"].astype(object)
    ready = cands[cands["reasons"].map(len) == 0]
    first_ts = decisions["decision_ts"].min()
    own_ids = (
        {
            new_id("signal", sym, ts.isoformat(), d)
            for sym, ts, d in zip(ready["symbol"], ready["decision_ts"], ready["direction"], strict=True)
        }
        if prior_signals is not None and len(prior_signals)
        else set()
    )
    state = prior_state(prior_signals, first_ts, own_ids)
    cooled = apply_cooldown(ready, state, s.cooldown_hours, s.cooldown_allow_reversal)
    for col, attr in (
        ("cooldown_last_same_ts", "last_same_ts"),
        ("cooldown_last_opposite_ts", "last_opposite_ts"),
    ):
        cands[col] = pd.Series({i: getattr(d, attr) for i, d in cooled.items()}, dtype=object)
    cands["flip"] = pd.Series({i: d.flip for i, d in cooled.items()}, dtype=object).reindex(cands.index)
    cands["flip"] = cands["flip"].fillna(False).astype(bool)
    blocked = [i for i, d in cooled.items() if not d.passed]
    for i in blocked:
        cands.at[i, "reasons"] = ["cooldown"]

    held = cands[cands["reasons"].map(len) > 0]
    passed = cands[cands["reasons"].map(len) == 0].copy()
    return SignalsResult(
        _finish_signals(passed, outcomes, prior_signals, s), _held_back_frame(held), n_decisions
    )


def _finish_signals(
    passed: pd.DataFrame, outcomes: pd.DataFrame | None, prior_signals: pd.DataFrame | None, s: TracerSettings
) -> pd.DataFrame:
    if passed.empty:
        return _empty(SIGNAL_COLUMNS)
    passed = passed.join(position_sizes(passed, s))
    passed["size_bucket"] = size_bucket(passed["size"], s)
    probs, infos = internal_probabilities(passed, prepare_outcomes(outcomes, prior_signals), s)
    passed["internal_prob"] = probs
    passed["calibration"] = infos
    passed["calibration_method"] = [info.method for info in infos]
    passed["horizon_hours"] = int(s.signal_horizon_hours)
    passed["signal_id"] = [
        new_id("signal", sym, ts.isoformat(), d)
        for sym, ts, d in zip(passed["symbol"], passed["decision_ts"], passed["direction"], strict=True)
    ]
    check_json, rationale_json, evidence_json = [], [], []
    for row in passed.to_dict("records"):
        row["checks"] = checks(row, s)
        check_json.append(to_json(row["checks"], cleaned=True))
        rationale_json.append(to_json(rationale(row, s), cleaned=True))
        evidence_json.append(to_json(evidence_lines(row, s), cleaned=True))
    passed["checks"] = check_json
    passed["rationale"] = rationale_json
    passed["evidence"] = evidence_json
    passed["reversal"] = passed["reversal"].astype(bool)
    passed["event_ts"] = passed["decision_ts"]
    passed["available_ts"] = passed["decision_ts"]
    out = passed[SIGNAL_COLUMNS].sort_values(["decision_ts", "symbol"]).reset_index(drop=True)
    return out.astype({"strength": float, "internal_prob": float, "size": float, "horizon_hours": np.int64})


def _held_back_frame(held: pd.DataFrame) -> pd.DataFrame:
    if held.empty:
        return _empty(HELD_BACK_COLUMNS)
    h = held.copy()
    h["reason"] = [next(r for r in REASONS if r in reasons) for reasons in h["reasons"]]
    h["reasons"] = [",".join(r) for r in h["reasons"]]
    h["event_ts"] = h["decision_ts"]
    h["available_ts"] = h["decision_ts"]
    return h[HELD_BACK_COLUMNS].sort_values(["decision_ts", "symbol"]).reset_index(drop=True)
