"""Governed thresholds: versioned, point-in-time parameter sets for the signal chain.

The ``governed_params`` table holds one row per adoption: ``version`` (a content hash of the params),
``params`` (JSON), ``action`` (``adopt`` or ``rollback``), who, why, and ``available_ts`` (from when it
is in force). The version in force at decision time t is the newest row with ``available_ts <= t``; with
no row, the settings' defaults apply. A rollback is a new row restoring an earlier version's params, so
history is never rewritten.

A "stand aside" version (params with ``"stand_aside": true``, beside the fold winner's thresholds that
failed the in-sample hurdle) means: trade nothing while it is in force. The signals stage computes the
candidates with its thresholds but emits none (they go to ``signals_held_back`` as ``stand_aside``);
rolling back to an ordinary version restores trading.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

import pandas as pd

STAND_ASIDE = "stand_aside"
GOVERNED_COLUMNS = [
    "version",
    "params",
    "action",
    "source",
    "actor",
    "reason",
    "event_ts",
    "available_ts",
]


def stand_aside_params(winner: Mapping[str, object]) -> dict[str, object]:
    """The parameter set of a version that stands aside (the winner's thresholds kept for the record)."""
    return {**winner, STAND_ASIDE: True}


def is_stand_aside(params: Mapping[str, object]) -> bool:
    """True for a version under which nothing is traded."""
    return bool(params.get(STAND_ASIDE, False))


def threshold_params(params: Mapping[str, object]) -> dict[str, object]:
    """The settings a version sets (its stand-aside flag removed)."""
    return {k: v for k, v in params.items() if k != STAND_ASIDE}


def params_version(params: Mapping[str, object]) -> str:
    """A short content hash of a parameter set (same params, same version)."""
    blob = json.dumps(dict(sorted(params.items())), sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def governed_row(
    params: Mapping[str, object], *, action: str, source: str, actor: str, reason: str, ts: pd.Timestamp
) -> pd.DataFrame:
    """One ``governed_params`` row in force from ``ts``."""
    if action not in ("adopt", "rollback"):
        raise ValueError(f"unknown action {action!r}")
    ts = pd.Timestamp(ts).tz_convert("UTC")
    return pd.DataFrame(
        [
            {
                "version": params_version(params),
                "params": json.dumps(dict(sorted(params.items())), sort_keys=True, default=str),
                "action": action,
                "source": source,
                "actor": actor,
                "reason": reason,
                "event_ts": ts,
                "available_ts": ts,
            }
        ],
        columns=GOVERNED_COLUMNS,
    )


def in_force(governed: pd.DataFrame, t: pd.Timestamp) -> tuple[str | None, dict]:
    """(version, params) in force at ``t``; (None, {}) when no version was adopted by then."""
    if governed is None or governed.empty:
        return None, {}
    known = governed[pd.to_datetime(governed["available_ts"], utc=True) <= pd.Timestamp(t)]
    if known.empty:
        return None, {}
    row = known.sort_values(["available_ts", "version"], kind="stable").iloc[-1]
    return str(row["version"]), json.loads(row["params"])


def version_segments(
    governed: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp
) -> list[tuple[pd.Timestamp, pd.Timestamp, str | None, dict]]:
    """[start, end) cut where the version in force changes: (seg_start, seg_end, version, params)."""
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    cuts = [start]
    if governed is not None and len(governed):
        times = pd.to_datetime(governed["available_ts"], utc=True)
        cuts += sorted({t for t in times if start < t < end})
    cuts.append(end)
    segments = []
    for lo, hi in zip(cuts[:-1], cuts[1:], strict=True):
        version, params = in_force(governed, lo)
        if segments and segments[-1][2] == version:
            segments[-1] = (segments[-1][0], hi, version, params)
        else:
            segments.append((lo, hi, version, params))
    return segments


def rollback_row(
    governed: pd.DataFrame, version: str, *, actor: str, reason: str, ts: pd.Timestamp
) -> pd.DataFrame:
    """A row that puts ``version``'s params back in force from ``ts``."""
    match = governed[governed["version"] == version] if governed is not None and len(governed) else None
    if match is None or match.empty:
        known = ", ".join(sorted(set(governed["version"]))) if governed is not None and len(governed) else ""
        raise ValueError(f"no governed version {version!r} (known: {known or 'none'})")
    params = json.loads(match.iloc[0]["params"])
    return governed_row(
        params, action="rollback", source=f"rollback of {version}", actor=actor, reason=reason, ts=ts
    )


FOLD_EVIDENCE = [
    "fold_id",
    "params",
    "is_objective",
    "is_deflated_sharpe_prob",
    "oos_objective",
    "is_minus_oos",
    "n_oos_trades",
    "n_configs_tried",
]


def fold_evidence(folds: pd.DataFrame) -> pd.DataFrame:
    """Each fold's choice beside its in- and out-of-sample evidence (``FOLD_EVIDENCE``); a column that
    older rows lack (written before it existed) is shown empty."""
    out = folds.assign(is_minus_oos=folds["is_objective"] - folds["oos_objective"])
    return out.reindex(columns=FOLD_EVIDENCE)


def adoption_rows(folds: pd.DataFrame, run_id: str) -> dict[str, pd.DataFrame]:
    """``governed_params`` rows adopting each fold's choice from its out-of-sample start (chosen on data
    before it: point-in-time), by day key. A fold that stands aside (its winner below the in-sample DSR
    hurdle, or no winner) adopts a stand-aside version, so the live signals stand aside with it."""
    out: dict[str, pd.DataFrame] = {}
    for row in folds.itertuples(index=False):
        start = pd.Timestamp(row.oos_start).tz_convert("UTC")
        params = json.loads(row.params)
        evidence = (
            f"in-sample objective {row.is_objective:.3f}, in-sample DSR {row.is_deflated_sharpe_prob:.3f}, "
            f"best of {row.n_configs_tried} configurations"
        )
        if not threshold_params(params):
            evidence = (
                f"none of {row.n_configs_tried} configurations reached walkforward_min_trades in sample"
            )
        out[f"{start:%Y-%m-%d}"] = governed_row(
            params,
            action="adopt",
            source=f"walkforward {row.fold_id} ({run_id})",
            actor="walkforward",
            reason=f"standing aside: {evidence}" if is_stand_aside(params) else evidence,
            ts=start,
        )
    return out
