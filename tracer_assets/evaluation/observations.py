"""Resolved predictions as evaluation observations: signals at their horizon, markets at resolution.

``predicted_prob`` is the probability given for the predicted event and ``outcome`` is 1 when that
event happened. A signal predicts "price moves in my direction over the horizon"; a market question
predicts "resolves Yes", once by the market's own price and once by our ``internal_prob``, each frozen
at every lead time in the settings (``evaluation.lead_time``). Prices used to resolve signals are the
last closes known at the resolution time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tracer_assets.evaluation.lead_time import freeze_at_leads
from tracer_assets.lake import new_id
from tracer_assets.polymarket.internal_prob import MODEL_ID

OBSERVATION_COLUMNS = [
    "kind",
    "observation_id",
    "cohort",
    "predictor",
    "question_id",
    "symbol",
    "asset_class",
    "direction",
    "strength",
    "source_model",
    "lead_hours",
    "decision_ts",
    "resolved_ts",
    "predicted_prob",
    "outcome",
    "event_ts",
    "available_ts",
]


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in OBSERVATION_COLUMNS})


def _close_known_at(bars: pd.DataFrame, queries: pd.DataFrame, time_col: str) -> pd.DataFrame:
    """Last close with available_ts <= queries[time_col], per symbol, and that bar's available_ts
    (NaN/NaT when none), indexed like ``queries``."""
    # merge_asof needs one resolution on both sides; the lake returns us, pandas arithmetic ns
    # and one dtype for the "by" key (frames from the lake carry str, fresh ones object)
    b = bars[["symbol", "available_ts", "close"]].astype(
        {"available_ts": "datetime64[ns, UTC]", "symbol": str}
    )
    b = b.sort_values("available_ts")
    q = (
        queries[["symbol", time_col]]
        .astype({time_col: "datetime64[ns, UTC]", "symbol": str})
        .reset_index()
        .sort_values(time_col)
    )
    m = pd.merge_asof(q, b, left_on=time_col, right_on="available_ts", by="symbol", direction="backward")
    return m.set_index("index")[["close", "available_ts"]].reindex(queries.index)


def signal_observations(
    signals: pd.DataFrame, bars: pd.DataFrame, source_model: str = "", as_of: pd.Timestamp | None = None
) -> pd.DataFrame:
    """One observation per signal whose horizon has passed and whose resolution price is known.

    ``resolved_ts = decision_ts + horizon``; the resolving close is the last one available by then,
    and it must come from a bar that closed after the decision (else the outcome is unknown).

    ``as_of``: the time up to which ``bars`` are complete (a run's window end, clipped to now). A horizon
    passed by then is resolved even when the symbol has no bar after it, as for a stock signal whose
    horizon ends on a weekend or holiday: no bar can close before it any more, so its last close is
    final. Without ``as_of`` a horizon counts as passed only once a later bar of the symbol is there,
    which a day-by-day run over a closed market never sees.
    """
    if signals.empty or bars.empty:
        return _empty()
    s = signals.copy()
    s["decision_ts"] = pd.to_datetime(s["decision_ts"], utc=True)
    s["resolved_ts"] = s["decision_ts"] + pd.to_timedelta(s["horizon_hours"].astype(int), unit="h")
    s["entry"] = _close_known_at(bars, s, "decision_ts")["close"]
    exit_ = _close_known_at(bars, s, "resolved_ts")
    s["exit"], s["exit_bar_ts"] = exit_["close"], exit_["available_ts"]
    if as_of is None:
        last_bar = bars.groupby("symbol")["available_ts"].max()
        known = s["resolved_ts"] <= s["symbol"].map(last_bar)
    else:
        known = s["resolved_ts"] <= pd.Timestamp(as_of)
    # no bar closed between decision and horizon (e.g. a stock over a weekend): no outcome to score
    moved = s["exit_bar_ts"] > s["decision_ts"].astype("datetime64[ns, UTC]")
    s = s[known & s["entry"].notna() & s["exit"].notna() & moved.fillna(False)]
    if s.empty:
        return _empty()
    sign = np.where(s["direction"] == "long", 1.0, -1.0)
    out = pd.DataFrame(
        {
            "kind": "signal",
            "observation_id": [new_id("obs", "signal", i) for i in s["signal_id"]],
            "cohort": s["asset_class"].astype(str) + ":" + s["direction"].astype(str),
            "predictor": "internal",
            "question_id": s["signal_id"].values,
            "symbol": s["symbol"].values,
            "asset_class": s["asset_class"].values,
            "direction": s["direction"].values,
            "strength": s["strength"].astype(float).values,
            "source_model": source_model,
            "lead_hours": s["horizon_hours"].astype(int).values,
            "decision_ts": s["decision_ts"].array,  # .array keeps the tz; .values drops it
            "resolved_ts": s["resolved_ts"].array,
            "predicted_prob": s["internal_prob"].astype(float).values,
            "outcome": ((sign * (s["exit"].values - s["entry"].values)) > 0).astype(int),
        }
    )
    out["event_ts"] = out["resolved_ts"]
    out["available_ts"] = out["resolved_ts"]
    return out[OBSERVATION_COLUMNS].reset_index(drop=True)


MARKET_EXTRA_COLUMNS = ["freeze_ts", "neg_risk", "gate_status"]
MARKET_PREDICTORS = (("market", "yes_price", "market"), ("internal", "internal_prob", MODEL_ID))


def _flag(frame: pd.DataFrame, col: str) -> pd.Series:
    if col not in frame:
        return pd.Series(False, index=frame.index)
    return frame[col].astype("boolean").fillna(False).astype(bool)


def resolved_markets(snapshots: pd.DataFrame) -> pd.DataFrame:
    """One row per market seen resolved in ``snapshots`` (its first such sighting).

    Columns: question_id, symbol, end_ts, resolved_ts, resolved_outcome, known_ts, neg_risk.
    ``known_ts`` is when the resolution was first known (that snapshot's ``available_ts``);
    ``resolved_ts`` is the earliest of the end time, the reported close time and ``known_ts``.
    """
    cols = ["question_id", "symbol", "end_ts", "resolved_ts", "resolved_outcome", "known_ts", "neg_risk"]
    if snapshots.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    snaps = snapshots.assign(available_ts=pd.to_datetime(snapshots["available_ts"], utc=True))
    outcome = pd.to_numeric(snaps["resolved_outcome"], errors="coerce")
    done = snaps[_flag(snaps, "closed") & outcome.notna()].sort_values(["available_ts", "market_id"])
    done = done.drop_duplicates("market_id", keep="first")
    end = pd.to_datetime(done["end_ts"], utc=True)
    closed_ts = pd.to_datetime(done["closed_ts"], utc=True) if "closed_ts" in done else end
    resolved = pd.concat([end, closed_ts.fillna(end), done["available_ts"]], axis=1).min(axis=1)
    return pd.DataFrame(
        {
            "question_id": done["market_id"].astype(str).to_numpy(),
            "symbol": done["symbol"].to_numpy(),
            "end_ts": end.to_numpy(),
            "resolved_ts": pd.to_datetime(resolved, utc=True).to_numpy(),
            "resolved_outcome": pd.to_numeric(done["resolved_outcome"]).to_numpy(dtype=float),
            "known_ts": done["available_ts"].to_numpy(),
            "neg_risk": _flag(done, "neg_risk").to_numpy(),
        }
    ).reset_index(drop=True)


def market_observations(
    snapshots: pd.DataFrame,
    lead_hours: list[int] | int,
    asset_classes: dict[str, str] | None = None,
    score_rejected: bool = False,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Observations of resolved markets, per lead time and predictor, and counts of what was left out.

    For each lead, the prediction is frozen with ``freeze_at_lead``: the newest snapshot known at
    ``end - lead`` and strictly before the resolution day. Both predictors (the market's yes-price
    and our ``internal_prob``) come from that same snapshot row, which must carry both, so the two
    are scored on exactly the same questions. Snapshots whose quality gate rejected the market are
    not used unless ``score_rejected``. negRisk markets (legs of one multi-outcome event, correlated)
    get kind ``market_neg_risk`` so they are scored apart from independent binary questions.
    A 50-50 resolution (outcome 0.5) is no Yes/No event: it is counted in ``stats['void']``, not scored.
    """
    asset_classes = asset_classes or {}
    leads = [lead_hours] if isinstance(lead_hours, int) else list(lead_hours)
    stats = {"resolved": 0, "void": 0, "scored_questions": 0, "not_frozen": 0}
    questions = resolved_markets(snapshots)
    if questions.empty:
        return _empty(), stats
    void = questions["resolved_outcome"] == 0.5
    stats["void"] = int(void.sum())
    questions = questions[questions["resolved_outcome"].isin([0.0, 1.0])].reset_index(drop=True)
    stats["resolved"] = len(questions)
    if questions.empty:
        return _empty(), stats

    snaps = snapshots.assign(available_ts=pd.to_datetime(snapshots["available_ts"], utc=True))
    usable = ~_flag(snaps, "closed") & pd.to_numeric(snaps["yes_price"], errors="coerce").notna()
    usable &= (
        pd.to_numeric(snaps["internal_prob"], errors="coerce").notna() if "internal_prob" in snaps else False
    )
    if not score_rejected and "gate_status" in snaps:
        usable &= snaps["gate_status"].astype(object) != "rejected"
    priced = snaps[usable & snaps["market_id"].isin(set(questions["question_id"]))]
    priced = priced.drop_duplicates(["market_id", "available_ts"], keep="last")
    history = pd.DataFrame(
        {
            "question_id": priced["market_id"].astype(str),
            "ts": priced["available_ts"],
            "price": priced["yes_price"],
        }
    )
    frozen = freeze_at_leads(history, questions[["question_id", "end_ts", "resolved_ts"]], leads)
    stats["not_frozen"] = int(frozen["frozen_ts"].isna().sum())
    frozen = frozen.dropna(subset=["frozen_ts"])
    if frozen.empty:
        return _empty(), stats
    row_cols = ["market_id", "available_ts", "yes_price", "internal_prob"]
    row_cols += [c for c in ("gate_status",) if c in priced]
    rows = priced[row_cols].assign(
        market_id=priced["market_id"].astype(str),
        available_ts=priced["available_ts"].astype("datetime64[us, UTC]"),
    )
    m = frozen.merge(rows, left_on=["question_id", "frozen_ts"], right_on=["market_id", "available_ts"])
    m = m.merge(questions.drop(columns=["end_ts"]), on="question_id", how="left")
    stats["scored_questions"] = int(m["question_id"].nunique())
    asset_class = m["symbol"].map(asset_classes).fillna("unknown").astype(str)
    kind = np.where(m["neg_risk"].astype(bool), "market_neg_risk", "market")
    lead = m["lead_hours"].astype(int)
    parts = []
    for predictor, col, model in MARKET_PREDICTORS:
        parts.append(
            pd.DataFrame(
                {
                    "kind": kind,
                    "observation_id": [
                        new_id("obs", "market", predictor, q, h)
                        for q, h in zip(m["question_id"], lead, strict=True)
                    ],
                    "cohort": asset_class + ":lead" + lead.astype(str) + "h",
                    "predictor": predictor,
                    "question_id": m["question_id"].to_numpy(),
                    "symbol": m["symbol"].to_numpy(),
                    "asset_class": asset_class.to_numpy(),
                    "direction": "yes",
                    "strength": np.nan,
                    "source_model": model,
                    "lead_hours": lead.to_numpy(),
                    "decision_ts": m["frozen_ts"].to_numpy(),
                    "resolved_ts": m["resolved_ts"].to_numpy(),
                    "predicted_prob": m[col].astype(float).to_numpy(),
                    "outcome": m["resolved_outcome"].astype(int).to_numpy(),
                    "event_ts": m["resolved_ts"].to_numpy(),
                    "available_ts": m["known_ts"].to_numpy(),
                    "freeze_ts": m["freeze_ts"].to_numpy(),
                    "neg_risk": m["neg_risk"].astype(bool).to_numpy(),
                    "gate_status": m["gate_status"].astype(str).to_numpy() if "gate_status" in m else None,
                }
            )
        )
    out = pd.concat(parts, ignore_index=True)
    for col in ("decision_ts", "resolved_ts", "event_ts", "available_ts", "freeze_ts"):
        out[col] = pd.to_datetime(out[col], utc=True).astype("datetime64[us, UTC]")
    out = out.sort_values(["kind", "predictor", "lead_hours", "question_id"], kind="stable")
    return out[OBSERVATION_COLUMNS + MARKET_EXTRA_COLUMNS].reset_index(drop=True), stats


_STR_COLUMNS = ("kind", "observation_id", "cohort", "predictor", "question_id", "symbol", "asset_class")
_STR_COLUMNS += ("direction", "source_model", "gate_status")
_TS_COLUMNS = ("decision_ts", "resolved_ts", "event_ts", "available_ts", "freeze_ts")


def combine_observations(*frames: pd.DataFrame) -> pd.DataFrame:
    """Signal and market observations in one frame with one set of column types, so every lake
    partition has the same schema whatever kinds it holds (signals have no freeze or gate)."""
    columns = OBSERVATION_COLUMNS + MARKET_EXTRA_COLUMNS
    parts = [f.reindex(columns=columns) for f in frames if len(f)]
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    for col in _STR_COLUMNS:
        out[col] = out[col].astype(object).where(out[col].notna(), "").astype(str)
    for col in _TS_COLUMNS:
        out[col] = pd.to_datetime(out[col], utc=True).astype("datetime64[us, UTC]")
    for col in ("strength", "predicted_prob"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
    out["lead_hours"] = pd.to_numeric(out["lead_hours"]).astype("int64")
    out["outcome"] = pd.to_numeric(out["outcome"]).astype("int64")
    out["neg_risk"] = out["neg_risk"].astype("boolean").fillna(False).astype(bool)
    return out[columns]
