"""The backtest domain's Definitions (merged into the root through ``DOMAIN_DEFS``)."""

import dagster as dg

from tracer_assets.defs.backtest.assets import backtest_equity, backtest_summary, backtest_trades

defs = dg.Definitions(assets=[backtest_trades, backtest_equity, backtest_summary])
