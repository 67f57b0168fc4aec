"""Live and backfill agree: the daily assets run one day at a time (as the hourly tick does) give the
same signals and eval_observations as one range run, weekend horizons included."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest

from tracer_assets.definitions import ALL_ASSETS, build_definitions
from tracer_assets.demo import QUIET_RUN_CONFIG
from tracer_assets.lake import Lake
from tracer_assets_tests.conftest import isolated_session
from tracer_assets_tests.pipeline_util import range_tags

FIRST, LAST = "2024-03-05", "2024-03-12"  # Tuesday..Tuesday: Friday signals resolve on Saturday
SELECTION = [
    "bars",
    "price_features",
    "narratives",
    "narrative_scores",
    "narrative_pressure",
    "signals",
    "eval_observations",
]
FAST = {"TRACER_NOVELTY_MODEL": "hashing"}


def _materialize(tags: dict[str, str] | None = None, partition_key: str | None = None) -> None:
    defs = build_definitions()
    selected = [a for a in ALL_ASSETS if a.key.to_user_string() in SELECTION]
    result = dg.materialize(
        ALL_ASSETS,
        selection=selected,
        instance=dg.DagsterInstance.ephemeral(),
        resources={"tracer": defs.resources["tracer"]},
        tags=tags or {},
        partition_key=partition_key,
        run_config=QUIET_RUN_CONFIG,
    )
    assert result.success


def _tables(lake: Lake) -> dict[str, pd.DataFrame]:
    out = {}
    for table, key in (("signals", ["signal_id"]), ("eval_observations", ["observation_id"])):
        df = lake.read(table)
        out[table] = df.sort_values(key).reset_index(drop=True)
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    got = {}
    tmp = tmp_path_factory.mktemp("range")
    with isolated_session(tmp, **FAST):
        _materialize(tags=range_tags(FIRST, LAST))
        got["range"] = _tables(Lake(tmp / "lake"))
    tmp = tmp_path_factory.mktemp("daily")
    with isolated_session(tmp, **FAST):
        for day in pd.date_range(FIRST, LAST, freq="D"):
            _materialize(partition_key=day.strftime("%Y-%m-%d"))
        got["daily"] = _tables(Lake(tmp / "lake"))
    return got


def test_the_window_holds_stock_signals_whose_horizon_ends_on_a_weekend(runs):
    obs = runs["range"]["eval_observations"]
    stock = obs[(obs["kind"] == "signal") & (obs["asset_class"] == "stock")]
    assert (pd.to_datetime(stock["resolved_ts"], utc=True).dt.dayofweek >= 5).any()


@pytest.mark.parametrize("table", ["signals", "eval_observations"])
def test_day_by_day_equals_the_range(runs, table):
    pd.testing.assert_frame_equal(runs["daily"][table], runs["range"][table], check_like=True)
