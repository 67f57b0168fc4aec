"""Reliability and Brier-over-time figures, written as offline HTML."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from tracer_assets.evaluation.brier_history import BrierHistory
from tracer_assets.evaluation.calibration_bins import calibration_bins
from tracer_assets.evaluation.plots import brier_over_time_figure, reliability_figure, write_html

EXTERNAL_SCRIPT = re.compile(r"<script[^>]*src=\"https?://", re.IGNORECASE)


def bins() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    p = rng.uniform(size=200)
    obs = pd.DataFrame(
        {
            "kind": "market",
            "predictor": rng.choice(["internal", "market"], 200),
            "predicted_prob": p,
            "outcome": (rng.uniform(size=200) < p).astype(int),
        }
    )
    return pd.concat([calibration_bins(obs, 5, s) for s in ("uniform", "quantile")], ignore_index=True)


def metrics() -> pd.DataFrame:
    weeks = ["2024-03-04", "2024-03-11", "2024-03-18"]
    rows = []
    for i, week in enumerate(weeks):
        for predictor in ("internal", "market"):
            brier = 0.2 + 0.01 * i
            rows.append(
                {
                    "week": week,
                    "kind": "market",
                    "predictor": predictor,
                    "cohort_dim": "all",
                    "cohort": "all",
                    "n": 50,
                    "brier": brier,
                    "brier_lo": brier - 0.02,
                    "brier_hi": brier + 0.03,
                }
            )
        rows.append(
            {
                "week": week,
                "kind": "signal",
                "predictor": "internal",
                "cohort_dim": "direction",
                "cohort": "long",
                "n": 9,
                "brier": 0.3,
                "brier_lo": 0.2,
                "brier_hi": 0.4,
            }
        )
    return pd.DataFrame(rows)


def test_reliability_figure_has_a_diagonal_and_one_line_per_group():
    table = bins()
    fig = reliability_figure(table)
    names = [t.name for t in fig.data]
    assert names[0] == "perfectly calibrated"
    assert len(fig.data) == 1 + table.groupby(["kind", "predictor", "strategy"]).ngroups
    first = table[(table["predictor"] == "internal") & (table["strategy"] == "quantile")]
    trace = next(t for t in fig.data if t.name == "market / internal / quantile")
    np.testing.assert_allclose(sorted(trace.y), sorted(first["observed_freq"]))


def test_brier_over_time_picks_a_cohort_dimension_and_shows_intervals():
    fig = brier_over_time_figure(metrics())
    assert sorted(t.name for t in fig.data) == ["market / internal / all", "market / market / all"]
    trace = fig.data[0]
    assert len(trace.x) == 3
    np.testing.assert_allclose(trace.error_y.array, [0.03, 0.03, 0.03])
    np.testing.assert_allclose(trace.error_y.arrayminus, [0.02, 0.02, 0.02])
    by_direction = brier_over_time_figure(metrics(), cohort_dim="direction")
    assert [t.name for t in by_direction.data] == ["signal / internal / long"]


def test_the_carried_history_draws_the_same_pages_as_the_whole_history():
    """Week by week, the carried plotted columns draw each dimension's page exactly as the whole
    eval_metrics history does; the chained digest follows the data, not how the weeks were added."""
    full = metrics().assign(log_loss=0.6, hit_rate=0.5)  # columns the page does not plot
    weeks = sorted(full["week"].unique())
    carried = BrierHistory()
    for i, week in enumerate(weeks):
        carried.add(full[full["week"] == week])
        upto = full[full["week"] <= week]
        for dim in ("all", "direction", "cohort"):
            expected = brier_over_time_figure(upto, cohort_dim=dim, title=f"to {week}")
            drawn = brier_over_time_figure(carried.rows(dim), cohort_dim=dim, title=f"to {week}")
            assert drawn.to_json() == expected.to_json(), (week, dim)
        assert len(carried.rows("all")) == 2 * (i + 1)
    at_once = BrierHistory()
    at_once.add(full)
    assert at_once.digest("all") == carried.digest("all") and at_once.digest("direction") == carried.digest(
        "direction"
    )
    changed = BrierHistory()
    changed.add(full.assign(brier=np.where(full["week"] == weeks[0], full["brier"] + 0.01, full["brier"])))
    assert changed.digest("all") != carried.digest("all")


def test_empty_inputs_give_an_annotated_figure():
    assert reliability_figure(bins().iloc[:0]).layout.annotations[0].text == "no resolved predictions"
    assert len(brier_over_time_figure(metrics().iloc[:0]).data) == 0


def test_write_html_directory_mode_is_offline(tmp_path):
    page = write_html(reliability_figure(bins()), tmp_path / "plots" / "reliability.html")
    html = page.read_text()
    assert '<script charset="utf-8" src="plotly.min.js"></script>' in html
    assert not EXTERNAL_SCRIPT.search(html)
    assert (page.parent / "plotly.min.js").stat().st_size > 1_000_000
    second = write_html(brier_over_time_figure(metrics()), tmp_path / "plots" / "brier.html")
    assert second.exists()
    assert not list((tmp_path / "plots").glob(".tmp-*"))


def test_write_html_inline_mode_embeds_plotly(tmp_path):
    page = write_html(brier_over_time_figure(metrics()), tmp_path / "brier.html", plotlyjs="inline")
    html = page.read_text()
    assert not EXTERNAL_SCRIPT.search(html)
    assert len(html) > 1_000_000
    assert not (tmp_path / "plotly.min.js").exists()


def test_write_html_refuses_a_cdn(tmp_path):
    with pytest.raises(ValueError, match="no CDN"):
        write_html(reliability_figure(bins()), tmp_path / "x.html", plotlyjs="cdn")


def test_the_once_validated_template_draws_the_figure_plotly_white_draws():
    """Both figures as plotly itself builds them with ``template="plotly_white"`` (the template validated
    per figure, every trace from the frame's columns): the same JSON, key order included."""
    import plotly.graph_objects as go

    from tracer_assets.evaluation.plots import white_figure

    for fig, title in (
        (reliability_figure(bins()), "Reliability diagram"),
        (brier_over_time_figure(metrics()), None),
    ):
        reference = go.Figure(data=[go.Scatter(t.to_plotly_json()) for t in fig.data])
        reference.update_layout(fig.layout.to_plotly_json() | {"template": "plotly_white"})
        assert fig.to_json() == reference.to_json(), title
    plain = white_figure()
    plain.update_layout(title="t")
    reference = go.Figure()
    reference.update_layout(title="t", template="plotly_white")
    assert plain.to_json() == reference.to_json()
    assert white_figure().layout.template.layout.paper_bgcolor == "white"


def test_brier_lines_from_arrays_equal_lines_from_the_columns():
    """The traces take plain arrays; plotly given the frame's columns (as it was) draws the same JSON,
    with a missing bound kept missing and a bound on the wrong side clipped to zero."""
    import plotly.graph_objects as go

    table = metrics()
    table.loc[0, "brier_lo"] = np.nan
    table.loc[1, "brier_hi"] = table.loc[1, "brier"] - 0.01
    fig = brier_over_time_figure(table)
    rows = table[table["cohort_dim"] == "all"]
    for trace, (key, g) in zip(
        fig.data, rows.groupby(["kind", "predictor", "cohort"], sort=True), strict=True
    ):
        g = g.sort_values("week")
        reference = go.Scatter(
            x=pd.to_datetime(g["week"]),
            y=g["brier"],
            mode="lines+markers",
            name=" / ".join(key),
            error_y={
                "type": "data",
                "symmetric": False,
                "array": (g["brier_hi"] - g["brier"]).clip(lower=0),
                "arrayminus": (g["brier"] - g["brier_lo"]).clip(lower=0),
            },
            customdata=g["n"],
            hovertemplate=trace.hovertemplate,
        )
        assert go.Figure(trace).to_json() == go.Figure(reference).to_json(), key


def test_a_page_is_the_page_plotly_writes():
    """page_html, which does not copy the template per page, writes plotly's own to_html page."""
    from tracer_assets.evaluation.plots import page_html

    for fig in (
        reliability_figure(bins()),
        brier_over_time_figure(metrics()),
        reliability_figure(bins().iloc[:0]),
    ):
        for include in ("directory", "../plotly.min.js"):
            expected = fig.to_html(include_plotlyjs=include, full_html=True, div_id="page")
            assert page_html(fig, include, div_id="page") == expected
    assert len(page_html(reliability_figure(bins()), True)) > 1_000_000  # the library inline
