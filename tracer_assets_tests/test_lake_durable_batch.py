"""Durability per range (``lake/atomic.py``'s ``durable_batch``): a range's files become visible together,
after one flush, and never torn; a failure inside makes none of them visible and leaves no temp file."""

from __future__ import annotations

import os

import pytest

from tracer_assets.lake import Lake, atomic
from tracer_assets.lake.tempfiles import TEMP_PREFIX
from tracer_assets_tests.test_lake import _narratives

DAYS = ["2024-03-01", "2024-03-02", "2024-03-03"]


def _temp_files(root) -> list[str]:
    return [p.name for p in root.rglob(f"{TEMP_PREFIX}*")]


def _ids(lake: Lake, day: str) -> list[str]:
    return sorted(lake.read("narratives", day, day)["narrative_id"])


def test_batch_writes_appear_only_when_the_batch_ends(tmp_path):
    lake = Lake(tmp_path)
    lake.write_partition("narratives", DAYS[0], _narratives(DAYS[0], 2, "old"))
    with lake.batch():
        for day in DAYS:
            lake.write_partition("narratives", day, _narratives(day, 3, "new"))
        assert _ids(lake, DAYS[0]) == ["old0", "old1"]  # not yet renamed
        assert lake.partitions("narratives") == [DAYS[0]]
        assert len(_temp_files(tmp_path)) == 3
    assert lake.partitions("narratives") == DAYS
    assert all(_ids(lake, day) == ["new0", "new1", "new2"] for day in DAYS)
    assert _temp_files(tmp_path) == []


def test_a_failure_inside_the_batch_makes_none_of_it_visible(tmp_path):
    lake = Lake(tmp_path)
    lake.write_partition("narratives", DAYS[0], _narratives(DAYS[0], 2, "old"))
    with pytest.raises(RuntimeError, match="stage failed"), lake.batch():
        lake.write_partition("narratives", DAYS[0], _narratives(DAYS[0], 3, "new"))
        lake.write_partition("narratives", DAYS[1], _narratives(DAYS[1], 3, "new"))
        raise RuntimeError("stage failed")
    assert _ids(lake, DAYS[0]) == ["old0", "old1"]
    assert lake.partitions("narratives") == [DAYS[0]]
    assert _temp_files(tmp_path) == []


def test_a_failed_flush_renames_nothing(tmp_path, monkeypatch):
    lake = Lake(tmp_path)
    lake.write_partition("narratives", DAYS[0], _narratives(DAYS[0], 2, "old"))

    def failing_flush(folders):
        raise OSError("writeback error")

    monkeypatch.setattr(atomic, "_syncfs", failing_flush)
    with pytest.raises(OSError, match="writeback"):
        lake.write_partitions("narratives", _narratives(DAYS[0], 4, "new"), DAYS[:2])
    monkeypatch.undo()
    assert _ids(lake, DAYS[0]) == ["old0", "old1"]
    assert lake.partitions("narratives") == [DAYS[0]]
    assert _temp_files(tmp_path) == []


def test_a_rename_failing_midway_keeps_whole_files_and_drops_the_rest(tmp_path, monkeypatch):
    lake = Lake(tmp_path)
    real_replace, calls = os.replace, []

    def replace_twice(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError("device gone")
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace_twice)
    with pytest.raises(OSError, match="device gone"):
        lake.write_partitions("narratives", _narratives(DAYS[0], 2, "new"), DAYS)
    monkeypatch.undo()
    assert lake.partitions("narratives") == [DAYS[0]]  # renamed before the failure, and whole
    assert _ids(lake, DAYS[0]) == ["new0", "new1"]
    assert _temp_files(tmp_path) == []


@pytest.mark.parametrize("has_syncfs", [True, False])
def test_a_range_is_flushed_once_or_file_by_file_without_syncfs(tmp_path, monkeypatch, has_syncfs):
    flushed, fsynced = [], []
    real_fsync = os.fsync
    monkeypatch.setattr(atomic.os, "fsync", lambda fd: (fsynced.append(fd), real_fsync(fd)))
    if has_syncfs:
        real_syncfs = atomic._syncfs
        monkeypatch.setattr(
            atomic, "_syncfs", lambda folders: (flushed.append(len(folders)), real_syncfs(folders))[1]
        )
    else:
        monkeypatch.setattr(atomic, "_SYNCFS", None)
    lake = Lake(tmp_path)
    lake.write_partitions("narratives", _narratives(DAYS[0], 2, "a"), DAYS)
    assert all(len(lake.read("narratives", d, d)) == (2 if d == DAYS[0] else 0) for d in DAYS)
    if has_syncfs:
        assert flushed == [3, 3] and fsynced == []  # before and after the renames, no per-file fsync
    else:
        assert len(fsynced) == 6  # each temp file, then each folder
    assert _temp_files(tmp_path) == []


def test_a_batch_inside_a_batch_joins_it(tmp_path):
    lake = Lake(tmp_path)
    with lake.batch() as outer:
        lake.write_partitions("narratives", _narratives(DAYS[0], 1, "a"), DAYS[:2])
        assert len(outer.pending) == 2  # write_partitions' own batch joined the outer one
        assert lake.partitions("narratives") == []
    assert lake.partitions("narratives") == DAYS[:2]


def test_a_single_write_outside_a_batch_is_visible_at_once(tmp_path):
    lake = Lake(tmp_path)
    lake.write_partition("narratives", DAYS[0], _narratives(DAYS[0], 1, "a"))
    assert _ids(lake, DAYS[0]) == ["a0"]
    lake.write_bytes("artifacts/x.json", b"{}")
    assert lake.read_bytes("artifacts/x.json") == b"{}"


def test_a_batch_of_one_file_fsyncs_it_instead_of_flushing_the_filesystem(tmp_path, monkeypatch):
    flushed, fsynced = [], []
    real_fsync = os.fsync
    monkeypatch.setattr(atomic.os, "fsync", lambda fd: (fsynced.append(fd), real_fsync(fd)))
    monkeypatch.setattr(atomic, "_syncfs", lambda folders: flushed.append(folders) or True)
    lake = Lake(tmp_path)
    lake.write_partitions("narratives", _narratives(DAYS[0], 2, "a"), DAYS[:1])
    assert _ids(lake, DAYS[0]) == ["a0", "a1"]
    assert flushed == [] and len(fsynced) == 2  # the file, then its folder
