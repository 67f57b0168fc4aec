"""Plotly figures for the evaluation snapshots, written as offline HTML (no CDN: no internet here)."""

from __future__ import annotations

import copy
import functools
import os
import posixpath
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from _plotly_utils.utils import convert_to_base64
from plotly.offline import get_plotlyjs

from tracer_assets.lake.atomic import atomic_write_text
from tracer_assets.lake.store import LakePath

PlotlyJs = Literal["inline", "directory"]
PLOTLY_BUNDLE = "plotly.min.js"  # the name plotly's include_plotlyjs="directory" pages load

_GROUP_KEYS = ("kind", "predictor", "strategy")


def _label(row: tuple, names: list[str]) -> str:
    return " / ".join(str(v) for v, n in zip(row, names, strict=True) if n)


@functools.cache
def _white_template() -> go.layout.Template:
    """plotly_white exactly as ``template="plotly_white"`` sets it (a validated deep copy), made once."""
    return copy.deepcopy(pio.templates["plotly_white"])


def white_figure() -> go.Figure:
    """An empty figure on the plotly_white template, the same figure as ``update_layout(template=
    "plotly_white")`` gives. Validating the whole template again was most of a small page's cost; the
    copy made once is attached unvalidated, the way plotly attaches its default template."""
    fig = go.Figure()
    layout = fig.layout
    layout._validate = False
    try:
        layout.template = _white_template()
    finally:
        layout._validate = True
    return fig


def _empty_note(fig: go.Figure, text: str) -> go.Figure:
    fig.add_annotation(text=text, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False)
    return fig


def reliability_figure(bins: pd.DataFrame, title: str = "Reliability diagram") -> go.Figure:
    """Observed frequency against mean predicted probability per bin, one line per kind / predictor /
    strategy present in ``bins`` (a ``calibration_bins`` table); marker area grows with the bin count."""
    fig = white_figure()
    fig.add_trace(
        go.Scatter(
            x=[0, 1],
            y=[0, 1],
            mode="lines",
            name="perfectly calibrated",
            line={"dash": "dash", "color": "grey"},
        )
    )
    fig.update_layout(
        title=title,
        xaxis={"title": "mean predicted probability", "range": [0, 1]},
        yaxis={"title": "observed frequency", "range": [0, 1]},
    )
    if bins.empty:
        return _empty_note(fig, "no resolved predictions")
    keys = [k for k in _GROUP_KEYS if k in bins.columns]
    groups = bins.groupby(keys, sort=True) if keys else [((), bins)]
    biggest = float(bins["count"].max())
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        g = g.sort_values("mean_predicted")
        sizes = 6 + 18 * np.sqrt(g["count"].to_numpy(dtype=float) / biggest)
        hover = [
            f"bin ({lo:.2f}, {hi:.2f}]<br>n = {n}<br>predicted {p:.3f}<br>observed {o:.3f}"
            for lo, hi, n, p, o in zip(
                g["bin_lo"], g["bin_hi"], g["count"], g["mean_predicted"], g["observed_freq"], strict=True
            )
        ]
        fig.add_trace(
            go.Scatter(
                x=g["mean_predicted"].to_numpy(),
                y=g["observed_freq"].to_numpy(),
                mode="lines+markers",
                name=_label(key, keys) or "all",
                marker={"size": sizes},
                hovertext=hover,
                hoverinfo="text",
            )
        )
    return fig


def brier_over_time_figure(
    metrics: pd.DataFrame, cohort_dim: str | None = "all", title: str = "Brier score by week"
) -> go.Figure:
    """Weekly Brier score (with its bootstrap interval when present) per kind / predictor / cohort,
    from ``eval_metrics`` rows; ``cohort_dim`` picks which cohorts (None = every row)."""
    fig = white_figure()
    fig.update_layout(
        title=title,
        xaxis={"title": "week"},
        yaxis={"title": "Brier score (lower is better)"},
    )
    rows = (
        metrics
        if cohort_dim is None or "cohort_dim" not in metrics
        else metrics[metrics["cohort_dim"] == cohort_dim]
    )
    rows = rows[rows["brier"].notna()] if len(rows) else rows
    if rows.empty:
        return _empty_note(fig, "no weekly scores yet")
    keys = [k for k in ("kind", "predictor", "cohort_dim", "cohort") if k in rows.columns]
    if cohort_dim is not None and "cohort_dim" in keys:
        keys.remove("cohort_dim")
    # plain arrays into the traces: what plotly would turn the columns into, without its per-column
    # dataframe conversion; the week parsed once for every line
    rows = rows.assign(_week_ts=pd.to_datetime(rows["week"]))
    for key, g in rows.groupby(keys, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        g = g.sort_values("week")
        brier = g["brier"].to_numpy()
        error = None
        if {"brier_lo", "brier_hi"} <= set(g.columns):
            above, below = g["brier_hi"].to_numpy() - brier, brier - g["brier_lo"].to_numpy()
            error = {
                "type": "data",
                "symmetric": False,
                "array": np.where(above < 0, 0.0, above),  # clipped at 0, NaN kept
                "arrayminus": np.where(below < 0, 0.0, below),
            }
        fig.add_trace(
            go.Scatter(
                x=g["_week_ts"].to_numpy(),
                y=brier,
                mode="lines+markers",
                name=_label(key, keys),
                error_y=error,
                customdata=g["n"].to_numpy() if "n" in g else None,
                hovertemplate="%{x|%Y-%m-%d}<br>Brier %{y:.4f}<br>n = %{customdata}<extra></extra>",
            )
        )
    return fig


def write_html(
    fig: go.Figure,
    path: str | Path | LakePath,
    plotlyjs: PlotlyJs = "directory",
    bundle_dir: str | Path | LakePath | None = None,
) -> Path | LakePath:
    """Write ``fig`` as a self-standing HTML file that works offline, to a local path or a lake path.

    ``plotlyjs="directory"`` writes one shared ``plotly.min.js`` beside the file (small pages), or in
    ``bundle_dir`` (a folder above it) when given, so many folders of pages share one copy;
    ``"inline"`` embeds the library in every file. Each file replaces the old one whole (temp file and
    rename locally, one object on S3).
    """
    if plotlyjs not in ("inline", "directory"):
        raise ValueError(f"plotlyjs must be 'inline' or 'directory' (no CDN offline), got {plotlyjs!r}")
    path = path if isinstance(path, LakePath) else Path(path)
    include: bool | str = True
    if plotlyjs == "directory":
        folder = path.parent if bundle_dir is None else bundle_dir
        folder = folder if isinstance(folder, LakePath) else Path(folder)
        if not (folder / PLOTLY_BUNDLE).exists():
            write_text_file(folder / PLOTLY_BUNDLE, get_plotlyjs())
        # a relative src ending in .js: the page loads the shared copy, wherever the lake is moved
        include = "directory" if bundle_dir is None else _relative(folder / PLOTLY_BUNDLE, path.parent)
    write_text_file(path, page_html(fig, include))
    return path


def page_html(fig: go.Figure, include_plotlyjs: bool | str, div_id: str | None = None) -> str:
    """``fig.to_html(include_plotlyjs=..., full_html=True)``, the same page. The figure's dict is made
    as ``fig.to_dict()`` makes it except for the template, most of a small figure and only read by the
    page: it is not deep-copied and searched for arrays per page."""
    if fig.frames:
        return fig.to_html(include_plotlyjs=include_plotlyjs, full_html=True, div_id=div_id)
    props = fig._layout  # the layout's properties, as to_dict reads them
    layout = {k: copy.deepcopy(v) for k, v in props.items() if k != "template"}
    data = {"data": copy.deepcopy(fig._data), "layout": layout}
    convert_to_base64(data)
    if "template" in props:  # back in its place: the layout's keys keep their order in the page
        data["layout"] = {k: props[k] if k == "template" else layout[k] for k in props}
    return pio.to_html(data, include_plotlyjs=include_plotlyjs, full_html=True, validate=False, div_id=div_id)


def _relative(target: Path | LakePath, start: Path | LakePath) -> str:
    """``target`` relative to the folder ``start`` (posix separators: a URL in the page)."""
    if isinstance(target, LakePath) and isinstance(start, LakePath):
        return posixpath.relpath(target.rel or ".", start.rel or ".")
    return Path(os.path.relpath(target, start)).as_posix()


def write_text_file(path: Path | LakePath, text: str) -> None:
    """Replace ``path`` whole: through the lake's file API for a lake path, else temp file and rename."""
    if isinstance(path, LakePath):
        path.write_text(text)
    else:
        atomic_write_text(path, text)
