"""Files beside the weekly snapshot: CSV copies of the tables and offline Plotly HTML.

Everything for week W lands in ``<lake>/artifacts/evaluation/week=W/``; file names are fixed so a
re-materialization replaces them.
"""

import math

import pandas as pd

from tracer_assets.evaluation.brier_history import BrierHistory, frame_digest
from tracer_assets.evaluation.metrics import COHORT_DIMS
from tracer_assets.evaluation.plots import (
    brier_over_time_figure,
    reliability_figure,
    write_html,
    write_text_file,
)
from tracer_assets.lake import Lake, LakePath

PLOT_KINDS = ("signal", "market")  # always drawn (an empty week gets an annotated empty figure)


def week_dir(lake: Lake, week: str) -> LakePath:
    return lake.path(f"artifacts/evaluation/week={week}")


def bundle_dir(folder: LakePath) -> LakePath:
    """Where the weekly pages' one shared ``plotly.min.js`` lies: above the week folders."""
    return folder.parent if folder.name.startswith("week=") else folder


def unchanged(folder: LakePath, name: str, digest: str | None) -> bool:
    """Were ``name``'s plots in ``folder`` drawn from data with this ``digest``? Records it in
    ``folder/.name.hash`` for next time; a week whose inputs did not change keeps its pages instead of
    redrawing them. No digest (unhashable data): always redraw."""
    if digest is None:
        return False
    stamp = folder / f".{name}.hash"
    same = stamp.exists() and stamp.read_text() == digest
    if not same:
        write_text_file(stamp, digest)
    return same


def unchanged_plots(folder: LakePath, name: str, data: pd.DataFrame, *extra: str) -> bool:
    """``unchanged`` for plots drawn from ``data`` (and ``extra``)."""
    return unchanged(folder, name, frame_digest(data, *extra))


def write_csv(df: pd.DataFrame, path: LakePath) -> LakePath:
    """Write ``df`` as CSV through the lake's file API (the old file is replaced whole)."""
    write_text_file(path, df.to_csv(index=False))
    return path


def reliability_plots(bins: pd.DataFrame, folder: LakePath, week: str, plotlyjs: str) -> dict[str, LakePath]:
    """One reliability diagram per kind (signal, market, and any other kind present) and strategy."""
    kinds = sorted(set(PLOT_KINDS) | (set(bins["kind"]) if len(bins) else set()))
    paths = {}
    for kind in kinds:
        for strategy in ("uniform", "quantile"):
            rows = bins[(bins["kind"] == kind) & (bins["strategy"] == strategy)] if len(bins) else bins
            suffix = "" if strategy == "uniform" else "_quantile"
            path = folder / f"reliability_{kind}{suffix}.html"
            if path.exists() and unchanged_plots(folder, f"reliability_{kind}{suffix}", rows, week, plotlyjs):
                paths[f"reliability_{kind}{suffix}"] = path
                continue
            fig = reliability_figure(
                rows, title=f"Reliability: {kind} predictions, week of {week} ({strategy} bins)"
            )
            paths[f"reliability_{kind}{suffix}"] = write_html(fig, path, plotlyjs, bundle_dir(folder))
    return paths


def brier_plots(history: BrierHistory, folder: LakePath, week: str, plotlyjs: str) -> dict[str, LakePath]:
    """Brier score by week, one file per cohort dimension (``all`` compares the predictors)."""
    paths = {}
    for dim in COHORT_DIMS:
        path = folder / f"brier_over_time_{dim}.html"
        digest = history.digest(dim)
        if path.exists() and unchanged(
            folder, f"brier_over_time_{dim}", digest and f"{digest}|{week}|{plotlyjs}"
        ):
            paths[f"brier_over_time_{dim}"] = path
            continue
        fig = brier_over_time_figure(
            history.rows(dim), cohort_dim=dim, title=f"Brier score by week, by {dim} (to {week})"
        )
        paths[f"brier_over_time_{dim}"] = write_html(fig, path, plotlyjs, bundle_dir(folder))
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
