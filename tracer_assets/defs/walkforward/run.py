"""The fold partitions' backfill run from the command line: the same assets over the same monthly
partition range as a UI backfill (single run), on the instance ``DAGSTER_HOME`` names."""

import uuid
import warnings
from pathlib import Path

import dagster as dg

from tracer_assets.demo import QUIET_RUN_CONFIG, STAGE_TAG, ensure_dagster_home, range_tags, step_watcher
from tracer_assets.progress import Reporter


def materialize_folds(months: list[str], lake_root: str | None = None) -> tuple[bool, str]:
    """Materialize the walk-forward domain's assets for ``months``; (True, run id) or (False, error)."""
    warnings.filterwarnings("ignore")
    from tracer_assets.definitions import build_definitions
    from tracer_assets.defs.walkforward.definitions import defs as walkforward_defs

    ensure_dagster_home(Path.cwd())
    resources = {"tracer": build_definitions(lake_root).resources["tracer"]}
    assets = list(walkforward_defs.assets)
    instance = dg.DagsterInstance.get()
    stage = f"walkforward-{uuid.uuid4().hex[:8]}"
    # progress on a terminal (quiet otherwise): each asset of the run, from the run's event stream
    with Reporter() as rep, rep.steps(f"walkforward {months[0]}..{months[-1]}", total=len(assets)) as steps:
        watcher, stop = step_watcher(instance, stage, steps) if rep.enabled else (None, None)
        try:
            result = dg.materialize(
                assets,
                instance=instance,
                resources=resources,
                tags={**range_tags(f"{months[0]}-01", f"{months[-1]}-01"), STAGE_TAG: stage},
                run_config=QUIET_RUN_CONFIG,
                raise_on_error=False,
            )
        except dg.DagsterError as exc:
            return False, str(exc).splitlines()[0]
        finally:
            if watcher is not None:
                stop.set()
                watcher.join()
    if not result.success:
        failures = [e for e in result.all_events if e.is_step_failure]
        detail = failures[0].step_failure_data.error.message.strip() if failures else "run failed"
        return False, detail.splitlines()[-1] if detail else "run failed"
    return True, result.run_id
