"""The one call every fetching asset makes: fetch, keep quarantine and run health, degrade loudly.

A provider that is down never fails the asset: ``fetch_recorded`` returns what could be fetched,
writes the quarantined rows and one ``run_health`` row per partition (the asset's own part file),
and gives the metadata (``degraded``, ``degraded_reason``, ``quarantined_rows``, fetch counters) to
put on the asset's ``MaterializeResult``. A degraded fetch also logs one warning with the reason.
"""

from typing import Any

import dagster as dg

from tracer_assets.defs.common import partition_days
from tracer_assets.defs.resources import TracerResource
from tracer_assets.providers.health import (
    combine_results,
    keeps_earlier,
    record_fetch,
    write_fetched,
)
from tracer_assets.providers.redact import Redactor
from tracer_assets.providers.resilience import BREAKERS
from tracer_assets.providers.results import FetchResult, fetch_result

__all__ = [
    "combine_results",
    "fetch_recorded",
    "health_metadata",
    "keeps_earlier",
    "record_result",
    "write_fetched",
]


def health_metadata(tracer: TracerResource, result: FetchResult) -> dict[str, Any]:
    """``result.metadata()`` with the reason masked once more and any breaker not closed named."""
    metadata = result.metadata()
    # The clients redact their reasons; masking again here keeps metadata and logs safe whatever a
    # future provider forgets.
    metadata["degraded_reason"] = Redactor.from_settings(tracer.settings).text(metadata["degraded_reason"])
    breakers = {name: state for name, state in BREAKERS.states().items() if state != "closed"}
    if breakers:
        metadata["open_breakers"] = ", ".join(f"{name}={state}" for name, state in sorted(breakers.items()))
    return metadata


def record_result(
    context: dg.AssetExecutionContext,
    tracer: TracerResource,
    result: FetchResult,
    days: list[str] | None = None,
) -> dict[str, Any]:
    """Write ``result``'s quarantine and run_health rows for ``days`` (the run's partitions when None)
    and return its metadata; a degraded result logs one warning with the reason."""
    asset = context.asset_key.path[-1]
    days = partition_days(context) if days is None else days
    record_fetch(
        tracer.lake,
        result,
        asset=asset,
        days=days,
        run_id=context.run_id,
        min_kept_ratio=tracer.settings.safety.fetch_min_kept_ratio,
    )
    metadata = health_metadata(tracer, result)
    if result.degraded:
        context.log.warning(f"{asset}: {result.provider} degraded: {metadata['degraded_reason']}")
    return metadata


def fetch_recorded(
    context: dg.AssetExecutionContext,
    tracer: TracerResource,
    provider: Any,
    method: str,
    *args: Any,
    days: list[str] | None = None,
) -> tuple[FetchResult, dict[str, Any]]:
    """``fetch_result(provider, method, *args)``, recorded for ``days`` (the run's partitions when None).

    Returns the result (``.frame`` holds the good rows) and the metadata for the asset.
    """
    result = fetch_result(provider, method, *args)
    return result, record_result(context, tracer, result, days)
