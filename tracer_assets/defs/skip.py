"""Re-materializations that do nothing when nothing changed.

``@skip_unchanged`` wraps an asset body. Before the work, it computes the asset's input key
(``pipeline.fingerprint.input_key``: code version, settings, the run's partitions and the content of
every lake file its upstream assets write, plus files no asset owns, such as operator controls) and
compares it with what each partition recorded in the lake manifest, together with a hash of the
asset's own files. When both match, the asset returns at once with ``skipped=True`` and the reason in
its metadata (every partition still shows as materialized); otherwise it runs and records the new
keys. The output hash is also the asset's Dagster data version.

Never skipped: partitions that reach today (live runs clip to the wall clock), fetches from outside
providers (their input is the world, not the lake), and the broker ledger outside paper_sim mode.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import dagster as dg
import pandas as pd

from tracer_assets.pipeline.fingerprint import LakeFile, Manifest, files_hash, input_key, lake_files

WHOLE = "__whole__"  # the manifest key of an unpartitioned asset

# Tables an asset writes besides the one named after it (part "0" unless a part is named).
EXTRA_TABLES: dict[str, tuple[str, ...]] = {
    "signals": ("signals_held_back",),
    "orders": ("fills", "positions", "portfolio", "risk_events", "execution_state"),
}
# Tables written under another name, or written by no asset (read-only here: they stay inputs).
READ_ONLY_ASSETS = frozenset({"fills", "positions", "portfolio", "risk_events"})
# Named parts of shared tables and who writes them (other parts belong to the table's writer).
PART_OWNERS = {"digest_delivery": "digest"}
FETCHERS = {"bars": "bars_provider", "narratives": "news_provider", "polymarket_markets": "markets_provider"}


@lru_cache(maxsize=1)
def _graph() -> tuple[dict[str, frozenset[str]], dict[str, str]]:
    """(ancestors by asset name, table -> writing asset), from the one Definitions object."""
    from tracer_assets.definitions import ALL_ASSETS

    parents: dict[str, set[str]] = {}
    for a in ALL_ASSETS:
        for key in a.keys:
            deps = a.asset_deps.get(key, set()) if hasattr(a, "asset_deps") else set()
            parents[key.path[-1]] = {d.path[-1] for d in deps}
    ancestors: dict[str, frozenset[str]] = {}

    def up(name: str, seen: frozenset[str] = frozenset()) -> frozenset[str]:
        if name not in ancestors:
            out: set[str] = set()
            for p in parents.get(name, ()):
                if p not in seen:
                    out |= {p} | up(p, seen | {name})
            ancestors[name] = frozenset(out)
        return ancestors[name]

    for name in parents:
        up(name)
    writers = {name: name for name in parents if name not in READ_ONLY_ASSETS}
    for name, tables in EXTRA_TABLES.items():
        writers.update(dict.fromkeys(tables, name))
    return ancestors, writers


def owner(f: LakeFile, writers: dict[str, str], assets: frozenset[str] | set[str]) -> str | None:
    """The asset that writes ``f`` (None: no asset does; an operator or a sensor does)."""
    if f.part in assets:  # quarantine and run_health keep one part per fetching asset
        return f.part
    if f.part in PART_OWNERS:
        return PART_OWNERS[f.part]
    return writers.get(f.table)


def _mine(asset: str, f: LakeFile, writers: dict[str, str], assets: frozenset[str]) -> bool:
    return owner(f, writers, assets) == asset


def reads_for(asset: str) -> Callable[[LakeFile], bool]:
    """The files ``asset`` may read: its ancestors' and those no asset writes."""
    ancestors, writers = _graph()
    assets = frozenset(ancestors)

    def reads(f: LakeFile) -> bool:
        who = owner(f, writers, assets)
        return who is None or who in ancestors.get(asset, frozenset())

    return reads


def output_hash(root, asset: str, partitions: list[str]) -> str:
    """Hash of ``asset``'s own files in ``partitions`` (its whole tables when unpartitioned)."""
    ancestors, writers = _graph()
    assets = frozenset(ancestors)
    wanted = set(partitions)
    return files_hash(
        f
        for f in lake_files(root)
        if _mine(asset, f, writers, assets) and (f.key is None or f.key in wanted or WHOLE in wanted)
    )


def never_skips(asset: str, settings, partitions: list[str]) -> str | None:
    """Why ``asset`` must run whatever the manifest says (None: it may skip)."""
    if "://" in str(settings.lake_root):
        return "the lake is remote (fingerprints read local files)"
    if asset in FETCHERS and getattr(settings, FETCHERS[asset]) != "sim":
        return f"{getattr(settings, FETCHERS[asset])} is an outside source"
    if asset == "orders" and settings.execution.trading_mode != "paper_sim":
        return f"trading mode {settings.execution.trading_mode}"
    today = pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d")
    if partitions and partitions[-1] != WHOLE and max(partitions) >= today:
        return "the range reaches today (live data)"
    return None


@dataclass(frozen=True)
class Decision:
    skip: bool
    key: str
    output: str
    reason: str
    recorded: dict | None = None


def decide(asset: str, settings, partitions: list[str]) -> Decision:
    """May ``asset`` skip ``partitions`` (same inputs, code and outputs as when they were recorded)?"""
    root = settings.lake_root
    forced = never_skips(asset, settings, partitions)
    if forced:
        return Decision(False, "", "", forced)
    key = input_key(root, asset, partitions, settings.model_dump_json(), reads_for(asset))
    output = output_hash(root, asset, partitions)
    recorded = Manifest(root).unchanged(asset, partitions, key, output)
    if recorded is None:
        return Decision(False, key, output, "inputs, code or outputs changed since the last run")
    return Decision(True, key, output, "inputs and code unchanged", recorded)


def record(asset: str, settings, partitions: list[str], key: str, run_id: str) -> str:
    """Record ``key`` and the hash of what the asset wrote for ``partitions``; returns that hash."""
    output = output_hash(settings.lake_root, asset, partitions)
    Manifest(settings.lake_root).record(
        asset,
        partitions,
        {"input": key, "output": output, "run_id": run_id, "at": pd.Timestamp.now(tz="UTC").isoformat()},
    )
    return output


def run_partitions(context) -> list[str]:
    return (
        list(context.partition_keys)
        if context.has_partition_key_range or context.has_partition_key
        else [WHOLE]
    )


def skipped_result(decision: Decision) -> dg.MaterializeResult:
    rec = decision.recorded or {}
    metadata = {
        "skipped": True,
        "skip_reason": f"{decision.reason} since run {str(rec.get('run_id', '?'))[:8]} at {rec.get('at', '?')}",
    }
    return dg.MaterializeResult(metadata=metadata, data_version=dg.DataVersion(decision.output))


def skip_unchanged(fn: Callable) -> Callable:
    """Wrap an asset body ``fn(context, tracer)``: skip it when nothing it reads changed."""

    @functools.wraps(fn)
    def wrapper(context: dg.AssetExecutionContext, tracer):
        asset = context.asset_key.path[-1]
        settings = tracer.settings
        partitions = run_partitions(context)
        decision = decide(asset, settings, partitions)
        if decision.skip:
            context.log.info(f"{asset}: {decision.reason}; skipped")
            return skipped_result(decision)
        manifest = Manifest(settings.lake_root)
        manifest.forget(asset, partitions)  # a failed run leaves nothing that claims to be current
        result = fn(context, tracer)
        if not decision.key:  # never skips: nothing to record
            return result
        output = record(asset, settings, partitions, decision.key, context.run_id)
        metadata = dict(result.metadata or {}) if isinstance(result, dg.MaterializeResult) else {}
        metadata["skipped"] = False
        if isinstance(result, dg.MaterializeResult):
            return dg.MaterializeResult(
                asset_key=result.asset_key,
                metadata=metadata,
                check_results=result.check_results,
                data_version=dg.DataVersion(output),
                tags=result.tags,
            )
        return result

    return wrapper
