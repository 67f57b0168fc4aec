"""The Dagster-free pipeline: every stage of the chain as a plain function over a ``Store`` (the
Parquet ``Lake`` or a ``MemoryStore``), and ``run_chain`` to run the daily stages over a range. The
Dagster assets are thin calls into these stages; research, replays and tests call them directly."""

from tracer_assets.pipeline.chain import (
    DAILY_STAGES,
    SIGNAL_STAGES,
    UPSTREAM_STAGES,
    ChainResult,
    Providers,
    run_chain,
)
from tracer_assets.pipeline.store import MemoryStore, Store

__all__ = [
    "DAILY_STAGES",
    "SIGNAL_STAGES",
    "UPSTREAM_STAGES",
    "ChainResult",
    "MemoryStore",
    "Providers",
    "Store",
    "run_chain",
]
