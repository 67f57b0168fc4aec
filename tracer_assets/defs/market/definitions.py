"""Market domain definitions: hourly bars and the price features built on them."""

import dagster as dg

from tracer_assets.defs.market.assets import bars, price_features

defs = dg.Definitions(assets=[bars, price_features])
