"""The report's sections: each reads its lake tables and returns figures and tables, or says in one line
that its data does not exist yet. Plain pandas and plotly, no Dagster."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from scipy.stats import binomtest

from tracer_assets.evaluation.plots import reliability_figure
from tracer_assets.lake import Lake


@dataclass
class Window:
    """Inclusive day keys (YYYY-MM-DD) limiting what the report reads; None = open end."""

    start: str | None = None
    end: str | None = None


@dataclass
class Section:
    key: str
    title: str
    intro: str
    figures: list[go.Figure] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    missing: str | None = None  # one line instead of content when the data does not exist yet


def _read(lake: Lake, table: str, window: Window) -> pd.DataFrame | None:
    """The table's rows in the window, or None when the table has not been written."""
    if table not in lake.tables():
        return None
    return lake.read(table, window.start, window.end)


def _rows(lake: Lake, table: str, window: Window) -> pd.DataFrame | None:
    """The table's rows in the window, or None when there are none (not written, or empty)."""
    df = _read(lake, table, window)
    return df if df is not None and len(df) else None


def _missing(key: str, title: str, intro: str, tables: list[str]) -> Section:
    names = ", ".join(f"`{t}`" for t in tables)
    return Section(key, title, intro, missing=f"No data yet: {names} not in the lake for this window.")


def _open(
    lake: Lake, window: Window, key: str, title: str, intro: str, *tables: str
) -> tuple[Section, list[pd.DataFrame | None]]:
    """A new section and each table's rows in the window (None where there are none); the section
    says 'no data yet' (``missing``) when none of the tables has rows."""
    frames = [_rows(lake, t, window) for t in tables]
    if all(f is None for f in frames):
        return _missing(key, title, intro, list(tables)), frames
    return Section(key, title, intro), frames


def _layout(fig: go.Figure, title: str, x: str, y: str, keys: bool = False) -> go.Figure:
    """Common look; ``keys``: the x values are week or day keys, shown as labels, not a time axis."""
    fig.update_layout(title=title, xaxis_title=x, yaxis_title=y, template="plotly_white", height=420)
    if keys:
        fig.update_xaxes(type="category", categoryorder="category ascending")
    return fig


def _wilson(wins: int, n: int) -> tuple[float, float]:
    if n <= 0:
        return float("nan"), float("nan")
    ci = binomtest(int(wins), int(n)).proportion_ci(confidence_level=0.95, method="wilson")
    return float(ci.low), float(ci.high)


def equity_section(lake: Lake, window: Window) -> Section:
    key, title = "equity", "Equity and drawdown against baselines"
    intro = "Backtest equity of the strategy beside its baselines, and the drawdown from each running peak."
    equity = _read(lake, "backtest_equity", window)
    if equity is None or equity.empty:
        return _missing(key, title, intro, ["backtest_equity"])
    # one curve per strategy: the whole book (per-symbol rows are the tear sheet's)
    equity = equity[equity["scope"] == "portfolio"].sort_values("ts")
    ts, value = "ts", "equity"
    groups = equity.groupby("strategy", sort=True)
    eq_fig, dd_fig = go.Figure(), go.Figure()
    for label, g in groups:
        curve = g[value].astype(float).to_numpy()
        drawdown = curve / np.maximum.accumulate(curve) - 1.0
        eq_fig.add_trace(go.Scatter(x=g[ts], y=curve, mode="lines", name=str(label)))
        dd_fig.add_trace(go.Scatter(x=g[ts], y=drawdown, mode="lines", name=str(label), fill="tozeroy"))
    section = Section(
        key,
        title,
        intro,
        figures=[
            _layout(eq_fig, "Equity", "time", "equity"),
            _layout(dd_fig, "Drawdown", "time", "drawdown"),
        ],
    )
    summary = _read(lake, "backtest_summary", window)
    if summary is not None and len(summary):
        section.tables.append(("Backtest summary", summary))
    return section


def calibration_section(lake: Lake, window: Window) -> Section:
    key, title = "calibration", "Signal hit rate and calibration"
    intro = (
        "Weekly hit rate of Tracer's signals and market reads (95% Wilson interval), and the reliability "
        "diagram: observed frequency against predicted probability over the window (uniform bins)."
    )
    section, (metrics, bins) = _open(lake, window, key, title, intro, "eval_metrics", "calibration_bins")
    if section.missing:
        return section
    if metrics is not None:
        rows = metrics[(metrics["cohort_dim"] == "all") & (metrics["predictor"] == "internal")].sort_values(
            "week"
        )
        fig = go.Figure()
        for kind, g in rows.groupby("kind", sort=True):
            lo, hi = g.get("hit_rate_lo"), g.get("hit_rate_hi")
            error = (
                {
                    "type": "data",
                    "symmetric": False,
                    "array": hi - g["hit_rate"],
                    "arrayminus": g["hit_rate"] - lo,
                }
                if lo is not None and hi is not None
                else None
            )
            fig.add_trace(
                go.Scatter(x=g["week"], y=g["hit_rate"], mode="lines+markers", name=kind, error_y=error)
            )
        section.figures.append(
            _layout(fig, "Hit rate by week (internal predictor)", "week", "hit rate", keys=True)
        )
    if bins is not None:
        uniform = bins[bins["strategy"] == "uniform"].copy()
        uniform["weighted_p"] = uniform["mean_predicted"] * uniform["count"]
        uniform["weighted_o"] = uniform["observed_freq"] * uniform["count"]
        pooled = uniform.groupby(["kind", "predictor", "strategy", "bin"], as_index=False).agg(
            bin_lo=("bin_lo", "min"),
            bin_hi=("bin_hi", "max"),
            count=("count", "sum"),
            weighted_p=("weighted_p", "sum"),
            weighted_o=("weighted_o", "sum"),
        )
        pooled = pooled[pooled["count"] > 0]
        pooled["mean_predicted"] = pooled["weighted_p"] / pooled["count"]
        pooled["observed_freq"] = pooled["weighted_o"] / pooled["count"]
        section.figures.append(reliability_figure(pooled, title="Reliability diagram (window, uniform bins)"))
    return section


def cohort_section(lake: Lake, window: Window) -> Section:
    key, title = "cohorts", "Cohort win rates"
    intro = "Win rate per cohort over the window (wins summed over weeks), with its 95% Wilson interval."
    rates = _read(lake, "eval_win_rates", window)
    if rates is None or rates.empty:
        whole = _read(lake, "cohort_win_rates", window)
        if whole is None or whole.empty:
            return _missing(key, title, intro, ["eval_win_rates", "cohort_win_rates"])
        return Section(key, title, intro, tables=[("All-time cohort win rates", whole)])
    table = rates.groupby(["kind", "predictor", "cohort_dim", "cohort"], as_index=False).agg(
        n=("n", "sum"), wins=("wins", "sum")
    )
    table = table[table["n"] > 0]
    table["win_rate"] = table["wins"] / table["n"]
    bounds = [_wilson(w, n) for w, n in zip(table["wins"], table["n"], strict=True)]
    table["win_rate_lo"] = [b[0] for b in bounds]
    table["win_rate_hi"] = [b[1] for b in bounds]
    table = table.sort_values(["kind", "predictor", "cohort_dim", "n"], ascending=[True, True, True, False])
    return Section(key, title, intro, tables=[("Cohorts (largest first within each dimension)", table)])


def polymarket_section(lake: Lake, window: Window) -> Section:
    key, title = "polymarket", "Polymarket: ours against the market"
    intro = (
        "Our probability beside the market's price on the same questions: weekly Brier score of each "
        "(lower is better), and each question's latest snapshot, ours against the market."
    )
    section, (markets, metrics) = _open(lake, window, key, title, intro, "polymarket_markets", "eval_metrics")
    if section.missing:
        return section
    if metrics is not None:
        rows = metrics[(metrics["cohort_dim"] == "all") & metrics["kind"].str.startswith("market")]
        fig = go.Figure()
        for (kind, predictor), g in rows.sort_values("week").groupby(["kind", "predictor"], sort=True):
            fig.add_trace(
                go.Scatter(x=g["week"], y=g["brier"], mode="lines+markers", name=f"{kind} / {predictor}")
            )
        section.figures.append(
            _layout(fig, "Brier score by week: internal vs market", "week", "Brier", keys=True)
        )
        paired = rows[rows["predictor"] == "internal"][["week", "kind", "n", "brier", "bss_vs_market"]]
        if len(paired):
            section.tables.append(("Skill against the market (BSS > 0: ours better)", paired))
    if markets is not None and "internal_prob" in markets.columns:
        latest = markets.sort_values("available_ts").groupby("market_id").tail(1)
        latest = latest.dropna(subset=["internal_prob", "yes_price"])
        resolved = latest["resolved_outcome"].map({1.0: "resolved yes", 0.0: "resolved no"}).fillna("open")
        fig = go.Figure()
        for label in sorted(resolved.unique()):
            g = latest[resolved == label]
            fig.add_trace(
                go.Scatter(
                    x=g["yes_price"],
                    y=g["internal_prob"],
                    mode="markers",
                    name=label,
                    text=g["question"],
                    hovertemplate="%{text}<br>market %{x:.2f}, ours %{y:.2f}",
                )
            )
        fig.add_trace(
            go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="agree", line={"dash": "dash", "color": "grey"})
        )
        section.figures.append(
            _layout(fig, "Latest snapshot per question", "market yes price", "our probability")
        )
    return section


def walk_forward_section(lake: Lake, window: Window) -> Section:
    key, title = "walkforward", "Walk-forward folds and governed thresholds"
    intro = (
        "Per fold, the objective (Sharpe net of costs) of the configuration chosen in sample, in sample "
        "and on the out-of-sample month it was frozen for; the summary's stitched out-of-sample figures "
        "with DSR and PBO; and the governed parameter versions."
    )
    section, (folds, summary, governed) = _open(
        lake, window, key, title, intro, "walk_forward_folds", "walk_forward_summary", "governed_params"
    )
    if section.missing:
        return section
    if folds is not None:
        folds = folds.sort_values("oos_start")
        fig = go.Figure()
        for col, name in (("is_objective", "in sample"), ("oos_objective", "out of sample")):
            fig.add_trace(go.Bar(x=folds["fold_id"].astype(str), y=folds[col].astype(float), name=name))
        section.figures.append(
            _layout(fig, "Chosen configuration's objective by fold", "fold", "Sharpe", keys=True)
        )
        section.tables.append(("walk forward folds", folds))
    for name, df in (("walk forward summary", summary), ("governed params", governed)):
        if df is not None:
            section.tables.append((name, df))
    return section


def health_section(lake: Lake, window: Window) -> Section:
    key, title = "health", "Data health"
    intro = "Degraded fetches per day (an input was incomplete: outage, open breaker, partial data) and quarantined rows."
    health = _read(lake, "run_health", window)
    quarantine = _read(lake, "quarantine", window)
    if health is None and quarantine is None:
        return _missing(key, title, intro, ["run_health", "quarantine"])
    section = Section(key, title, intro)
    if health is not None and len(health):
        health = health.assign(degraded=health["degraded"].astype(bool))
        per_day = health.groupby(["partition", "asset"], as_index=False)["degraded"].sum()
        fig = go.Figure()
        for asset, g in per_day.groupby("asset", sort=True):
            fig.add_trace(go.Bar(x=g["partition"], y=g["degraded"], name=asset))
        fig.update_layout(barmode="stack")
        section.figures.append(_layout(fig, "Degraded fetches per day", "day", "degraded fetches", keys=True))
        bad = health[health["degraded"]]
        summary = (
            bad.groupby(["asset", "provider", "reason"], as_index=False)
            .size()
            .rename(columns={"size": "runs"})
            if len(bad)
            else pd.DataFrame({"asset": [], "provider": [], "reason": [], "runs": []})
        )
        section.tables.append((f"Degraded runs: {len(bad)} of {len(health)} fetches", summary))
    counts = (
        quarantine.groupby(["table", "reason"], as_index=False).size().rename(columns={"size": "rows"})
        if quarantine is not None and len(quarantine)
        else pd.DataFrame({"table": [], "reason": [], "rows": []})
    )
    section.tables.append((f"Quarantined rows: {int(counts['rows'].sum()) if len(counts) else 0}", counts))
    return section
