"""The one call every fetching asset makes: fetch, keep quarantine and run health, degrade loudly.

A provider that is down never fails the asset: ``fetch_recorded`` returns what could be fetched,
writes the quarantined rows and one ``run_health`` row per partition (the asset's own part file),
and gives the metadata (``degraded``, ``degraded_reason``, ``quarantined_rows``, fetch counters) to
put on the asset's ``MaterializeResult``. A degraded fetch also logs one warning with the reason.
``fetch_and_write`` does the same for ``bars`` and ``narratives`` and writes their day partitions;
``fetching_asset`` is the decorator every fetching asset carries (daily, retried, skipped when unchanged).
"""

from collections.abc import Callable, Sequence
from typing import Any

import dagster as dg

from tracer_assets.defs.common import DAILY_FRESHNESS, partition_days, window
from tracer_assets.defs.partitions import DAILY
from tracer_assets.defs.resources import TracerResource
from tracer_assets.defs.skip import skip_unchanged
from tracer_assets.pipeline.fetch import fetch_guarded
from tracer_assets.providers.health import (
    GUARDED_TABLES,
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
    "fetch_and_write",
    "fetch_recorded",
    "fetching_asset",
    "health_metadata",
    "keeps_earlier",
    "record_result",
    "write_fetched",
]

OUTSIDE_CALL_RETRY = dg.RetryPolicy(
    max_retries=3, delay=2, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


def fetching_asset(
    *, group_name: str, description: str, deps: Sequence[Any] | None = None
) -> Callable[[Callable[..., dg.MaterializeResult]], dg.AssetsDefinition]:
    """``@dg.asset`` for a daily asset that calls an outside system: daily partitions and freshness,
    retried with backoff (``OUTSIDE_CALL_RETRY``), skipped when unchanged (``skip_unchanged``)."""

    def decorate(fn: Callable[..., dg.MaterializeResult]) -> dg.AssetsDefinition:
        return dg.asset(
            **DAILY,
            group_name=group_name,
            kinds={"python", "parquet"},
            retry_policy=OUTSIDE_CALL_RETRY,
            freshness_policy=DAILY_FRESHNESS,
            deps=deps,
            description=description,
        )(skip_unchanged(fn))

    return decorate


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


def fetch_and_write(
    context: dg.AssetExecutionContext, tracer: TracerResource, table: str, provider: Any
) -> tuple[FetchResult, dict[str, int], dict[str, Any]]:
    """Fetch ``table`` (``bars`` or ``narratives``) for the run's window, read again when short,
    record it and write its day partitions without losing what earlier runs kept.

    Returns the result, the rows per day, and the metadata for the asset (``kept_from_earlier_runs``
    and the health metadata of ``record_result``).
    """
    days = partition_days(context)
    result = fetch_guarded(
        tracer.lake,
        table,
        provider,
        list(tracer.universe.instruments),
        *window(context),
        days,
        tracer.settings.safety,
    )
    health = record_result(context, tracer, result)
    counts, kept = write_fetched(tracer.lake, table, days, result, by=GUARDED_TABLES[table][0])
    return result, counts, {"kept_from_earlier_runs": kept, **health}
