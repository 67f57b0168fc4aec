"""Lake.read over a bounded range lists only the range's day folders and reads what the full listing reads."""

from __future__ import annotations

import pandas as pd

from tracer_assets.lake import Lake


def _frame(day: str, n: int) -> pd.DataFrame:
    ts = pd.date_range(day, periods=n, freq="h", tz="UTC")
    return pd.DataFrame({"symbol": ["AAA"] * n, "value": range(n), "event_ts": ts, "available_ts": ts})


def test_bounded_read_prunes_and_equals_the_full_listing(tmp_path, monkeypatch):
    lake = Lake(tmp_path)
    days = [d.strftime("%Y-%m-%d") for d in pd.date_range("2024-01-01", periods=40, freq="D")]
    for i, day in enumerate(days):
        lake.write_partition("things", day, _frame(day, i % 3))
        if i % 7 == 0:
            lake.write_partition("things", day, _frame(day, 1), part="extra")
    # a crashed writer's temp file is never read
    (tmp_path / "things" / f"date={days[5]}" / ".tmp-123-part-0.parquet").write_bytes(b"junk")
    listed = []
    real = lake._table_files
    monkeypatch.setattr(lake, "_table_files", lambda t: listed.append(t) or real(t))
    pruned = lake.read("things", days[3], days[20])
    assert listed == []  # no listing of the whole table
    monkeypatch.setattr(lake, "_files_between", lambda *a: None)
    full = lake.read("things", days[3], days[20])
    pd.testing.assert_frame_equal(pruned, full)
    assert len(pruned) > 0


def test_unbounded_or_whole_tables_take_the_general_path(tmp_path):
    lake = Lake(tmp_path)
    lake.write_table("whole", _frame("2024-01-01", 3))
    assert lake._files_between("whole", "2024-01-01", "2024-01-02") is None
    assert len(lake.read("whole", "2024-01-01", "2024-01-02")) == 3
    assert lake.read("missing", "2024-01-01", "2024-01-02").empty
