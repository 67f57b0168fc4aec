"""The lake's half of ``tracer status``: pause switch, newest partitions, degraded inputs."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from tracer_assets.lake import Lake
from tracer_assets.ops.pause import PauseState, pause_state
from tracer_assets.providers.health import read_health


@dataclass(frozen=True)
class LakeStatus:
    paused: PauseState | None
    newest_partition: dict[str, str]  # table -> newest day key ("(whole table)" when unpartitioned)
    degraded_day: str | None
    degraded: list[dict]  # asset, provider, reason of the newest day's degraded rows (failed runs too)


def lake_status(lake: Lake) -> LakeStatus:
    newest = {}
    for table in lake.tables():
        parts = lake.partitions(table)
        newest[table] = parts[-1] if parts else "(whole table)"
    days = lake.partitions("run_health") if "run_health" in newest else []
    day = days[-1] if days else None
    degraded: list[dict] = []
    if day is not None:
        health = read_health(lake, day, day)
        bad = health[health["degraded"]] if len(health) else health
        degraded = bad[["asset", "provider", "reason"]].to_dict("records") if len(bad) else []
    return LakeStatus(pause_state(lake), newest, day, degraded)


def age_words(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    delta = pd.Timedelta(seconds=round(seconds))
    if delta < pd.Timedelta(hours=1):
        return f"{int(delta.total_seconds() // 60)}m ago"
    if delta < pd.Timedelta(days=2):
        return f"{delta.total_seconds() / 3600:.1f}h ago"
    return f"{delta.days}d ago"
