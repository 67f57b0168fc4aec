"""Backtest engine speed: Tracer's engine against backtesting.py and vectorbt, in one process.

The same SMA-cross strategy on backtesting.py's GOOG daily data (2,148 bars), once with (10, 20) and
over a 100-combination (fast, slow) grid, commission 0.2%. Every engine is warmed up first (numba
compiles on the first call), then timed as the best of ``--repeat`` runs. Prints each time and the
ratios; Tracer's (10, 20) result is checked against backtesting.py's (trades and final equity).

    python benchmarks/backtest.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tracer_assets_tests: the peer strategy


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed repeats (best is reported)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    import vectorbt as vbt
    from backtesting import Backtest
    from backtesting.test import GOOG

    from tracer_assets.backtest.costs import CostModel
    from tracer_assets.backtest.engine import simulate
    from tracer_assets.backtest.strategies import sma, sma_cross_target, sma_grid_targets
    from tracer_assets_tests.backtesting_peer import SmaCross

    commission = 0.002
    cash = 10_000.0
    pairs = [(f, s) for f in range(5, 55, 5) for s in range(60, 260, 20)]
    assert len(pairs) == 100
    o, h, lo, c = (GOOG[k].to_numpy(dtype=float) for k in ("Open", "High", "Low", "Close"))
    cost = CostModel(fee_bps=commission * 1e4)

    def tracer_single():
        target = sma_cross_target(sma(c, 10), sma(c, 20))
        return simulate(o, h, lo, c, target, cost=cost, cash=cash, integer_units=True)

    def tracer_grid():
        return simulate(o, h, lo, c, sma_grid_targets(c, pairs), cost=cost, cash=cash, integer_units=True)

    def bt_single():
        return Backtest(GOOG, SmaCross, cash=cash, commission=commission).run()

    def bt_grid():
        bt = Backtest(GOOG, SmaCross, cash=cash, commission=commission)
        return [bt.run(n1=f, n2=s) for f, s in pairs]

    close = GOOG["Close"]
    next_open = GOOG["Open"].shift(-1)  # a signal at bar t fills at t+1's open, as in the others

    def vbt_run(fast_w, slow_w):
        fast = vbt.MA.run(close, window=fast_w, short_name="fast", per_column=False)
        slow = vbt.MA.run(close, window=slow_w, short_name="slow", per_column=False)
        up = fast.ma_crossed_above(slow)
        down = fast.ma_crossed_below(slow)
        return vbt.Portfolio.from_signals(
            close,
            entries=up,
            exits=down,
            short_entries=down,
            short_exits=up,
            price=next_open,
            fees=commission,
            init_cash=cash,
            freq="1D",
        )

    def vbt_single():
        return vbt_run(10, 20)

    def vbt_grid():
        return vbt_run([f for f, _ in pairs], [s for _, s in pairs])

    ours, ref = tracer_single(), bt_single()  # warm-up (numba compiles) and a parity check
    closed = ours.trades[~ours.trades["is_open"]]
    same = len(closed) == len(ref._trades) and round(ours.equity[-1, 0], 2) == round(
        ref["Equity Final [$]"], 2
    )
    tracer_grid(), vbt_single(), vbt_grid()
    grid_eq = tracer_grid().equity[-1]

    rows = {
        "tracer": (best_of(tracer_single, args.repeat), best_of(tracer_grid, args.repeat)),
        "backtesting.py": (best_of(bt_single, args.repeat), best_of(bt_grid, 1)),
        "vectorbt": (best_of(vbt_single, args.repeat), best_of(vbt_grid, args.repeat)),
    }
    print(f"GOOG daily, {len(GOOG)} bars, SMA cross, commission {commission:.1%}; best of {args.repeat}")
    print(
        f"parity with backtesting.py on (10, 20): {'yes' if same else 'NO'} "
        f"({len(closed)} trades, final equity {ours.equity[-1, 0]:,.2f})"
    )
    print(f"grid final equity: median {np.median(grid_eq):,.2f}, best {grid_eq.max():,.2f}")
    table = pd.DataFrame(
        {
            "single_ms": [v[0] * 1e3 for v in rows.values()],
            "grid_100_ms": [v[1] * 1e3 for v in rows.values()],
            "grid_backtests_per_s": [100 / v[1] for v in rows.values()],
        },
        index=list(rows),
    )
    print(table.round(3).to_string())
    t_single, t_grid = rows["tracer"]
    print(
        f"tracer vs backtesting.py: single {rows['backtesting.py'][0] / t_single:,.0f}x, "
        f"grid {rows['backtesting.py'][1] / t_grid:,.0f}x"
    )
    print(
        f"tracer vs vectorbt:       single {rows['vectorbt'][0] / t_single:,.1f}x, "
        f"grid {rows['vectorbt'][1] / t_grid:,.1f}x"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
