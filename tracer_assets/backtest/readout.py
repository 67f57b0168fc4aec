"""A few plain lines about the latest backtest range, for the demo's printed summary."""

from __future__ import annotations

from pathlib import Path

from tracer_assets.lake import Lake


def backtest_lines(lake: Lake) -> list[str]:
    """Tracer against its baselines in the latest ``backtest_summary`` partition, and the tear sheet."""
    parts = lake.partitions("backtest_summary")
    if not parts:
        return ["(no backtest yet)"]
    s = lake.read("backtest_summary", parts[-1], parts[-1])
    if s.empty:
        return [f"(empty backtest summary on {parts[-1]})"]
    first = s.iloc[0]
    lines = [f"range {first['range_start']:%Y-%m-%d}..{parts[-1]}, after fees and slippage:"]
    for strategy, g in s.groupby("strategy", sort=False):
        r = g.mean(numeric_only=True)
        draws = f" (mean of {len(g)} draws)" if len(g) > 1 else ""
        lines.append(
            f"  {strategy:<13} return {r['total_return']:+.2%}  Sharpe {r['sharpe']:+.2f}  "
            f"max drawdown {r['max_drawdown']:.2%}  trades {r['n_trades']:.0f}{draws}"
        )
    t = s[s["strategy"] == "tracer"].iloc[0]
    if t.notna()["placebo_sharpe_percentile"]:
        lines.append(
            f"  Tracer's Sharpe is at percentile {t['placebo_sharpe_percentile']:.0f} of "
            f"{int(t['placebo_draws'])} random-timing placebo draws "
            f"(placebo 5-95%: {t['placebo_sharpe_p05']:+.2f}..{t['placebo_sharpe_p95']:+.2f})"
        )
    sheets = sorted((Path(lake.root) / "artifacts" / "backtest").glob("tearsheet_*.html"))
    if sheets:
        lines.append(f"  tear sheet: {sheets[-1].resolve()}")
    return lines
