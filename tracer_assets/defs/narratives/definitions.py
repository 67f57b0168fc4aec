"""Narratives domain definitions: news stories from the selected news provider."""

import dagster as dg

from tracer_assets.defs.narratives.assets import narratives

defs = dg.Definitions(assets=[narratives])
