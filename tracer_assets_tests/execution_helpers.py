"""Sim-world bars and seeded synthetic signals for the execution tests (fast: no signal chain)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from tracer_assets.execution.controls import read_controls
from tracer_assets.execution.sim import PaperSim, SimState
from tracer_assets.lake import Lake
from tracer_assets.lake.store import new_id
from tracer_assets.providers.sim import SimWorld
from tracer_assets.settings import RiskSettings, TracerSettings
from tracer_assets.universe import load_universe

START = pd.Timestamp("2025-01-06", tz="UTC")
TIGHT = {
    "risk_max_position": 0.02,
    "risk_max_gross_exposure": 0.06,
    "risk_max_net_exposure": 0.04,
    "risk_max_class_exposure": {"crypto": 0.04, "stock": 0.04},
    "risk_max_open_positions": 3,
}


@lru_cache(maxsize=4)
def sim_bars(start: str, end: str) -> pd.DataFrame:
    settings = TracerSettings(lake_root="unused")
    universe = load_universe(settings.market.universe)
    world = SimWorld(settings, universe)
    return world.fetch_bars(
        list(universe.instruments), pd.Timestamp(start, tz="UTC"), pd.Timestamp(end, tz="UTC")
    )


def asset_classes() -> dict[str, str]:
    return {i.symbol: i.asset_class for i in load_universe(TracerSettings().market.universe).instruments}


def synthetic_signals(bars: pd.DataFrame, n: int, seed: int, start=None, end=None) -> pd.DataFrame:
    """``n`` signals at random bar closes in [start, end): random side, size 1-10 % of capital, 24 h."""
    rng = np.random.default_rng(seed)
    b = bars
    if start is not None:
        b = b[(b["available_ts"] >= start) & (b["available_ts"] < end)]
    rows = b.iloc[np.sort(rng.choice(len(b), size=min(n, len(b)), replace=False))]
    out = pd.DataFrame(
        {
            "symbol": rows["symbol"].to_numpy(),
            "asset_class": rows["asset_class"].to_numpy(),
            "decision_ts": rows["available_ts"].to_numpy(),
            "direction": np.where(rng.random(len(rows)) < 0.5, "long", "short"),
            "strength": rng.uniform(0.2, 1.0, len(rows)),
            "size": rng.uniform(0.01, 0.10, len(rows)),
            "horizon_hours": 24,
            "internal_prob": 0.55,
        }
    )
    out["decision_ts"] = pd.to_datetime(out["decision_ts"], utc=True)
    out["signal_id"] = [
        new_id("sig", s, t, d)
        for s, t, d in zip(out["symbol"], out["decision_ts"], out["direction"], strict=True)
    ]
    out["rationale"] = "{}"
    out["event_ts"] = out["decision_ts"]
    out["available_ts"] = out["decision_ts"]
    return out


def run_sim(
    signals,
    bars,
    start,
    end,
    risk: RiskSettings | None = None,
    lake: Lake | None = None,
    state=None,
    **execution,
):
    settings = TracerSettings(lake_root="unused")
    exe = settings.execution.model_copy(update=execution)
    controls = read_controls(lake) if lake is not None else read_controls(Lake("/nonexistent-lake"))
    sim = PaperSim(risk or RiskSettings(), exe, asset_classes(), controls)
    return sim.run(signals, bars, start, end, state or SimState.initial(exe.execution_initial_cash))
