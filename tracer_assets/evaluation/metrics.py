"""Scores of resolved predictions: Brier, log-loss, hit rate, Murphy decomposition, skill, cohorts.

Brier and log-loss are scikit-learn's floats (``evaluation.losses``, without its per-call checks). The
weekly and rolling tables are pure functions of the observations and settings: rows are put in a
canonical order before anything is resampled and every bootstrap is seeded per group, so the same
observations give identical numbers in any input order.

Murphy decomposition over calibration bins k (n_k forecasts, mean forecast f_k, observed frequency
o_k, overall frequency o):

    reliability = sum n_k (f_k - o_k)^2 / N     resolution = sum n_k (o_k - o)^2 / N
    uncertainty = o (1 - o)
    brier = reliability - resolution + uncertainty + within_bin

``within_bin = mean((f_i - f_k)^2) - 2 mean((f_i - f_k)(y_i - o_k))`` is the part binning hides (the
spread of forecasts inside a bin and its covariance with outcomes). It is exactly 0 when every bin
holds a single forecast value (``bins="unique"``), where the three classic terms sum to the Brier score.
"""

from __future__ import annotations

import statistics
from typing import Literal

import numpy as np
import pandas as pd

from tracer_assets.clock import utc
from tracer_assets.evaluation.block_bootstrap import (
    block_bootstrap_mean_cis,
    block_bootstrap_ratio_ci,
    block_ids,
)
from tracer_assets.evaluation.bootstrap import bootstrap_mean_cis, group_seed
from tracer_assets.evaluation.calibration_bins import (
    BIN_COLUMNS,
    Strategy,
    assign_bins,
    bin_edges,
    calibration_bins,
)
from tracer_assets.evaluation.hits import direction_hits, prob_hits
from tracer_assets.evaluation.losses import binary_log_loss, brier_loss
from tracer_assets.settings import EvaluationSettings

REQUIRED_COLUMNS = ("kind", "predicted_prob", "outcome", "resolved_ts")
STRING_DIMENSIONS = ("cohort", "asset_class", "direction", "source_model")

# cohort_dim value -> the (normalised) column it groups by; "all" groups everything of a kind/predictor.
COHORT_DIMS: dict[str, str | None] = {
    "all": None,
    "cohort": "cohort",
    "asset_class": "asset_class",
    "direction": "direction",
    "strength_bucket": "strength_bucket",
    "source_model": "source_model",
    "lead_hours": "lead_label",
}

METRIC_COLUMNS = [
    "week",
    "kind",
    "cohort",
    "n",
    "brier",
    "log_loss",
    "hit_rate",
    "predictor",
    "cohort_dim",
    "n_unscored",
    "win_rate",
    "mean_predicted",
    "reliability",
    "resolution",
    "uncertainty",
    "within_bin",
    "brier_skill",
    "bss_vs_market",
    "n_paired",
    "brier_lo",
    "brier_hi",
    "hit_rate_lo",
    "hit_rate_hi",
    "prob_hit_rate",
    "hit_rate_block_lo",
    "hit_rate_block_hi",
    "brier_block_lo",
    "brier_block_hi",
    "bss_vs_market_lo",
    "bss_vs_market_hi",
    "event_ts",
    "available_ts",
]
_INT_COLUMNS = ("n", "n_unscored", "n_paired")
_STR_COLUMNS = ("week", "kind", "cohort", "predictor", "cohort_dim")

WIN_RATE_COLUMNS = [
    "kind",
    "predictor",
    "cohort_dim",
    "cohort",
    "n",
    "wins",
    "win_rate",
    "win_rate_lo",
    "win_rate_hi",
    "hit_rate",
    "mean_predicted",
    "prob_hit_rate",
    "event_ts",
    "available_ts",
]

CALIBRATION_TABLE_COLUMNS = ["week", "kind", "predictor", *BIN_COLUMNS, "event_ts", "available_ts"]


def default_settings() -> EvaluationSettings:
    """Field defaults only (no environment, no .env): what a pure call without settings uses."""
    return EvaluationSettings.model_construct()


# ---- input normalisation -------------------------------------------------------------------------


def unscorable_reason(obs: pd.DataFrame) -> pd.Series:
    """Why a row cannot be scored (None when it can): missing or out-of-range probability or outcome."""
    p = pd.to_numeric(obs["predicted_prob"], errors="coerce")
    y = pd.to_numeric(obs["outcome"], errors="coerce")
    reason = pd.Series(None, index=obs.index, dtype=object)
    reason[~y.isin([0, 1]).fillna(False).astype(bool)] = "outcome is not 0 or 1"
    reason[y.isna()] = "missing outcome"
    reason[~p.between(0.0, 1.0).fillna(False).astype(bool)] = "predicted_prob outside [0, 1]"
    reason[p.isna()] = "missing predicted_prob"
    return reason


def split_scorable(obs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(scorable rows, the other rows with a ``reason`` column) — nothing is dropped silently."""
    reason = unscorable_reason(obs)
    ok = reason.isna()
    return obs[ok], obs[~ok].assign(reason=reason[~ok])


def parse_edges(text: str) -> list[float]:
    """Comma-separated numbers (a setting) as sorted, distinct floats."""
    try:
        edges = sorted({float(part) for part in str(text).split(",") if part.strip()})
    except ValueError as exc:
        raise ValueError(f"expected comma-separated numbers, got {text!r}") from exc
    return edges


def strength_bucket(strength: pd.Series, edges: list[float]) -> pd.Series:
    """Label per strength: '<e0', 'e0-e1', ..., '>=eN' (left-closed); missing strength stays missing."""
    values = pd.to_numeric(strength, errors="coerce")
    if not edges:
        return pd.Series(np.where(values.notna(), "all", None), index=strength.index, dtype=object)
    labels = [f"<{edges[0]:g}"]
    labels += [f"{lo:g}-{hi:g}" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    labels += [f">={edges[-1]:g}"]
    cut = pd.cut(values, [-np.inf, *edges, np.inf], right=False, labels=labels)
    return cut.astype(object).where(cut.notna(), None)


def _lead_label(lead_hours: pd.Series) -> pd.Series:
    hours = pd.to_numeric(lead_hours, errors="coerce")
    return hours.map(lambda h: None if pd.isna(h) else f"{h:g}h").astype(object)


def _as_utc(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True)


def prepare_observations(obs: pd.DataFrame, settings: EvaluationSettings) -> pd.DataFrame:
    """Observations in canonical form: optional columns present, labels derived, canonical row order.

    Missing ``predictor`` is 'internal' for signals and 'unknown' otherwise; missing ``available_ts``
    is the resolution time. Missing dimension values stay missing: such rows count in cohort 'all'
    and in no other cohort of that dimension.
    """
    if obs is None or (obs.empty and not set(REQUIRED_COLUMNS) <= set(obs.columns)):
        obs = pd.DataFrame({c: pd.Series(dtype=object) for c in REQUIRED_COLUMNS})
    missing = [c for c in REQUIRED_COLUMNS if c not in obs.columns]
    if missing:
        raise ValueError(f"observations lack required columns {missing}")
    df = obs.copy()
    df["kind"] = df["kind"].fillna("unknown").astype(str)
    predictor = df["predictor"] if "predictor" in df else pd.Series(None, index=df.index, dtype=object)
    fallback = pd.Series(np.where(df["kind"] == "signal", "internal", "unknown"), index=df.index)
    df["predictor"] = predictor.astype(object).where(predictor.notna(), fallback).astype(str)
    for col in STRING_DIMENSIONS:
        values = df[col] if col in df else pd.Series(None, index=df.index, dtype=object)
        df[col] = (
            values.astype(object).where(values.notna(), None).map(lambda v: None if v is None else str(v))
        )
    for col in ("question_id", "observation_id"):
        values = df[col] if col in df else pd.Series(None, index=df.index, dtype=object)
        df[col] = (
            values.astype(object).where(values.notna(), None).map(lambda v: None if v is None else str(v))
        )
    df["strength"] = pd.to_numeric(df["strength"], errors="coerce") if "strength" in df else np.nan
    df["strength_bucket"] = strength_bucket(df["strength"], parse_edges(settings.eval_strength_buckets))
    df["lead_hours"] = pd.to_numeric(df["lead_hours"], errors="coerce") if "lead_hours" in df else np.nan
    df["lead_label"] = _lead_label(df["lead_hours"])
    df["resolved_ts"] = _as_utc(df["resolved_ts"])
    available = _as_utc(df["available_ts"]) if "available_ts" in df else df["resolved_ts"]
    df["available_ts"] = available.where(available.notna(), df["resolved_ts"])
    df["predicted_prob"] = pd.to_numeric(df["predicted_prob"], errors="coerce")
    df["outcome"] = pd.to_numeric(df["outcome"], errors="coerce")
    df["unscored_reason"] = unscorable_reason(df)
    df["scorable"] = df["unscored_reason"].isna()
    order = ["kind", "predictor", "observation_id", "question_id", "resolved_ts", "predicted_prob", "outcome"]
    return df.sort_values(order, kind="stable", na_position="last").reset_index(drop=True)


def parse_week(week: str) -> pd.Timestamp:
    """The Monday (00:00 UTC) a weekly partition key names; anything else is a clear error."""
    try:
        monday = pd.Timestamp(week)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"week must be a Monday date YYYY-MM-DD, got {week!r}") from exc
    monday = utc(monday)
    if monday != monday.normalize() or monday.dayofweek != 0:
        raise ValueError(f"week must be a Monday date YYYY-MM-DD, got {week!r}")
    return monday


# ---- scores ------------------------------------------------------------------------------------


def murphy_decomposition(
    y: np.ndarray, p: np.ndarray, n_bins: int | None = None, strategy: Strategy = "uniform"
) -> dict[str, float]:
    """Reliability, resolution, uncertainty and the within-bin term (module docstring).

    ``n_bins=None`` puts each distinct forecast value in its own bin (within_bin is then 0).
    """
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    n = len(y)
    if n == 0:
        return {k: float("nan") for k in ("reliability", "resolution", "uncertainty", "within_bin")}
    if n_bins is None:
        _, ids = np.unique(p, return_inverse=True)
    else:
        ids = assign_bins(p, bin_edges(p, n_bins, strategy))
    counts = np.bincount(ids)
    filled = counts > 0
    safe = np.where(filled, counts, 1)
    f_k = np.bincount(ids, weights=p) / safe
    o_k = np.bincount(ids, weights=y) / safe
    o = y.mean()
    reliability = float(np.sum(counts[filled] * (f_k[filled] - o_k[filled]) ** 2) / n)
    resolution = float(np.sum(counts[filled] * (o_k[filled] - o) ** 2) / n)
    spread = p - f_k[ids]
    within = float(np.mean(spread**2) - 2.0 * np.mean(spread * (y - o_k[ids])))
    return {
        "reliability": reliability,
        "resolution": resolution,
        "uncertainty": float(o * (1.0 - o)),
        "within_bin": within,
    }


def _nan_scores(n: int = 0) -> dict[str, float]:
    keys = (
        "brier",
        "log_loss",
        "hit_rate",
        "prob_hit_rate",
        "win_rate",
        "mean_predicted",
        "reliability",
        "resolution",
    )
    keys += ("uncertainty", "within_bin", "brier_skill")
    return {"n": n, **{k: float("nan") for k in keys}}


def score_arrays(
    y: np.ndarray,
    p: np.ndarray,
    clip: float,
    n_bins: int | None,
    strategy: Strategy = "uniform",
    reference_brier: float | None = None,
    kind: str | None = None,
) -> dict[str, float]:
    """Scores of outcomes ``y`` (0/1) against probabilities ``p``; all NaN when there are none.

    ``hit_rate`` is the direction hit rate of ``kind`` (see ``evaluation.hits``), ``prob_hit_rate``
    the share where ``p >= 0.5`` agreed with the outcome.

    ``brier_skill`` is ``1 - brier / reference`` with the sample's climatology (the uncertainty
    term) as the default reference; NaN when the reference is 0 (a single class).
    """
    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    if len(y) == 0:
        return _nan_scores()
    brier = brier_loss(y, p)  # scikit-learn's brier_score_loss and log_loss (labels [0, 1]), float for float
    ll = binary_log_loss(y, np.clip(p, clip, 1.0 - clip))
    decomposition = murphy_decomposition(y, p, n_bins, strategy)
    reference = decomposition["uncertainty"] if reference_brier is None else float(reference_brier)
    return {
        "n": len(y),
        "brier": brier,
        "log_loss": ll,
        "hit_rate": float(np.mean(direction_hits(kind or "", p, y))),
        "prob_hit_rate": float(np.mean(prob_hits(p, y))),
        "win_rate": float(np.mean(y)),
        "mean_predicted": float(np.mean(p)),
        **decomposition,
        "brier_skill": 1.0 - brier / reference if reference > 0 else float("nan"),
    }


def score_frame(
    obs: pd.DataFrame,
    settings: EvaluationSettings | None = None,
    *,
    bins: int | Literal["unique"] | None = None,
    reference_brier: float | None = None,
) -> dict[str, float]:
    """n, brier, log_loss (probabilities clipped to ``[eval_prob_clip, 1 - eval_prob_clip]``),
    hit_rate (direction hit rate per row kind), prob_hit_rate (share of rows where ``p >= 0.5``
    matches the outcome), win_rate (mean outcome),
    mean_predicted, reliability, resolution, uncertainty, within_bin, brier_skill and n_unscored.

    ``bins``: None = ``settings.eval_calibration_bins`` uniform bins; "unique" = one bin per distinct
    forecast (exact decomposition). ``reference_brier``: skill reference (default: climatology).
    """
    settings = settings or default_settings()
    reason = unscorable_reason(obs) if len(obs) else pd.Series([], dtype=object)
    ok = obs[reason.isna().to_numpy()] if len(obs) else obs
    n_bins = None if bins == "unique" else int(bins or settings.eval_calibration_bins)
    y = ok["outcome"].astype(float).to_numpy() if len(ok) else np.array([])
    p = ok["predicted_prob"].astype(float).to_numpy() if len(ok) else np.array([])
    scores = score_arrays(y, p, settings.eval_prob_clip, n_bins, reference_brier=reference_brier)
    if len(ok) and "kind" in ok.columns:
        scores["hit_rate"] = float(np.mean(direction_hits(ok["kind"].astype(str).to_numpy(), p, y)))
    scores["n_unscored"] = int(reason.notna().sum())
    return scores


def skill_vs_market(internal: pd.DataFrame, market: pd.DataFrame) -> tuple[float, int]:
    """Brier skill score of internal vs market on the questions (and lead times) both scored.

    ``1 - brier_internal / brier_market`` over the paired questions; NaN when nothing pairs or
    the market's Brier on them is 0. Returns (skill, number of pairs).
    """
    return skill_of_pairs(market_pairs(internal, market))


def skill_of_pairs(pairs: pd.DataFrame) -> tuple[float, int]:
    """``skill_vs_market`` of pairs already built by ``market_pairs``."""
    if pairs.empty:
        return float("nan"), 0
    bs_int = float(np.mean((pairs["predicted_prob_int"] - pairs["outcome_int"]) ** 2))
    bs_mkt = float(np.mean((pairs["predicted_prob_mkt"] - pairs["outcome_mkt"]) ** 2))
    return (1.0 - bs_int / bs_mkt if bs_mkt > 0 else float("nan")), len(pairs)


def market_pairs(internal: pd.DataFrame, market: pd.DataFrame) -> pd.DataFrame:
    """Internal and market predictions of the same question and lead time, side by side (``_int`` /
    ``_mkt`` suffixes), with the internal row's ``cluster_day``: per (question_id, lead) the first row
    of each side, in the internal side's order (what dropping duplicates and an inner merge give, found
    with one dict per side instead: this runs per cohort group of every week)."""
    keys = ["question_id", "lead_key"]
    if internal.empty or market.empty:
        return pd.DataFrame(columns=[*keys, "predicted_prob_int", "outcome_int", "predicted_prob_mkt"])
    firsts = [_first_positions(side) for side in (internal, market)]
    paired = [(pos, firsts[1][key]) for key, pos in firsts[0].items() if key in firsts[1]]
    i = [p for p, _ in paired]
    m = [p for _, p in paired]
    lead = internal["lead_label"].iloc[i].fillna("")
    cols = {
        "question_id": internal["question_id"].iloc[i],
        "lead_key": lead,
        "predicted_prob_int": internal["predicted_prob"].iloc[i],
        "outcome_int": internal["outcome"].iloc[i],
        "cluster_day": cluster_days(internal).iloc[i],
        "predicted_prob_mkt": market["predicted_prob"].iloc[m],
        "outcome_mkt": market["outcome"].iloc[m],
    }
    return pd.DataFrame({k: v.reset_index(drop=True) for k, v in cols.items()})


def _first_positions(frame: pd.DataFrame) -> dict[tuple, int]:
    """Row position of the first row of each (question_id, lead label) with a question id, in row order."""
    qid = frame["question_id"]
    known = qid.notna().to_numpy()
    keys = zip(qid.tolist(), frame["lead_label"].fillna("").tolist(), strict=True)
    firsts: dict[tuple, int] = {}
    for pos, key in enumerate(keys):
        if known[pos] and key not in firsts:
            firsts[key] = pos
    return firsts


# ---- cohort tables ---------------------------------------------------------------------------------


def cluster_days(frame: pd.DataFrame) -> pd.Series:
    """The UTC day each observation was decided (its resolution day where no decision time is known):
    observations of one day share the market and the news, so they are resampled together."""
    if "cluster_day" in frame.columns:  # computed once for a whole table (metrics_table)
        return frame["cluster_day"]
    resolved = pd.to_datetime(frame["resolved_ts"], utc=True)
    decided = pd.to_datetime(frame["decision_ts"], utc=True) if "decision_ts" in frame.columns else resolved
    return decided.fillna(resolved).dt.floor("D")


def skill_interval(pairs: pd.DataFrame, settings: EvaluationSettings, seed) -> tuple[float, float]:
    """Block-bootstrap interval of ``bss_vs_market`` over paired questions (blocks of decision days)."""
    if pairs.empty:
        return float("nan"), float("nan")
    err_int = (pairs["predicted_prob_int"].astype(float) - pairs["outcome_int"].astype(float)) ** 2
    err_mkt = (pairs["predicted_prob_mkt"].astype(float) - pairs["outcome_mkt"].astype(float)) ** 2
    blocks = block_ids(pairs["cluster_day"], settings.eval_block_days)
    return block_bootstrap_ratio_ci(
        err_int.to_numpy(),
        err_mkt.to_numpy(),
        blocks,
        n_resamples=settings.eval_bootstrap_resamples,
        seed=seed,
        level=settings.eval_ci_level,
    )


def cohort_groups(frame: pd.DataFrame):
    """(kind, predictor, cohort_dim, cohort, rows) for 'all' and every value of every dimension."""
    for (kind, predictor), g in frame.groupby(["kind", "predictor"], sort=True):
        for dim, col in COHORT_DIMS.items():
            if col is None:
                yield kind, predictor, dim, "all", g
                continue
            # one split per dimension (rows in their order, values sorted, missing left out) instead
            # of a mask per value
            for value, rows in g.groupby(col, sort=True, dropna=True):
                yield kind, predictor, dim, str(value), rows


def _typed(
    df: pd.DataFrame, columns: list[str], ints: tuple[str, ...], strs: tuple[str, ...]
) -> pd.DataFrame:
    out = df.reindex(columns=columns)
    for col in columns:
        if col in ints:
            out[col] = out[col].astype("int64")
        elif col in strs:
            out[col] = out[col].astype("str")
        elif col.endswith("_ts"):
            out[col] = pd.to_datetime(out[col], utc=True).astype("datetime64[us, UTC]")
        else:
            out[col] = out[col].astype(float)
    return out.reset_index(drop=True)


def group_scores(kind: str, y: np.ndarray, p: np.ndarray, settings: EvaluationSettings) -> dict[str, float]:
    """``score_arrays`` of a group's scorable outcomes and probabilities (canonical order)."""
    return score_arrays(y, p, settings.eval_prob_clip, settings.eval_calibration_bins, kind=kind)


def metric_row(
    group: tuple[str, str, str, str],
    scores: dict[str, float],
    n_unscored: int,
    skill: tuple[float, int],
    intervals: dict[str, tuple[float, float]],
    label: str,
    stamp: pd.Timestamp,
) -> dict:
    """One row of a metrics table: a (kind, predictor, cohort_dim, cohort) group's ``group_scores``,
    its skill vs the market, and ``intervals`` by score name (brier, hit_rate, hit_rate_block,
    brier_block, bss_vs_market)."""
    kind, predictor, dim, cohort = group
    bounds = {
        f"{name}_{side}": ci[i] for name, ci in intervals.items() for i, side in enumerate(("lo", "hi"))
    }
    return {
        "week": label,
        "kind": kind,
        "cohort": cohort,
        "predictor": predictor,
        "cohort_dim": dim,
        "n_unscored": int(n_unscored),
        **scores,
        "bss_vs_market": skill[0],
        "n_paired": skill[1],
        **bounds,
        "event_ts": stamp,
        "available_ts": stamp,
    }


def metrics_frame(rows: list[dict]) -> pd.DataFrame:
    """``metric_row`` rows as a table with the ``METRIC_COLUMNS`` contract."""
    return _typed(pd.DataFrame(rows, columns=METRIC_COLUMNS), METRIC_COLUMNS, _INT_COLUMNS, _STR_COLUMNS)


def metrics_table(
    frame: pd.DataFrame, settings: EvaluationSettings, label: str, stamp: pd.Timestamp
) -> pd.DataFrame:
    """The metrics of every cohort group of prepared observations, each group scored and resampled
    from scratch (multinomial bootstrap seeded per group): the weekly table."""
    rows, markets = [], {}
    frame = frame.assign(cluster_day=cluster_days(frame)) if len(frame) else frame
    for kind, predictor, dim, cohort, g in cohort_groups(frame):
        ok = g[g["scorable"]]
        y = ok["outcome"].to_numpy(dtype=float)
        p = ok["predicted_prob"].to_numpy(dtype=float)
        hits = direction_hits(kind, p, y)
        seed = group_seed(settings.eval_bootstrap_seed, kind, predictor, dim, cohort)
        blocks = block_ids(cluster_days(ok), settings.eval_block_days)
        block_cis = block_bootstrap_mean_cis(
            {"brier": (p - y) ** 2, "hit_rate": hits},
            blocks,
            n_resamples=settings.eval_bootstrap_resamples,
            seed=seed,
            level=settings.eval_ci_level,
        )
        cis = bootstrap_mean_cis(
            {"brier": (p - y) ** 2, "hit_rate": hits},
            n_resamples=settings.eval_bootstrap_resamples,
            seed=seed,
            level=settings.eval_ci_level,
        )
        skill, n_paired, skill_ci = float("nan"), 0, (float("nan"), float("nan"))
        if predictor == "internal":
            col = COHORT_DIMS[dim]
            if kind not in markets:  # the same rows for every cohort group of the kind
                markets[kind] = frame[
                    (frame["kind"] == kind) & (frame["predictor"] == "market") & frame["scorable"]
                ]
            market = markets[kind]
            if col is not None:
                market = market[market[col] == cohort]
            pairs = market_pairs(ok, market)
            skill, n_paired = skill_of_pairs(pairs)
            skill_ci = skill_interval(pairs, settings, seed)
        intervals = {
            "brier": cis["brier"],
            "hit_rate": cis["hit_rate"],
            "hit_rate_block": block_cis["hit_rate"],
            "brier_block": block_cis["brier"],
            "bss_vs_market": skill_ci,
        }
        group = (kind, predictor, dim, cohort)
        n_unscored = int((~g["scorable"]).sum())
        scores = group_scores(kind, y, p, settings)
        rows.append(metric_row(group, scores, n_unscored, (skill, n_paired), intervals, label, stamp))
    return metrics_frame(rows)


def weekly_metrics(obs: pd.DataFrame, week: str, settings: EvaluationSettings) -> pd.DataFrame:
    """The ``eval_metrics`` partition for ``week`` (a Monday, YYYY-MM-DD).

    Observations belong to the week of their ``resolved_ts`` (rows of other weeks are ignored).
    One row per kind and predictor for cohort 'all' and per value of each cohort dimension
    (``COHORT_DIMS``); ``event_ts = available_ts`` = the end of the week (next Monday 00:00 UTC).
    Columns: ``METRIC_COLUMNS``. No observations give an empty frame with those columns.
    """
    monday = parse_week(week)
    end = monday + pd.Timedelta(days=7)
    frame = prepare_observations(obs, settings)
    frame = frame[(frame["resolved_ts"] >= monday) & (frame["resolved_ts"] < end)]
    return metrics_table(frame, settings, monday.strftime("%Y-%m-%d"), end)


def wilson_interval(wins: int, n: int, level: float) -> tuple[float, float]:
    """Wilson score interval for a win rate (NaN bounds when n is 0)."""
    if n == 0:
        return float("nan"), float("nan")
    z = statistics.NormalDist().inv_cdf(0.5 + level / 2.0)
    rate = wins / n
    centre = (rate + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    # all wins (or none) put a bound on 1 (or 0) up to rounding: 1.0000000000000002 is not a rate
    return max(0.0, float(centre - half)), min(1.0, float(centre + half))


def hit_rate_interval(outcomes: pd.Series, level: float = 0.95) -> tuple[float, float, float, int]:
    """Hit rate with its Wilson interval: (rate, low, high, n); (nan, 0, 1, 0) when nothing resolved."""
    n = int(len(outcomes))
    if n == 0:
        return float("nan"), 0.0, 1.0, 0
    low, high = wilson_interval(int(np.sum(outcomes)), n, level)
    return float(np.mean(outcomes)), low, high, n


def win_rates_by_cohort(obs: pd.DataFrame, settings: EvaluationSettings | None = None) -> pd.DataFrame:
    """Win rate (share of predictions whose predicted event happened) per kind, predictor and cohort,
    with a Wilson interval at ``eval_ci_level``, the hit rate and the mean predicted probability.

    Covers every observation given (filter by time first). ``event_ts`` is the group's last
    resolution, ``available_ts`` the last time one of its rows became known. Columns: ``WIN_RATE_COLUMNS``.
    """
    settings = settings or default_settings()
    frame = prepare_observations(obs, settings)
    rows = []
    for kind, predictor, dim, cohort, g in cohort_groups(frame):
        ok = g[g["scorable"]]
        if ok.empty:
            continue
        y = ok["outcome"].to_numpy(dtype=float)
        p = ok["predicted_prob"].to_numpy(dtype=float)
        wins = int(y.sum())
        lo, hi = wilson_interval(wins, len(y), settings.eval_ci_level)
        rows.append(
            {
                "kind": kind,
                "predictor": predictor,
                "cohort_dim": dim,
                "cohort": cohort,
                "n": len(y),
                "wins": wins,
                "win_rate": wins / len(y),
                "win_rate_lo": lo,
                "win_rate_hi": hi,
                "hit_rate": float(np.mean(direction_hits(kind, p, y))),
                "mean_predicted": float(p.mean()),
                "prob_hit_rate": float(np.mean(prob_hits(p, y))),
                "event_ts": ok["resolved_ts"].max(),
                "available_ts": ok["available_ts"].max(),
            }
        )
    table = pd.DataFrame(rows, columns=WIN_RATE_COLUMNS)
    return _typed(table, WIN_RATE_COLUMNS, ("n", "wins"), ("kind", "predictor", "cohort_dim", "cohort"))


def weekly_calibration_bins(obs: pd.DataFrame, week: str, settings: EvaluationSettings) -> pd.DataFrame:
    """The ``calibration_bins`` partition for ``week``: uniform and quantile bins per kind and predictor
    (``settings.eval_calibration_bins`` bins each). Columns: ``CALIBRATION_TABLE_COLUMNS``."""
    monday = parse_week(week)
    end = monday + pd.Timedelta(days=7)
    frame = prepare_observations(obs, settings)
    frame = frame[(frame["resolved_ts"] >= monday) & (frame["resolved_ts"] < end) & frame["scorable"]]
    parts = [
        calibration_bins(frame, settings.eval_calibration_bins, strategy, by=("kind", "predictor"))
        for strategy in ("uniform", "quantile")
    ]
    table = pd.concat(parts, ignore_index=True).assign(
        week=monday.strftime("%Y-%m-%d"), event_ts=end, available_ts=end
    )
    return _typed(
        table, CALIBRATION_TABLE_COLUMNS, ("bin", "count"), ("week", "kind", "predictor", "strategy")
    )
