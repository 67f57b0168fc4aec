"""Cross-cutting asset checks: every lake table keeps its contract columns and UTC timestamps."""

import dagster as dg
import pandas as pd

from tracer_assets.defs.resources import TracerResource
from tracer_assets.lake.schemas import contract_columns


def build_schema_check(asset: dg.AssetsDefinition) -> dg.AssetChecksDefinition:
    table = asset.key.path[-1]

    @dg.asset_check(
        asset=asset, name=f"{table}_schema", description=f"{table} has its contract columns, UTC timestamps."
    )
    def _check(tracer: TracerResource) -> dg.AssetCheckResult:
        parts = tracer.lake.partitions(table)
        if not parts:
            return dg.AssetCheckResult(passed=False, metadata={"reason": "no partitions written yet"})
        latest = parts[-1]
        df = tracer.lake.read(table, latest, latest)
        missing = [c for c in contract_columns(table) + ["event_ts", "available_ts"] if c not in df.columns]
        naive = [
            c
            for c in ("event_ts", "available_ts")
            if c in df.columns and len(df) and getattr(pd.to_datetime(df[c]).dt, "tz", None) is None
        ]
        early = 0
        if len(df) and not missing:
            early = int(
                (
                    pd.to_datetime(df["available_ts"], utc=True) < pd.to_datetime(df["event_ts"], utc=True)
                ).sum()
            )
        passed = not missing and not naive and early == 0
        return dg.AssetCheckResult(
            passed=passed,
            metadata={
                "partition": latest,
                "missing_columns": ", ".join(missing) or "none",
                "naive_ts_columns": ", ".join(naive) or "none",
                "available_before_event": early,
            },
        )

    return _check
