"""The tear sheet of one backtest range: a single offline HTML page (plotly), beside one shared
``plotly.min.js`` in ``<lake>/artifacts/backtest/``.

Panels: equity of Tracer against the baselines (with the placebo's 5-95% band), Tracer's drawdown,
monthly returns heatmap, the histogram of trade PnL, and gross exposure by asset class.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from tracer_assets.backtest.report import PLACEBO, TRACER, BacktestReport
from tracer_assets.evaluation.plots import PlotlyJs, write_html


def tearsheet_path(lake_root: str | Path, start: pd.Timestamp, end: pd.Timestamp) -> Path:
    last = (end - pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    return Path(lake_root) / "artifacts" / "backtest" / f"tearsheet_{start:%Y-%m-%d}_{last}.html"


def monthly_returns(daily: pd.Series) -> pd.DataFrame:
    """Compounded return per calendar month (rows = year, columns = month 1..12), in percent."""
    if len(daily) < 2:
        return pd.DataFrame()
    rets = daily.pct_change().dropna()
    idx = pd.DatetimeIndex(rets.index)
    monthly = (1 + rets).groupby([idx.year, idx.month]).prod() - 1
    table = monthly.unstack() * 100.0
    return table.reindex(columns=range(1, 13))


def tearsheet_figure(report: BacktestReport, title: str) -> go.Figure:
    fig = make_subplots(
        rows=3,
        cols=2,
        specs=[[{"colspan": 2}, None], [{}, {}], [{}, {}]],
        subplot_titles=(
            "Equity: Tracer against the baselines",
            "Tracer drawdown",
            "Monthly returns (%)",
            "Trade PnL (closed trades)",
            "Gross exposure by asset class",
        ),
        vertical_spacing=0.09,
    )
    band = report.placebo_band
    if band is not None and len(band):
        fig.add_trace(go.Scatter(x=band.index, y=band["p95"], line={"width": 0}, showlegend=False), 1, 1)
        fig.add_trace(
            go.Scatter(
                x=band.index,
                y=band["p05"],
                fill="tonexty",
                line={"width": 0},
                name="placebo 5-95%",
                opacity=0.3,
            ),
            1,
            1,
        )
        fig.add_trace(
            go.Scatter(x=band.index, y=band["p50"], name="placebo median", line={"dash": "dot"}), 1, 1
        )
    for name, daily in report.daily.items():
        width = 3 if name == TRACER else 1.5
        fig.add_trace(go.Scatter(x=daily.index, y=daily.values, name=name, line={"width": width}), 1, 1)
    tracer = report.daily.get(TRACER, pd.Series(dtype=float))
    if len(tracer):
        dd = tracer / tracer.cummax() - 1.0
        fig.add_trace(go.Scatter(x=dd.index, y=dd.values * 100, name="drawdown %", fill="tozeroy"), 2, 1)
    months = monthly_returns(tracer).dropna(axis=1, how="all")
    if len(months):
        fig.add_trace(
            go.Heatmap(
                z=months.to_numpy(),
                x=[pd.Timestamp(2000, m, 1).strftime("%b") for m in months.columns],
                y=[str(y) for y in months.index],
                colorscale="RdYlGn",
                zmid=0,
                text=np.where(np.isnan(months.to_numpy()), "", np.round(months.to_numpy(), 2).astype(str)),
                texttemplate="%{text}",
                showscale=False,
            ),
            2,
            2,
        )
    trades = report.trades
    mine = trades[(trades["strategy"] == TRACER) & ~trades["is_open"]] if len(trades) else trades
    if len(mine):
        fig.add_trace(go.Histogram(x=mine["pnl"], name="trade PnL", nbinsx=40), 3, 1)
    equity = report.equity
    sym = equity[(equity["strategy"] == TRACER) & (equity["scope"] == "symbol")] if len(equity) else equity
    if len(sym):
        by_class = sym.groupby(["ts", "asset_class"])["exposure"].sum().unstack(fill_value=0.0)
        for cls in by_class.columns:
            fig.add_trace(
                go.Scatter(
                    x=by_class.index, y=by_class[cls] * 100, name=f"{cls} exposure %", stackgroup="exp"
                ),
                3,
                2,
            )
    fig.update_layout(title=title, height=1100, template="plotly_white")
    return fig


def summary_caption(report: BacktestReport) -> str:
    s = report.summary.set_index("strategy")
    if TRACER not in s.index:
        return "no backtest"
    t = s.loc[TRACER]
    parts = [f"Tracer Sharpe {t['sharpe']:.2f}, return {t['total_return']:.2%}"]
    if PLACEBO in s.index:
        parts.append(f"placebo Sharpe 5-95% [{t['placebo_sharpe_p05']:.2f}, {t['placebo_sharpe_p95']:.2f}]")
        parts.append(f"Tracer at percentile {t['placebo_sharpe_percentile']:.0f}")
    return "; ".join(parts)


def write_tearsheet(
    report: BacktestReport, lake_root: str | Path, start: pd.Timestamp, end: pd.Timestamp, plotlyjs: PlotlyJs
) -> Path:
    """Write the range's tear sheet (and the shared plotly.min.js once) and return its path."""
    path = tearsheet_path(lake_root, start, end)
    last = end - pd.Timedelta(days=1)
    title = f"Tracer backtest {start:%Y-%m-%d}..{last:%Y-%m-%d}: {summary_caption(report)}"
    return write_html(tearsheet_figure(report, title), path, plotlyjs)
