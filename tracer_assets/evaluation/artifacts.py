"""Files beside the weekly snapshot: CSV copies of the tables and offline Plotly HTML.

Everything for week W lands in ``<lake>/artifacts/evaluation/week=W/``; file names are fixed so a
re-materialization replaces them.
"""

import math
from pathlib import Path

import pandas as pd

from tracer_assets.evaluation.metrics import COHORT_DIMS
from tracer_assets.evaluation.plots import brier_over_time_figure, reliability_figure, write_html
from tracer_assets.lake.atomic import atomic_write
from tracer_assets.settings import TracerSettings

PLOT_KINDS = ("signal", "market")  # always drawn (an empty week gets an annotated empty figure)


def week_dir(settings: TracerSettings, week: str) -> Path:
    return Path(settings.lake_root) / "artifacts" / "evaluation" / f"week={week}"


def write_csv(df: pd.DataFrame, path: Path) -> Path:
    """Write ``df`` as CSV atomically."""
    return atomic_write(path, lambda tmp: df.to_csv(tmp, index=False))


def reliability_plots(bins: pd.DataFrame, folder: Path, week: str, plotlyjs: str) -> dict[str, Path]:
    """One reliability diagram per kind (signal, market, and any other kind present) and strategy."""
    kinds = sorted(set(PLOT_KINDS) | (set(bins["kind"]) if len(bins) else set()))
    paths = {}
    for kind in kinds:
        for strategy in ("uniform", "quantile"):
            rows = bins[(bins["kind"] == kind) & (bins["strategy"] == strategy)] if len(bins) else bins
            suffix = "" if strategy == "uniform" else "_quantile"
            fig = reliability_figure(
                rows, title=f"Reliability: {kind} predictions, week of {week} ({strategy} bins)"
            )
            paths[f"reliability_{kind}{suffix}"] = write_html(
                fig, folder / f"reliability_{kind}{suffix}.html", plotlyjs
            )
    return paths


def brier_plots(history: pd.DataFrame, folder: Path, week: str, plotlyjs: str) -> dict[str, Path]:
    """Brier score by week, one file per cohort dimension (``all`` compares the predictors)."""
    paths = {}
    for dim in COHORT_DIMS:
        fig = brier_over_time_figure(
            history, cohort_dim=dim, title=f"Brier score by week, by {dim} (to {week})"
        )
        paths[f"brier_over_time_{dim}"] = write_html(fig, folder / f"brier_over_time_{dim}.html", plotlyjs)
    return paths


def _num(value: float, digits: int = 4) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def headline(metrics: pd.DataFrame) -> pd.DataFrame:
    """The 'all' cohort per kind, predictor and week: the numbers a reader looks at first."""
    if metrics.empty:
        return metrics
    rows = metrics[metrics["cohort_dim"] == "all"].sort_values(["week", "kind", "predictor"])
    return rows[
        [
            "week",
            "kind",
            "predictor",
            "n",
            "brier",
            "brier_lo",
            "brier_hi",
            "log_loss",
            "hit_rate",
            "bss_vs_market",
            "n_paired",
        ]
    ]


def headline_md(metrics: pd.DataFrame) -> str:
    """Markdown table of ``headline`` with the Brier interval written out."""
    rows = headline(metrics)
    if rows.empty:
        return "_no resolved predictions this week_"
    lines = [
        "| week | kind | predictor | n | Brier [95% CI] | log-loss | hit rate | BSS vs market (pairs) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows.itertuples(index=False):
        skill = f"{_num(r.bss_vs_market, 3)} ({r.n_paired})" if r.n_paired else ""
        lines.append(
            f"| {r.week} | {r.kind} | {r.predictor} | {r.n} | {_num(r.brier)} [{_num(r.brier_lo)}, {_num(r.brier_hi)}] "
            f"| {_num(r.log_loss)} | {_num(r.hit_rate, 3)} | {skill} |"
        )
    return "\n".join(lines)


def market_vs_internal(metrics: pd.DataFrame) -> str:
    """One sentence per market kind: the market's Brier beside ours on the same questions."""
    rows = headline(metrics)
    if rows.empty:
        return ""
    sentences = []
    for (week, kind), g in rows.groupby(["week", "kind"], sort=True):
        if not kind.startswith("market"):
            continue
        by = g.set_index("predictor")
        if {"market", "internal"} <= set(by.index):
            m, i = by.loc["market"], by.loc["internal"]
            sentences.append(
                f"{week} {kind}: market Brier {_num(m.brier)} vs internal {_num(i.brier)} on {int(i.n_paired)} "
                f"paired predictions (BSS of internal vs market {_num(i.bss_vs_market, 3)})."
            )
    return " ".join(sentences) or "no resolved market questions"
