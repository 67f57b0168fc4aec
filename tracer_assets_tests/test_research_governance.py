"""Governed params: versions by content, point-in-time lookup, rollbacks as new rows."""

import pandas as pd
import pytest

from tracer_assets.research.governance import (
    governed_row,
    in_force,
    params_version,
    rollback_row,
    version_segments,
)

T = pd.Timestamp


def _table():
    rows = [
        governed_row(
            {"cooldown_hours": hours}, action="adopt", source="wf", actor="ci", reason="", ts=T(day, tz="UTC")
        )
        for hours, day in ((12, "2025-02-01"), (36, "2025-03-01"))
    ]
    return pd.concat(rows, ignore_index=True)


def test_version_is_a_content_hash():
    assert params_version({"a": 1, "b": 2}) == params_version({"b": 2, "a": 1})
    assert params_version({"a": 1}) != params_version({"a": 2})


def test_in_force_is_point_in_time():
    g = _table()
    assert in_force(g, T("2025-01-15", tz="UTC")) == (None, {})
    assert in_force(g, T("2025-02-15", tz="UTC"))[1] == {"cooldown_hours": 12}
    assert in_force(g, T("2025-03-01", tz="UTC"))[1] == {"cooldown_hours": 36}


def test_rollback_restores_an_earlier_version_from_its_time_on():
    g = _table()
    old = g.iloc[0]["version"]
    back = rollback_row(g, old, actor="alice", reason="drift", ts=T("2025-03-10", tz="UTC"))
    g2 = pd.concat([g, back], ignore_index=True)
    assert in_force(g2, T("2025-03-05", tz="UTC"))[1] == {"cooldown_hours": 36}
    version, params = in_force(g2, T("2025-03-11", tz="UTC"))
    assert (version, params) == (old, {"cooldown_hours": 12})
    assert back.iloc[0]["actor"] == "alice" and back.iloc[0]["action"] == "rollback"
    with pytest.raises(ValueError, match="no governed version"):
        rollback_row(g, "nope", actor="a", reason="", ts=T("2025-04-01", tz="UTC"))


def test_segments_cut_a_range_where_the_version_changes():
    g = _table()
    segs = version_segments(g, T("2025-01-20", tz="UTC"), T("2025-03-20", tz="UTC"))
    assert [(s[0].strftime("%m-%d"), s[1].strftime("%m-%d"), s[3]) for s in segs] == [
        ("01-20", "02-01", {}),
        ("02-01", "03-01", {"cooldown_hours": 12}),
        ("03-01", "03-20", {"cooldown_hours": 36}),
    ]
