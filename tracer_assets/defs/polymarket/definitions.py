"""Polymarket domain definitions: the daily market snapshot with our probabilities."""

import dagster as dg

from tracer_assets.defs.polymarket.assets import polymarket_markets

defs = dg.Definitions(assets=[polymarket_markets])
