"""Definitions of the execution domain (issue 15): the ledger assets after signals."""

import dagster as dg

from tracer_assets.defs.execution.assets import fills, orders, portfolio, positions, risk_events

defs = dg.Definitions(assets=[orders, fills, positions, portfolio, risk_events])
