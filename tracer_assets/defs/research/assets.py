"""Research domain: placebos through the pipeline and the look-ahead leak check."""

import dagster as dg
import pandas as pd

from tracer_assets.defs.common import preview, table_result
from tracer_assets.defs.resources import TracerResource


class PlaceboConfig(dg.Config):
    first_day: str = ""  # default: the lake's latest placebo_days days of narrative_pressure
    last_day: str = ""
    draws: int = 0  # 0: TRACER_PLACEBO_DRAWS


def _window(tracer: TracerResource, first: str, last: str, days: int) -> tuple[str, str]:
    parts = tracer.lake.partitions("narrative_pressure")
    if not parts:
        raise dg.Failure(
            description="placebo_results: the lake holds no narrative_pressure; run a replay first"
        )
    last = last or parts[-1]
    first = first or max(parts[0], (pd.Timestamp(last) - pd.Timedelta(days=days - 1)).strftime("%Y-%m-%d"))
    return first, last


@dg.asset(
    group_name="research",
    kinds={"pandas", "parquet"},
    deps=["narrative_pressure", "signals"],
    description="Placebos through the pipeline: the real hit rate and strategy Sharpe beside null distributions "
    "from delayed, swapped, flipped and rotated stories (one row per draw).",
)
def placebo_results(tracer: TracerResource, config: PlaceboConfig) -> dg.MaterializeResult:
    from tracer_assets.research.placebo import placebo_study, window_store

    s = tracer.settings
    first, last = _window(tracer, config.first_day, config.last_day, s.evidence.placebo_days)
    base = window_store(tracer.lake, s, first, last)
    results, summary = placebo_study(base, s, tracer.universe, first, last, draws=config.draws or None)
    stamp = pd.Timestamp(last, tz="UTC") + pd.Timedelta(days=1)
    results = results.assign(first_day=first, last_day=last, event_ts=stamp, available_ts=stamp)
    tracer.lake.write_table("placebo_results", results)
    tracer.lake.write_table(
        "placebo_summary", summary.assign(first_day=first, last_day=last, event_ts=stamp, available_ts=stamp)
    )
    beaten = (
        int(summary["hit_rate_above_p95"].sum() + summary["sharpe_above_p95"].sum()) if len(summary) else 0
    )
    return table_result(
        "placebo_results",
        results,
        window=f"{first}..{last}",
        summary=preview(summary, rows=20),
        real_above_p95=f"{beaten} of {2 * len(summary)} (hit rate and Sharpe per kind)",
    )


@dg.asset(
    group_name="research",
    kinds={"pandas"},
    deps=["signals"],
    description="Decision times sampled from the lake's latest replay range; the no_look_ahead_leak check "
    "rebuilds everything derived at each from the raw inputs known then and compares with the lake.",
)
def leak_check_samples(tracer: TracerResource) -> dg.MaterializeResult:
    from tracer_assets.research.leak_check import sample_decision_times

    ev = tracer.settings.evidence
    times = sample_decision_times(
        tracer.lake, ev.leak_check_samples, ev.leak_check_seed, ev.leak_check_recent_days
    )
    df = pd.DataFrame({"sample_ts": pd.to_datetime(times, utc=True)})
    df["event_ts"] = df["sample_ts"]
    df["available_ts"] = df["sample_ts"]
    tracer.lake.write_table("leak_check_samples", df)
    return table_result("leak_check_samples", df)


@dg.asset_check(
    asset=leak_check_samples,
    name="no_look_ahead_leak",
    description="Features, scores, novelty, pressure, signals and calibration rebuilt from bars and narratives "
    "truncated at each sampled decision time equal the lake's rows; any mismatch fails with the rows.",
)
def no_look_ahead_leak(tracer: TracerResource) -> dg.AssetCheckResult:
    from tracer_assets.research.leak_check import leak_check

    samples = tracer.lake.read("leak_check_samples")
    times = list(pd.to_datetime(samples["sample_ts"], utc=True)) if len(samples) else []
    mismatches = leak_check(tracer.lake, tracer.settings, tracer.universe, times)
    return dg.AssetCheckResult(
        passed=bool(mismatches.empty) and bool(times),
        description=(
            f"{len(times)} decision times rebuilt, no mismatch"
            if mismatches.empty
            else f"{len(mismatches)} values differ from a rebuild with only what was known then"
        ),
        metadata={"samples": len(times), "mismatches": len(mismatches), "rows": preview(mismatches, rows=20)},
    )


research_job = dg.define_asset_job(
    "research_job",
    selection=dg.AssetSelection.assets(placebo_results, leak_check_samples),
    description="Placebos and the leak check over the lake's latest replay range.",
)
