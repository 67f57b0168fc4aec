"""Signals domain definitions."""

import dagster as dg

from tracer_assets.defs.signals.assets import signals

defs = dg.Definitions(assets=[signals])
