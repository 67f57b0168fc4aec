"""Digest domain definitions."""

import dagster as dg

from tracer_assets.defs.digest.assets import digest

defs = dg.Definitions(assets=[digest])
