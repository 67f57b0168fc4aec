"""Config errors fail at once, with one line naming the setting or file, and are not retried (issue 13,
item 6). The real ``bars`` asset carries a RetryPolicy (3 retries): a broken universe, a lake root that
is a file, a read-only lake or a bad setting must end the run on the first attempt."""

from __future__ import annotations

import os

import dagster as dg
import pytest

from tracer_assets.defs.market.assets import bars
from tracer_assets.defs.resources import TracerResource

DAY = "2024-03-04"


def run_bars(root, instance):
    return dg.materialize(
        [bars],
        resources={"tracer": TracerResource()},
        partition_key=DAY,
        instance=instance,
        raise_on_error=False,
    )


def failure_of(out) -> tuple[str, int]:
    """The step failure's one-line message, and how many times the step was put up for retry."""
    events = out.all_events
    failures = [e for e in events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    retries = [e for e in events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]
    assert len(failures) == 1
    return failures[0].step_failure_data.error.message, len(retries)


def broken_universe(root, monkeypatch):
    path = root / "universe.yaml"
    path.write_text("instruments:\n  - {symbol: BTC/USD, asset_class: crypto\n")  # unclosed flow mapping
    monkeypatch.setenv("TRACER_UNIVERSE", str(path))
    return str(path)


def lake_is_a_file(root, monkeypatch):
    (root / "lake").write_text("not a folder")
    return "TRACER_LAKE_ROOT"


def read_only_lake(root, monkeypatch):
    (root / "lake").mkdir()
    real_access = os.access
    lake = str(root / "lake")
    # tests run as root, which writes through any mode bits: report the folder the way a
    # read-only mount (or another user's folder) answers
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == lake else real_access(p, mode))
    return "is read-only"


def bad_setting(root, monkeypatch):
    monkeypatch.setenv("TRACER_HTTP_TIMEOUT_S", "-1")
    return "TRACER_HTTP_TIMEOUT_S='-1': Input should be greater than 0"


def alias_in_universe(root, monkeypatch):
    path = root / "universe.yaml"
    path.write_text(
        "instruments:\n  - {symbol: BTC/USD, asset_class: crypto}\n  - {symbol: BTCUSD, asset_class: stock}\n"
    )
    monkeypatch.setenv("TRACER_UNIVERSE", str(path))
    return "'BTC/USD' and 'BTCUSD' are one symbol"


@pytest.mark.parametrize(
    "breaks", [broken_universe, lake_is_a_file, read_only_lake, bad_setting, alias_in_universe]
)
def test_config_error_fails_once_with_one_line_naming_it(tracer_env, monkeypatch, breaks):
    expected = breaks(tracer_env, monkeypatch)
    out = run_bars(tracer_env, dg.DagsterInstance.ephemeral())
    assert not out.success
    message, retries = failure_of(out)
    assert retries == 0, "a config error was retried"
    assert expected in message and "\n" not in message.strip() and "Traceback" not in message
