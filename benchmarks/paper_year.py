"""A year of the sim world through the paper broker (``paper_sim``): ledger invariants and figures.

For each seed (and a null world with no planted effect), the signal chain is replayed in memory
(``run_chain`` over a ``MemoryStore``, the stages the assets call; cached per seed), then
``PaperSim.run`` (the code the execution assets run) trades it under the default risk settings and
under tight caps that bind. Printed per run: orders, fills, blocked and reduced orders, cap
violations read from the ledger (must all be 0), final equity, total return with a bootstrap 95%
interval on the mean daily return, max drawdown, and the paper sim's wall time against the same year
run day by day (state carried through the lake's JSON, the asset's path).

Paper against backtest, side by side per run (``execution/parity.py``): the paper PnL, the backtest
engine's PnL on the same signals with the same costs and cash, the engine again with the risk
engine's decisions read back from ``risk_events`` (blocked and reduced entries), and the drift trims
(not replayed). Once per world, with risk limits that do not bind: paper and backtest PnL and trade
counts, which must be equal to the cent.

    python benchmarks/paper_year.py [--days 365] [--seeds 7 11] [--cache /tmp/paper_year]
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import bootstrap

from tracer_assets.execution import parity
from tracer_assets.execution.controls import read_controls
from tracer_assets.execution.sim import PaperSim, SimState
from tracer_assets.lake import Lake
from tracer_assets.pipeline import MemoryStore, run_chain
from tracer_assets.settings import RiskSettings, TracerSettings
from tracer_assets.universe import load_universe

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tracer_assets_tests: the ledger checks
START = pd.Timestamp("2025-01-06", tz="UTC")
WARMUP = pd.Timedelta(days=21)  # bars (and features) before the first traded day
CHAIN = ("bars", "narratives", "price_features", "narrative_scores", "narrative_pressure", "signals")
TIGHT = {
    "risk_max_position": 0.02,
    "risk_max_gross_exposure": 0.06,
    "risk_max_net_exposure": 0.04,
    "risk_max_class_exposure": {"crypto": 0.04, "stock": 0.04},
    "risk_max_open_positions": 3,
}


def replayed(seed: int, effect: float, days: int, cache: Path):
    path = cache / f"replay_seed{seed}_effect{effect}_days{days}.pkl"
    if path.exists():
        return pickle.loads(path.read_bytes())
    settings = TracerSettings(
        sim_seed=seed,
        sim_effect_strength=effect,
        lake_root=str(cache / "lake"),
        sim_truth_root=str(cache / f"truth{seed}_{effect}"),
    )
    universe = load_universe(settings.market.universe)
    store = MemoryStore()
    last = START + pd.Timedelta(days=days - 1)
    run_chain(store, settings, START - WARMUP, last, stages=CHAIN, cache_root=cache / "models")
    signals = store.read("signals")
    signals = signals[signals["decision_ts"] >= START]
    out = (signals, store.read("bars"), {i.symbol: i.asset_class for i in universe.instruments})
    path.write_bytes(pickle.dumps(out))
    return out


def trade(signals, bars, classes, risk: RiskSettings, end, lake: Lake, by_day: bool = False):
    settings = TracerSettings()
    state = SimState.initial(settings.execution.execution_initial_cash)
    sim = lambda: PaperSim(risk, settings.execution, classes, read_controls(lake))  # noqa: E731
    if not by_day:
        return sim().run(signals, bars, START, end, state).ledger.frames()
    frames = []
    lookback = pd.Timedelta(days=max(2, -(-risk.risk_volume_lookback_bars // 6)))  # as run_paper_days reads
    for day in pd.date_range(START, end, freq="D", inclusive="left"):
        nxt = day + pd.Timedelta(days=1)
        day_bars = bars[(bars["ts"] >= day - lookback) & (bars["ts"] < nxt)]
        day_signals = signals[(signals["decision_ts"] >= day) & (signals["decision_ts"] < nxt)]
        result = sim().run(day_signals, day_bars, day, nxt, state)
        state = SimState.from_json(result.states[day.strftime("%Y-%m-%d")])
        frames.append(result.ledger.frames()["portfolio"])
    return pd.concat(frames, ignore_index=True)


def non_binding(risk: RiskSettings) -> RiskSettings:
    """The risk settings with every limit out of reach (caps, rate, loss, drawdown, anomalies, age)."""
    far = 1e9
    return risk.model_copy(
        update={
            "risk_max_gross_exposure": far,
            "risk_max_net_exposure": far,
            "risk_max_position": far,
            "risk_max_class_exposure": dict.fromkeys(risk.risk_max_class_exposure, far),
            "risk_max_open_positions": 10**9,
            "risk_max_orders_per_hour": 10**9,
            "risk_daily_loss_limit": far,
            "risk_max_drawdown": 1.0 - 1e-9,
            "risk_max_price_gap": far,
            "risk_volume_spike_ratio": far,
            "risk_max_data_age_hours": far,
        }
    )


def side_by_side(signals, bars, frames, end) -> dict:
    """Paper PnL beside the backtest engine's on the same signals, raw and with the risk decisions."""
    settings = TracerSettings()
    cash = settings.execution.execution_initial_cash
    paper = parity.paper_book(frames, cash)
    sig = signals[(signals["decision_ts"] >= START) & (signals["decision_ts"] < end)]
    raw = parity.backtest_book(sig, bars, START, end, settings.execution, settings.backtest)
    replay = parity.backtest_book(
        parity.risk_replayed_signals(sig, frames), bars, START, end, settings.execution, settings.backtest
    )
    return {
        "paper_pnl": round(paper.pnl, 2),
        "backtest_pnl": round(raw.pnl, 2),
        "backtest_with_risk_events_pnl": round(replay.pnl, 2),
        "paper_trades": paper.trades,
        "backtest_trades": raw.trades,
        "backtest_with_risk_events_trades": replay.trades,
        "drift_trims": parity.trims(frames),
    }


def summary(frames, risk: RiskSettings) -> dict:
    from tracer_assets_tests.ledger_checks import ledger_violations

    port, orders, events = frames["portfolio"], frames["orders"], frames["risk_events"]
    daily = port.groupby(port["ts"].dt.floor("D"))["equity"].last()
    rets = daily.pct_change().dropna().to_numpy()
    ci = bootstrap(
        (rets,), np.mean, confidence_level=0.95, n_resamples=2000, random_state=0
    ).confidence_interval
    equity0 = port["equity"].iloc[0]
    return {
        "orders": int((orders["status"] != "blocked").sum()),
        "fills": len(frames["fills"]),
        "blocked": int((orders["status"] == "blocked").sum()),
        "reduced": int((events["action"] == "reduced").sum()) if len(events) else 0,
        "final_equity": round(float(port["equity"].iloc[-1]), 2),
        "return_pct": round(100 * (port["equity"].iloc[-1] / equity0 - 1), 3),
        "mean_daily_ret_bp_ci95": (
            round(1e4 * rets.mean(), 3),
            round(1e4 * ci.low, 3),
            round(1e4 * ci.high, 3),
        ),
        "max_drawdown_pct": round(100 * float(port["drawdown"].min()), 3),
        "max_gross_over_equity": round(float((port["gross_exposure"] / port["equity"]).max()), 4),
        **ledger_violations(frames, risk),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--seeds", type=int, nargs="+", default=[7, 11])
    ap.add_argument("--cache", default="/tmp/paper_year")
    ap.add_argument("--peer-days", type=int, default=60, help="days of the one-day-at-a-time peer")
    args = ap.parse_args()
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    lake = Lake(cache / "empty_lake")
    end = START + pd.Timedelta(days=args.days)
    worlds = [(seed, 1.0) for seed in args.seeds] + [(args.seeds[0], 0.0)]
    for seed, effect in worlds:
        signals, bars, classes = replayed(seed, effect, args.days, cache)
        for label, risk in (("default caps", RiskSettings()), ("tight caps", RiskSettings(**TIGHT))):
            t0 = time.perf_counter()
            frames = trade(signals, bars, classes, risk, end, lake)
            wall = time.perf_counter() - t0
            print(
                f"seed={seed} effect={effect} {label}: signals={len(signals)} sim_s={wall:.2f}",
                summary(frames, risk),
            )
            print(f"  paper vs backtest ({label}):", side_by_side(signals, bars, frames, end))
        loose = non_binding(RiskSettings())
        frames = trade(signals, bars, classes, loose, end, lake)
        both = side_by_side(signals, bars, frames, end)
        events = len(frames["risk_events"])
        print(
            f"  paper vs backtest, limits that do not bind ({events} risk events): paper PnL "
            f"{both['paper_pnl']:,.2f} ({both['paper_trades']} trades), backtest PnL "
            f"{both['backtest_pnl']:,.2f} ({both['backtest_trades']} trades), "
            f"difference {both['paper_pnl'] - both['backtest_pnl']:+.2f}"
        )
        peer_end = START + pd.Timedelta(days=args.peer_days)
        t0 = time.perf_counter()
        whole = trade(signals, bars, classes, RiskSettings(), peer_end, lake)["portfolio"]
        wall_range = time.perf_counter() - t0
        t0 = time.perf_counter()
        by_day = trade(signals, bars, classes, RiskSettings(), peer_end, lake, by_day=True)
        wall_days = time.perf_counter() - t0
        gap = float(np.abs(by_day["equity"].to_numpy() - whole["equity"].to_numpy()).max())
        print(
            f"  peer, first {args.peer_days} days: one range {wall_range:.2f}s, one day at a time (state through "
            f"JSON, as the daily asset runs) {wall_days:.2f}s; max |equity difference| = {gap:.3g}"
        )


if __name__ == "__main__":
    main()
