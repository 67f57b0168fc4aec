"""All-time metrics as of each week's end, folded week by week so a range costs linear time in its weeks.

Point estimates are the weekly table's (``metrics.metric_row``) on every observation known by the end
(resolved and available by then), in canonical order: the same numbers as scoring that set from
scratch. Intervals come from the Poisson bootstrap of ``poisson_bootstrap``: each group carries the
weighted sums of its rows per resample, and a week adds only the rows that became known in it (rows
resampled one by one with per-observation weights, blocks of decision days with per-block weights, the
market pairs with their internal row's block weight). The fold steps at every Monday 00:00 UTC (and at
any other end asked for): a row joins at the first step at or after ``max(resolved_ts, available_ts)``.
A state holds only rows known by its step, added step by step in the same order, so a week computed
alone (its history folded from the first observation) equals, bit for bit, the same week in a range.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tracer_assets.clock import utc
from tracer_assets.evaluation.hits import direction_hits
from tracer_assets.evaluation.metrics import (
    cluster_days,
    cohort_groups,
    group_scores,
    metric_row,
    metrics_frame,
    prepare_observations,
    skill_of_pairs,
)
from tracer_assets.evaluation.pair_timeline import PairTimeline, pair_keys, pair_segments
from tracer_assets.evaluation.poisson_bootstrap import (
    block_keys,
    mean_intervals,
    poisson_weights,
    ratio_skill_interval,
    row_keys,
    sum_terms,
    weighted_sums,
    weighted_terms,
)
from tracer_assets.settings import EvaluationSettings

LABEL = "all-time"
_WEEK = pd.Timedelta(days=7)


@dataclass
class _Rows:
    """Per-row arrays of the whole history (canonical order), computed once per fold."""

    step: np.ndarray  # fold step at which the row becomes known (len(boundaries) = never)
    scorable: np.ndarray
    y: np.ndarray
    p: np.ndarray
    values: np.ndarray  # (rows, 2): squared error, direction hit
    keys: np.ndarray
    blocks: np.ndarray


@dataclass
class _Group:
    key: tuple[str, str, str, str]
    rows: np.ndarray  # every row of the group, canonical order
    by_step: np.ndarray  # its scorable rows ordered by step (canonical order within a step)
    steps: np.ndarray  # the step of each row of by_step
    sums: dict[str, np.ndarray] = field(default_factory=dict)  # running weighted sums per interval kind
    pairs: PairTimeline | None = None  # internal groups with a market side

    def entering(self, step: int) -> np.ndarray:
        """Its scorable rows that became known at ``step``."""
        lo, hi = np.searchsorted(self.steps, [step, step + 1])
        return self.by_step[lo:hi]

    def add(self, name: str, delta: np.ndarray) -> None:
        self.sums[name] = self.sums[name] + delta if name in self.sums else delta


def _boundaries(known: pd.Series, ends: list[pd.Timestamp]) -> pd.DatetimeIndex:
    """Every Monday from the first one at or after the first known row to the last end, and the ends."""
    mondays = pd.DatetimeIndex([], tz="UTC")
    if known.notna().any():
        first = known.min().normalize()
        first -= pd.Timedelta(days=first.dayofweek)
        first += _WEEK if first < known.min() else pd.Timedelta(0)
        mondays = pd.date_range(first, max(ends), freq="7D")
    return mondays.union(pd.DatetimeIndex(ends)).sort_values().as_unit("ns")


def _known(frame: pd.DataFrame) -> pd.Series:
    """When each row became known: resolved and available (never, without a resolution time)."""
    resolved, available = frame["resolved_ts"], frame["available_ts"]
    return available.where(available > resolved, resolved).where(resolved.notna())


def _row_arrays(
    frame: pd.DataFrame, known: pd.Series, boundaries: pd.DatetimeIndex, settings: EvaluationSettings
) -> _Rows:
    step = np.searchsorted(boundaries.asi8, known.to_numpy(dtype="datetime64[ns]").view("int64"))
    step[known.isna().to_numpy()] = len(boundaries)
    y = frame["outcome"].to_numpy(dtype=float)
    p = frame["predicted_prob"].to_numpy(dtype=float)
    hits = direction_hits(frame["kind"].to_numpy(dtype=object), p, y)
    return _Rows(
        step=step,
        scorable=frame["scorable"].to_numpy(dtype=bool),
        y=y,
        p=p,
        values=np.column_stack([(p - y) ** 2, hits]),
        keys=row_keys(frame),
        blocks=block_keys(cluster_days(frame), settings.eval_block_days),
    )


def _groups(frame: pd.DataFrame, rows: _Rows) -> list[_Group]:
    """Every cohort group of the history, each internal one with its market pairs over time."""
    groups = {}
    for kind, predictor, dim, cohort, g in cohort_groups(frame):
        members = g.index.to_numpy()
        ok = members[rows.scorable[members]]
        ok = ok[np.argsort(rows.step[ok], kind="stable")]
        groups[(kind, predictor, dim, cohort)] = _Group(
            (kind, predictor, dim, cohort), members, ok, rows.step[ok]
        )
    keys, timelines = pair_keys(frame), {}
    for (kind, predictor, dim, cohort), group in groups.items():
        market = groups.get((kind, "market", dim, cohort))
        if predictor == "internal" and market is not None:
            same = (group.by_step.tobytes(), market.by_step.tobytes())
            if same not in timelines:
                sides = [
                    pd.DataFrame({"key": keys[m], "pos": m, "step": rows.step[m]})
                    for m in (group.by_step, market.by_step)
                ]
                timelines[same] = PairTimeline.of(pair_segments(*sides))
            group.pairs = timelines[same]
    return list(groups.values())


def _fold_step(groups: list[_Group], rows: _Rows, entering: np.ndarray, step: int, settings) -> None:
    """Add the rows (and market pairs) that became known at ``step`` to every group's running sums.

    Groups holding the same rows (a market kind's 'all' and its one asset class) share one sum."""
    n, seed = settings.eval_bootstrap_resamples, settings.eval_bootstrap_seed
    moves = {g.key: (g.pairs.formed(step), g.pairs.replaced(step)) for g in groups if g.pairs is not None}
    pair_rows = [i for formed, replaced in moves.values() for i in (formed[0], replaced[0])]
    blocks, where = np.unique(
        np.concatenate([rows.blocks[entering], *(rows.blocks[i] for i in pair_rows)]), return_inverse=True
    )
    block_weights = poisson_weights(blocks, n, seed)
    values = rows.values[entering]
    terms = {
        "rows": weighted_terms(poisson_weights(rows.keys[entering], n, seed), values),
        "blocks": weighted_terms(block_weights[where[: len(entering)]], values),
    }
    done: dict[tuple[str, bytes, bytes], np.ndarray] = {}
    for group in groups:
        mine = np.searchsorted(entering, group.entering(step))
        if len(mine):
            for name, term in terms.items():
                key = (name, mine.tobytes(), b"")
                done[key] = done[key] if key in done else sum_terms(term, mine)
                group.add(name, done[key])
        for sign, (i, m) in zip((1.0, -1.0), moves.get(group.key, ()), strict=False):
            if len(i):
                key = ("pairs", i.tobytes(), m.tobytes())
                if key not in done:
                    w = block_weights[np.searchsorted(blocks, rows.blocks[i])]
                    done[key] = weighted_sums(w, np.column_stack([rows.values[i, 0], rows.values[m, 0]]))
                group.add("pairs", sign * done[key])


def _table(groups: list[_Group], rows: _Rows, step: int, end: pd.Timestamp, settings) -> pd.DataFrame:
    """The all-time table at ``step`` from the running sums and the rows known by then."""
    out, level, nan = [], settings.eval_ci_level, (float("nan"), float("nan"))
    scored: dict[tuple[str, bytes], dict[str, float]] = {}  # groups holding the same rows score once
    for group in groups:
        known = rows.step[group.rows] <= step
        if not known.any():
            continue
        ok = group.rows[known & rows.scorable[group.rows]]
        brier, hit = mean_intervals(group.sums.get("rows", np.zeros((1, 3))), level)
        brier_block, hit_block = mean_intervals(group.sums.get("blocks", np.zeros((1, 3))), level)
        skill, skill_ci = (float("nan"), 0), nan
        if group.key[1] == "internal":
            i, m = group.pairs.held(step) if group.pairs is not None else (ok[:0], ok[:0])
            pairs = pd.DataFrame(
                {
                    "predicted_prob_int": rows.p[i],
                    "outcome_int": rows.y[i],
                    "predicted_prob_mkt": rows.p[m],
                    "outcome_mkt": rows.y[m],
                }
            )
            skill = skill_of_pairs(pairs)
            skill_ci = ratio_skill_interval(group.sums["pairs"], level) if len(pairs) else nan
        intervals = {
            "brier": brier,
            "hit_rate": hit,
            "hit_rate_block": hit_block,
            "brier_block": brier_block,
            "bss_vs_market": skill_ci,
        }
        n_unscored = int((known & ~rows.scorable[group.rows]).sum())
        same = (group.key[0], ok.tobytes())
        if same not in scored:
            scored[same] = group_scores(group.key[0], rows.y[ok], rows.p[ok], settings)
        out.append(metric_row(group.key, scored[same], n_unscored, skill, intervals, LABEL, end))
    return metrics_frame(out)


def all_time_tables(
    frame: pd.DataFrame, ends: list[pd.Timestamp], settings: EvaluationSettings
) -> dict[pd.Timestamp, pd.DataFrame]:
    """All-time metrics as of each of ``ends`` from prepared observations (``prepare_observations``):
    same columns as ``weekly_metrics`` with ``week = 'all-time'`` and ``event_ts = available_ts`` = the end."""
    ends = sorted({utc(e) for e in ends})
    frame = frame.reset_index(drop=True)
    known = _known(frame)
    boundaries = _boundaries(known, ends)
    rows = _row_arrays(frame, known, boundaries, settings)
    groups = _groups(frame, rows)
    emit = {int(np.searchsorted(boundaries.asi8, e.value)): e for e in ends}
    scorable_steps = np.where(rows.scorable, rows.step, len(boundaries))
    order = np.argsort(scorable_steps, kind="stable")
    bounds = np.searchsorted(scorable_steps[order], np.arange(len(boundaries) + 1))
    out = {}
    for step in range(max(emit) + 1):
        entering = order[bounds[step] : bounds[step + 1]]
        if len(entering):
            _fold_step(groups, rows, entering, step, settings)
        if step in emit:
            out[emit[step]] = _table(groups, rows, step, emit[step], settings)
    return out


def rolling_metrics(
    obs: pd.DataFrame, as_of: pd.Timestamp | str, settings: EvaluationSettings, prepared: bool = False
) -> pd.DataFrame:
    """All-time metrics from what was known at ``as_of`` (resolved and available by then).

    Same columns as ``weekly_metrics``, with ``week = 'all-time'`` and ``event_ts = available_ts = as_of``.
    ``prepared``: ``obs`` already went through ``prepare_observations``."""
    frame = obs if prepared else prepare_observations(obs, settings)
    return next(iter(all_time_tables(frame, [pd.Timestamp(as_of)], settings).values()))
