"""The embedded offline sim world: deterministic bars, narratives and prediction markets."""

from tracer_assets.providers.sim.world import SimWorld

__all__ = ["SimWorld"]
