"""Assemble the report's sections into one self-contained HTML page (plotly.js inlined once)."""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from plotly.offline import get_plotlyjs

from tracer_assets.lake import Lake
from tracer_assets.lake.atomic import atomic_write_text
from tracer_assets.report.sections import (
    Section,
    Window,
    calibration_section,
    cohort_section,
    equity_section,
    health_section,
    polymarket_section,
    walk_forward_section,
)
from tracer_assets.settings import ReportSettings

SECTIONS: list[tuple[str, Callable[[Lake, Window], Section]]] = [
    ("equity", equity_section),
    ("calibration", calibration_section),
    ("cohorts", cohort_section),
    ("polymarket", polymarket_section),
    ("walkforward", walk_forward_section),
    ("health", health_section),
]

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
h1 { margin-bottom: 0; } .meta { color: #666; margin-top: .25rem; }
section { border-top: 1px solid #ddd; padding: 1rem 0; }
p.missing { color: #8a6d3b; background: #fcf8e3; padding: .5rem .75rem; border-radius: 4px; }
table { border-collapse: collapse; font-size: .85rem; margin: .5rem 0 1rem; }
th, td { border: 1px solid #ddd; padding: .2rem .5rem; text-align: right; }
th { background: #f5f5f5; } td:first-child, th:first-child { text-align: left; }
nav a { margin-right: 1rem; }
"""


def _table_html(caption: str, df: pd.DataFrame, rows: int) -> str:
    shown = df.head(rows)
    more = f" (first {rows} of {len(df)})" if len(df) > rows else ""
    body = shown.to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep="", border=0)
    return f"<h3>{html.escape(caption)}{more}</h3>{body}"


def _section_html(section: Section, rows: int) -> str:
    parts = [
        f'<section id="{section.key}" data-section="{section.key}">',
        f"<h2>{html.escape(section.title)}</h2>",
        f"<p>{html.escape(section.intro)}</p>",
    ]
    if section.missing:
        parts.append(f'<p class="missing">{html.escape(section.missing)}</p>')
    for fig in section.figures:
        parts.append(f'<div class="figure">{fig.to_html(full_html=False, include_plotlyjs=False)}</div>')
    parts.extend(_table_html(caption, df, rows) for caption, df in section.tables)
    parts.append("</section>")
    return "\n".join(parts)


def build_report(
    lake: Lake,
    settings: ReportSettings,
    window: Window | None = None,
    on_section: Callable[[str], None] | None = None,
) -> tuple[str, list[Section]]:
    """The page's HTML and its sections; ``on_section`` is told each section key once it is built."""
    window = window or Window()
    sections = []
    for key, build in SECTIONS:
        sections.append(build(lake, window))
        if on_section:
            on_section(key)
    span = f"{window.start or 'first day'} to {window.end or 'last day'}"
    nav = " ".join(f'<a href="#{s.key}">{html.escape(s.title)}</a>' for s in sections)
    page = "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8"><title>Tracer report</title>',
            f"<style>{_STYLE}</style>",
            f'<script type="text/javascript">{get_plotlyjs()}</script>',
            "</head><body>",
            "<h1>Tracer report</h1>",
            f'<p class="meta">Lake {html.escape(lake.url)}, {html.escape(span)}.</p>',
            f"<nav>{nav}</nav>",
            *(_section_html(s, settings.report_table_rows) for s in sections),
            "</body></html>",
        ]
    )
    return page, sections


def write_report(page: str, out: str | Path) -> Path:
    """Write the page atomically (temp file beside it, then rename); readable by all, as a report is
    meant to be shared."""
    return atomic_write_text(out, page, mode=0o644)
