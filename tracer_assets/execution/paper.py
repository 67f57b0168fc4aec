"""The paper broker's run over lake days: read signals, bars, health and controls, trade, write.

``run_paper_days`` is what the execution assets call in ``paper_sim`` mode; the book carries from
one day to the next through ``execution_state`` (one JSON row per day), so a day run alone equals
the same day inside a range.
"""

from __future__ import annotations

import math

import pandas as pd

from tracer_assets.execution.controls import read_controls, replace_engine_rows, without_engine_rows
from tracer_assets.execution.ledger import LEDGER_TABLES
from tracer_assets.execution.sim import BROKER, PaperSim, SimResult, SimState
from tracer_assets.lake import Lake
from tracer_assets.providers.health import read_health
from tracer_assets.settings import TracerSettings

DAY = pd.Timedelta(days=1)
STATE_TABLE = "execution_state"
HEALTH_ASSETS = ("bars", "narratives")


def load_state(lake: Lake, start: pd.Timestamp, settings: TracerSettings) -> SimState:
    """The book at the end of the day before ``start``; a fresh book when no earlier day was run."""
    prior = lake.read(STATE_TABLE, start - DAY, start - DAY)
    if len(prior):
        return SimState.from_json(str(prior["state_json"].iloc[-1]))
    return SimState.initial(settings.execution.execution_initial_cash)


def degraded_days(lake: Lake, start: pd.Timestamp, end: pd.Timestamp) -> set[str]:
    health = read_health(lake, start, end - DAY)
    if not len(health):
        return set()
    bad = health[health["degraded"] & health["asset"].isin(HEALTH_ASSETS)]
    return {pd.Timestamp(p).strftime("%Y-%m-%d") for p in bad["partition"].astype(str)}


def run_paper_days(
    lake: Lake, settings: TracerSettings, asset_class: dict[str, str], start: pd.Timestamp, end: pd.Timestamp
) -> SimResult:
    # enough history for the volume median: at least one bar per day, so that many days suffice
    lookback = DAY * max(2, math.ceil(settings.risk.risk_volume_lookback_bars / 6))
    signals = lake.read("signals", start, end - DAY)
    bars = lake.read("bars", start - lookback, end - DAY)
    sim = PaperSim(
        settings.risk,
        settings.execution,
        asset_class,
        without_engine_rows(read_controls(lake), start, end),
        degraded_days(lake, start, end),
    )
    return sim.run(signals, bars, start, end, load_state(lake, start, settings))


def write_paper_days(
    lake: Lake, result: SimResult, days: list[str], start: pd.Timestamp, end: pd.Timestamp
) -> dict[str, dict[str, int]]:
    frames = result.ledger.frames()
    counts = {}
    for table in LEDGER_TABLES:
        counts[table] = lake.write_partitions(table, frames[table], days, by="event_ts")
    states = pd.DataFrame(
        [
            {
                "day": d,
                "broker": BROKER,
                "state_json": s,
                "event_ts": pd.Timestamp(d, tz="UTC") + DAY - pd.Timedelta(microseconds=1),
            }
            for d, s in sorted(result.states.items())
        ],
        columns=["day", "broker", "state_json", "event_ts"],
    )
    states["available_ts"] = states["event_ts"]
    lake.write_partitions(STATE_TABLE, states, days, by="event_ts")
    replace_engine_rows(lake, result.controls, start, end)
    return counts
