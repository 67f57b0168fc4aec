"""The monthly governance report: which thresholds are in force and why (their walk-forward evidence),
how the signals did by cohort, what drifted since last month, and tags that pin what produced it.

``build_report`` takes plain frames (read by the asset from the lake) and returns the tables, the tags
and one offline HTML page with plots (plotly, one shared ``plotly.min.js`` beside the page).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots
from scipy import stats

from tracer_assets.lake import Lake
from tracer_assets.pipeline.governed import read_governed
from tracer_assets.pipeline.store import Store
from tracer_assets.research.governance import fold_evidence, in_force
from tracer_assets.settings import FIELD_SECTION, TracerSettings

DRIFT_FEATURES = ("ret_1h", "realized_vol", "volume_z")
DAY = pd.Timedelta(days=1)
PATH_SETTINGS = ("lake_root", "sim_truth_root", "outbox_dir", "universe")  # where, not what


@dataclass
class ReportInputs:
    """What the report reads for ``month`` (``YYYY-MM``); ``*_last`` cover the month before."""

    month: str
    folds: pd.DataFrame
    summaries: pd.DataFrame
    governed: pd.DataFrame
    observations: pd.DataFrame
    observations_last: pd.DataFrame
    features: pd.DataFrame
    features_last: pd.DataFrame


@dataclass
class GovernanceReport:
    month: str
    tags: dict[str, str]
    in_force: dict[str, object]
    chosen: pd.DataFrame
    cohorts: pd.DataFrame
    drift: pd.DataFrame
    html: str


def report_inputs(store: Store, month: str) -> ReportInputs:
    """The lake rows the report of ``month`` reads (and the month before, for drift)."""
    start = pd.Timestamp(f"{month}-01", tz="UTC")
    end, prev = start + pd.DateOffset(months=1), start - pd.DateOffset(months=1)
    folds = store.read("walk_forward_folds", None, start)
    summaries = store.read("walk_forward_summary", None, end - DAY)
    if len(summaries):
        oos = pd.to_datetime(summaries["oos_start"], utc=True), pd.to_datetime(summaries["oos_end"], utc=True)
        summaries = summaries[((oos[0] <= start) & (oos[1] >= end)).to_numpy()]
    return ReportInputs(
        month=month,
        folds=folds,
        summaries=summaries,
        governed=read_governed(store),
        observations=store.read("eval_observations", start, end - DAY),
        observations_last=store.read("eval_observations", prev, start - DAY),
        features=store.read("price_features", start, end - DAY),
        features_last=store.read("price_features", prev, start - DAY),
    )


def frame_hash(df: pd.DataFrame) -> str:
    """A content hash of a frame's rows (column order and names included, index ignored)."""
    h = hashlib.sha256(",".join(map(str, df.columns)).encode())
    if len(df):
        h.update(pd.util.hash_pandas_object(df.astype(str), index=False).to_numpy().tobytes())
    return h.hexdigest()[:16]


def settings_hash(settings: TracerSettings) -> str:
    """A hash of every setting that changes results (paths and secrets left out)."""
    excluded: dict[str, set[str]] = {}
    for name in PATH_SETTINGS:
        excluded.setdefault(FIELD_SECTION[name], set()).add(name)
    dump = settings.model_dump(mode="json", exclude=excluded)
    blob = json.dumps(dump, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def git_commit() -> str:
    """The checkout's commit when the package runs from one, else ``unknown``."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "unknown"


def version_tags(settings: TracerSettings, inputs: ReportInputs) -> dict[str, str]:
    """Package version, git commit, settings hash, and a content hash of each input and of all."""
    try:
        version = metadata.version("tracer_assets")
    except metadata.PackageNotFoundError:
        version = "unknown"
    hashes = {
        f"input_{name}": frame_hash(getattr(inputs, name))
        for name in ("folds", "summaries", "governed", "observations", "features")
    }
    return {
        "package_version": version,
        "git_commit": git_commit(),
        "settings_hash": settings_hash(settings),
        "inputs_hash": hashlib.sha256("".join(hashes.values()).encode()).hexdigest()[:16],
        **hashes,
    }


def _signal_obs(obs: pd.DataFrame) -> pd.DataFrame:
    return obs[obs["kind"] == "signal"] if len(obs) else obs


def cohort_table(observations: pd.DataFrame) -> pd.DataFrame:
    """Resolved signals by cohort (asset class : direction): n, hit rate, mean probability, Brier."""
    obs = _signal_obs(observations)
    cols = ["cohort", "n", "hit_rate", "mean_prob", "brier"]
    if obs.empty:
        return pd.DataFrame(columns=cols)
    p, y = obs["predicted_prob"].astype(float), obs["outcome"].astype(float)
    frame = pd.DataFrame({"cohort": obs["cohort"].astype(str), "p": p, "y": y, "se": (p - y) ** 2})
    rows = [
        ("all", len(frame), frame["y"].mean(), frame["p"].mean(), frame["se"].mean()),
        *(
            (c, len(g), g["y"].mean(), g["p"].mean(), g["se"].mean())
            for c, g in frame.groupby("cohort", sort=True)
        ),
    ]
    return pd.DataFrame(rows, columns=cols)


def drift_table(inputs: ReportInputs) -> pd.DataFrame:
    """This month against the last: hit rate, Brier and calibration gap of resolved signals, and each
    feature's mean with a two-sample Kolmogorov-Smirnov test of its distribution."""
    rows = []
    now, last = _signal_obs(inputs.observations), _signal_obs(inputs.observations_last)

    def outcome_stats(obs: pd.DataFrame) -> dict[str, float]:
        if obs.empty:
            return {"n_resolved": 0.0, "hit_rate": np.nan, "brier": np.nan, "calibration_gap": np.nan}
        p, y = obs["predicted_prob"].astype(float), obs["outcome"].astype(float)
        return {
            "n_resolved": float(len(obs)),
            "hit_rate": float(y.mean()),
            "brier": float(((p - y) ** 2).mean()),
            "calibration_gap": float(p.mean() - y.mean()),
        }

    a, b = outcome_stats(now), outcome_stats(last)
    rows += [(k, a[k], b[k], a[k] - b[k], np.nan, np.nan) for k in a]
    for feature in DRIFT_FEATURES:
        x = _finite(inputs.features, feature)
        z = _finite(inputs.features_last, feature)
        ks, p = stats.ks_2samp(x, z) if len(x) and len(z) else (np.nan, np.nan)
        mx, mz = (float(v.mean()) if len(v) else np.nan for v in (x, z))
        rows.append((f"{feature} mean", mx, mz, mx - mz, float(ks), float(p)))
    return pd.DataFrame(rows, columns=["metric", "this_month", "last_month", "change", "ks_stat", "ks_p"])


def _finite(df: pd.DataFrame, col: str) -> np.ndarray:
    if df.empty or col not in df.columns:
        return np.array([])
    v = df[col].astype(float).to_numpy()
    return v[np.isfinite(v)]


def build_report(settings: TracerSettings, inputs: ReportInputs) -> GovernanceReport:
    """The report's tables, tags and HTML page for ``inputs.month``."""
    start = pd.Timestamp(f"{inputs.month}-01", tz="UTC")
    version, params = in_force(inputs.governed, start)
    version_end, params_end = in_force(inputs.governed, start + pd.DateOffset(months=1) - pd.Timedelta(1))
    chosen = inputs.folds.copy()
    if len(chosen):
        chosen = chosen.sort_values("oos_start")
        chosen = fold_evidence(chosen)
    in_force_info = {
        "version_at_start": version or "defaults",
        "params_at_start": params,
        "version_at_end": version_end or "defaults",
        "params_at_end": params_end,
    }
    tags = version_tags(settings, inputs)
    cohorts = cohort_table(inputs.observations)
    drift = drift_table(inputs)
    html = render_html(inputs, tags, in_force_info, chosen, cohorts, drift)
    return GovernanceReport(inputs.month, tags, in_force_info, chosen, cohorts, drift, html)


def _figures(inputs: ReportInputs, chosen: pd.DataFrame, cohorts: pd.DataFrame) -> go.Figure:
    fig = make_subplots(
        rows=3,
        cols=1,
        subplot_titles=(
            "Walk-forward folds: in-sample vs out-of-sample Sharpe of the chosen thresholds",
            "Resolved signals this month: hit rate by cohort",
            "Feature distributions: this month vs last (volume z-score)",
        ),
        vertical_spacing=0.1,
    )
    if len(chosen):
        for col, name in (("is_objective", "in sample"), ("oos_objective", "out of sample")):
            fig.add_trace(go.Bar(x=chosen["fold_id"], y=chosen[col], name=name), row=1, col=1)
    if len(cohorts):
        fig.add_trace(
            go.Bar(x=cohorts["cohort"], y=cohorts["hit_rate"], name="hit rate", text=cohorts["n"]),
            row=2,
            col=1,
        )
    for df, name in ((inputs.features, "this month"), (inputs.features_last, "last month")):
        v = _finite(df, "volume_z")
        if len(v):
            fig.add_trace(
                go.Histogram(x=v, name=name, opacity=0.6, histnorm="probability density"), row=3, col=1
            )
    fig.update_layout(barmode="group", height=1100, template="plotly_white")
    return fig


def render_html(
    inputs: ReportInputs,
    tags: dict[str, str],
    in_force_info: dict[str, object],
    chosen: pd.DataFrame,
    cohorts: pd.DataFrame,
    drift: pd.DataFrame,
) -> str:
    """One HTML page: tables, then the plots (loading the shared ``plotly.min.js`` beside it)."""

    def table(df: pd.DataFrame) -> str:
        return (
            df.to_html(index=False, float_format=lambda x: f"{x:.4f}", na_rep="-")
            if len(df)
            else "<p>none</p>"
        )

    summaries = inputs.summaries
    plot = _figures(inputs, chosen, cohorts).to_html(full_html=False, include_plotlyjs="directory")
    parts = [
        f"<html><head><meta charset='utf-8'><title>Tracer governance {inputs.month}</title></head><body>",
        f"<h1>Tracer governance report {inputs.month}</h1>",
        "<h2>Thresholds in force</h2>",
        f"<pre>{json.dumps(in_force_info, indent=2, sort_keys=True, default=str)}</pre>",
        "<h2>Chosen in sample, judged out of sample (walk_forward_folds)</h2>",
        table(chosen),
        "<h2>Stitched out-of-sample evidence (walk_forward_summary)</h2>",
        table(summaries),
        "<h2>Cohorts (resolved signals this month)</h2>",
        table(cohorts),
        "<h2>Drift since last month</h2>",
        table(drift),
        "<h2>Version tags</h2>",
        table(pd.DataFrame(sorted(tags.items()), columns=["tag", "value"])),
        plot,
        "</body></html>",
    ]
    return "\n".join(parts)


GOVERNANCE_DIR = "artifacts/governance"


def write_report(report: GovernanceReport, lake: Lake) -> str:
    """Write the page through the lake's file API (local or S3), with one shared ``plotly.min.js``
    beside it; returns where it lives (a path or an s3:// URL)."""
    from plotly.offline import get_plotlyjs

    from tracer_assets.evaluation.plots import PLOTLY_BUNDLE

    bundle = f"{GOVERNANCE_DIR}/{PLOTLY_BUNDLE}"
    if not lake.exists(bundle):
        lake.write_text(bundle, get_plotlyjs())
    page = f"{GOVERNANCE_DIR}/governance_{report.month}.html"
    lake.write_text(page, report.html)
    return lake.uri(page)


def report_row(report: GovernanceReport, path: str) -> pd.DataFrame:
    """The ``governance_report`` lake row of a report (available at the month's end)."""
    start = pd.Timestamp(f"{report.month}-01", tz="UTC")
    return pd.DataFrame(
        [
            {
                "month": report.month,
                "report_path": str(path),
                "params_version": str(report.in_force["version_at_end"]),
                **{
                    k: report.tags[k]
                    for k in ("package_version", "git_commit", "settings_hash", "inputs_hash")
                },
                "event_ts": start,
                "available_ts": start + pd.DateOffset(months=1),
            }
        ]
    )
