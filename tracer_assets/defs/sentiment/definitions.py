"""Sentiment domain definitions: narrative scores and the narrative pressure."""

import dagster as dg

from tracer_assets.defs.sentiment.assets import narrative_pressure, narrative_scores

defs = dg.Definitions(assets=[narrative_scores, narrative_pressure])
