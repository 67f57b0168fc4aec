"""``tracer demo``: single-run backfills of the whole DAG on a persistent Dagster instance.

One run per partitioning (the daily range, then the weekly range, then the unpartitioned SQL
models), so the runs show in ``make ui`` afterwards. Ends by printing the latest digest, the weekly
metrics table and where the lake is.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@dataclass(frozen=True)
class DemoRange:
    first_day: str
    last_day: str
    first_week: str
    last_week: str


def day_range(first_day: str, last_day: str) -> DemoRange:
    """The daily keys ``first_day``..``last_day`` and the weeks (Monday keys) that touch them."""
    from tracer_assets.pipeline.window import monday_of

    return DemoRange(
        first_day,
        last_day,
        monday_of(first_day).strftime("%Y-%m-%d"),
        monday_of(last_day).strftime("%Y-%m-%d"),
    )


def demo_range(days: int, today: pd.Timestamp | None = None) -> DemoRange:
    """``days`` daily partitions ending yesterday (UTC), and the weeks (Monday keys) that touch them."""
    if days < 1:
        raise ValueError("--days must be at least 1")
    today = (today or pd.Timestamp.now(tz="UTC")).normalize()
    last = today - pd.Timedelta(days=1)
    first = last - pd.Timedelta(days=days - 1)
    return day_range(first.strftime("%Y-%m-%d"), last.strftime("%Y-%m-%d"))


def run_plan(rng: DemoRange) -> list[tuple[str, list, dict[str, str]]]:
    """One run per partitioning: (label, assets, run tags) for the daily range, the weekly range and
    the unpartitioned SQL models."""
    from tracer_assets.definitions import ALL_ASSETS
    from tracer_assets.defs.partitions import daily_partitions, weekly_partitions

    return [
        (
            "daily",
            [a for a in ALL_ASSETS if a.partitions_def == daily_partitions],
            range_tags(rng.first_day, rng.last_day),
        ),
        (
            "weekly",
            [a for a in ALL_ASSETS if a.partitions_def == weekly_partitions],
            range_tags(rng.first_week, rng.last_week),
        ),
        # research assets (placebos, leak check) are studies run on demand (research_job), not a replay
        (
            "unpartitioned",
            [
                a
                for a in ALL_ASSETS
                if a.partitions_def is None and "research" not in a.group_names_by_key.values()
            ],
            {},
        ),
    ]


def ensure_dagster_home(project_root: Path) -> Path:
    """Respect ``DAGSTER_HOME`` when set; else use ``<project>/.dagster_home`` (persistent)."""
    home = Path(os.environ.get("DAGSTER_HOME") or project_root / ".dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    cfg = home / "dagster.yaml"
    if not cfg.exists():
        cfg.write_text("telemetry:\n  enabled: false\n")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def range_tags(start: str, end: str) -> dict[str, str]:
    return {"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end}


def run_demo(days: int = 60, echo=print) -> int:
    warnings.filterwarnings("ignore")
    import dagster as dg

    from tracer_assets.definitions import ALL_ASSETS, build_definitions
    from tracer_assets.settings import TracerSettings

    settings = TracerSettings()
    home = ensure_dagster_home(Path.cwd())
    rng = demo_range(days)
    if rng.first_day < settings.partitions_start:
        raise SystemExit(f"--days {days} starts before TRACER_PARTITIONS_START={settings.partitions_start}")
    defs = build_definitions()
    resources = {"tracer": defs.resources["tracer"]}
    instance = dg.DagsterInstance.get()
    echo(
        f"Tracer demo: {days} days {rng.first_day}..{rng.last_day}, lake {Path(settings.lake_root).resolve()}, DAGSTER_HOME {home}"
    )

    plan = run_plan(rng)
    for i, (label, assets, tags) in enumerate(plan, 1):
        span = (
            f" {tags['dagster/asset_partition_range_start']}..{tags['dagster/asset_partition_range_end']}"
            if tags
            else ""
        )
        echo(f"[{i}/{len(plan)}] {label}{span}: {', '.join(a.key.to_user_string() for a in assets)}")
        t0 = time.perf_counter()
        result = dg.materialize(
            ALL_ASSETS,
            selection=assets,
            instance=instance,
            resources=resources,
            tags={**tags, "tracer/demo": "true"},
            run_config=QUIET_RUN_CONFIG,
            raise_on_error=False,
        )
        # a range run reports one materialization per partition with the same metadata: show each asset once
        shown = set()
        for event in result.get_asset_materialization_events():
            mat = event.event_specific_data.materialization
            key = mat.asset_key.to_user_string()
            if key in shown:
                continue
            shown.add(key)
            rows = mat.metadata.get("dagster/row_count")
            flag = "  DEGRADED" if getattr(mat.metadata.get("degraded"), "value", False) else ""
            echo(f"      {key:<24} rows={rows.value if rows else '-'}{flag}")
        status = "ok" if result.success else "FAILED"
        echo(f"      run {result.run_id[:8]} {status} in {time.perf_counter() - t0:.1f}s")
        if not result.success:
            for ev in result.all_events:
                if ev.is_step_failure and ev.step_failure_data is not None:
                    echo(f"      {ev.step_key}: {ev.step_failure_data.error.message.strip()}")
            return 1
    print_summary(settings, echo)
    return 0


def print_summary(settings, echo=print) -> None:
    from tracer_assets.backtest.readout import backtest_lines
    from tracer_assets.lake import Lake

    lake = Lake(settings.lake_root)
    parts = lake.partitions("digest")
    echo("\n=== Latest digest ===")
    if parts:
        digest = lake.read("digest", parts[-1], parts[-1])
        whole = digest[digest["section"] == "digest"]["text"]
        echo(whole.iloc[0] if len(whole) else f"(no digest on {parts[-1]})")
    echo("\n=== Weekly metrics ===")
    metrics = (
        lake.query(
            "SELECT week, kind, predictor, n, round(brier, 4) AS brier, round(log_loss, 4) AS log_loss, "
            "round(hit_rate, 3) AS hit_rate, round(bss_vs_market, 3) AS skill_vs_market FROM eval_metrics "
            "WHERE cohort_dim = 'all' ORDER BY week, kind, predictor"
        )
        if "eval_metrics" in lake.tables()
        else pd.DataFrame()
    )
    echo(metrics.to_string(index=False) if len(metrics) else "(no resolved predictions yet)")
    echo("\n=== Backtest (signals vs baselines) ===")
    echo("\n".join(backtest_lines(lake)))
    echo(f'\nLake: {lake.root.resolve()}  (query it: tracer sql "select count(*) from signals")')
