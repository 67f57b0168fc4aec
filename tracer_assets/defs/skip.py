"""``@skip_unchanged``: an asset whose input key and output hash (``pipeline/fingerprint.py``) match what
its partitions recorded returns at once, ``skipped=True`` and why in its metadata (README, "Re-runs")."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pandas as pd

from tracer_assets.pipeline.fingerprint import (
    EXTRA_TABLES,
    READ_ONLY_ASSETS,
    WHOLE,
    LakeFile,
    Manifest,
    delivery_pending,
    files_read_by,
    input_key,
    never_skips,
    own_files_hash,
)


@functools.lru_cache(maxsize=1)
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


def reads_for(asset: str) -> Callable[[LakeFile], bool]:
    return files_read_by(asset, *_graph())


def output_hash(root, asset: str, partitions: list[str]) -> str:
    return own_files_hash(root, asset, partitions, *_graph())


@dataclass(frozen=True)
class Decision:
    skip: bool
    key: str
    output: str
    reason: str
    recorded: dict | None = None


def decide(asset: str, settings, partitions: list[str]) -> Decision:
    """May ``asset`` skip ``partitions`` (same inputs, code and outputs as when they were recorded)?"""
    root = settings.lake.lake_root
    forced = never_skips(asset, settings, partitions)
    if forced:
        return Decision(False, "", "", forced)
    pause = Path(root) / "_control" / "paused.json"  # the operator's flag: the digest and orders obey it
    flag = pause.read_text() if pause.exists() else ""
    key = input_key(root, asset, partitions, settings.model_dump_json() + flag, reads_for(asset))
    output = output_hash(root, asset, partitions)
    if pending := delivery_pending(asset, settings, partitions):  # runs, yet records its key
        return Decision(False, key, output, pending)
    recorded = Manifest(root).unchanged(asset, partitions, key, output)
    if recorded is None:
        return Decision(False, key, output, "inputs, code or outputs changed since the last run")
    return Decision(True, key, output, "inputs and code unchanged", recorded)


def record(asset: str, settings, partitions: list[str], key: str, run_id: str) -> str:
    """Record ``key`` and the hash of what the asset wrote for ``partitions``; returns that hash."""
    output = output_hash(settings.lake.lake_root, asset, partitions)
    entry = {"input": key, "output": output, "run_id": run_id, "at": pd.Timestamp.now(tz="UTC").isoformat()}
    Manifest(settings.lake.lake_root).record(asset, partitions, entry)
    return output


def run_partitions(context) -> list[str]:
    return (
        list(context.partition_keys)
        if context.has_partition_key_range or context.has_partition_key
        else [WHOLE]
    )


def skipped_result(decision: Decision) -> dg.MaterializeResult:
    rec = decision.recorded or {}
    why = f"{decision.reason} since run {str(rec.get('run_id', '?'))[:8]} at {rec.get('at', '?')}"
    return dg.MaterializeResult(
        metadata={"skipped": True, "skip_reason": why}, data_version=dg.DataVersion(decision.output)
    )


def skip_unchanged(fn: Callable) -> Callable:
    """Wrap an asset body ``fn(context, tracer)``: skip it when nothing it reads changed."""

    @functools.wraps(fn)
    def wrapper(context: dg.AssetExecutionContext, tracer):
        asset = context.asset_key.path[-1]
        settings = tracer.settings
        partitions = run_partitions(context)
        tracer.lake  # noqa: B018 (the lake root is checked first: a config error fails once, naming it)
        try:
            decision = decide(asset, settings, partitions)
        except OSError as exc:  # no fingerprint (unreadable lake or manifest): just run
            decision = Decision(False, "", "", f"no fingerprint: {exc}")
        if decision.skip:
            context.log.info(f"{asset}: {decision.reason}; skipped")
            return skipped_result(decision)
        manifest = Manifest(settings.lake.lake_root)
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
