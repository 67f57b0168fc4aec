"""Content fingerprints for re-runs that do nothing when nothing changed.

A stage's result is a pure function of the code, the settings, its partition range and the lake files
it reads. ``input_key`` hashes exactly that: the code version (every source file of the project),
the settings, the range, and the content (not the timestamps) of every lake file the stage may read.
``Manifest`` keeps, per asset and partition, the input key and the hash of what the asset wrote, under
``<lake>/_manifest/`` (not a table: its name starts with ``_``). A re-materialization whose input key
and output hash match what its partitions recorded can skip its work (``defs/skip.py``).

File hashes are cached by (path, size, mtime), so a file is read once per process unless rewritten;
folder listings by the folder's mtime, so listing an unchanged lake costs one stat per folder.
Plain Python, no Dagster import.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import pandas as pd

from tracer_assets.lake.atomic import atomic_write

MANIFEST_DIR = "_manifest"
WHOLE = "__whole__"  # the manifest key of an unpartitioned asset
_TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_PART = re.compile(r"^part-(.+)\.parquet$")
_PROJECT = Path(__file__).resolve().parents[2]
_HASH_CACHE: dict[str, tuple[int, int, str]] = {}
# folder listings of the lake by path: (the folder's mtime_ns, what it held)
_DIR_CACHE: dict[str, tuple[int, list]] = {}
_RACY_NS = 1_000_000_000  # a listing is kept once its folder is older than this (coarse fs clocks)


@dataclass(frozen=True)
class LakeFile:
    """One Parquet file of a lake table: ``key`` is the partition (``None`` for a whole table)."""

    table: str
    key: str | None
    part: str
    path: Path

    @cached_property
    def relpath(self) -> str:
        where = f"date={self.key}/" if self.key is not None else ""
        return f"{self.table}/{where}part-{self.part}.parquet"


@lru_cache(maxsize=1)
def code_version() -> str:
    """A hash of every source, SQL and YAML file of the project (any code change changes it)."""
    h = hashlib.blake2b(digest_size=16)
    roots = [_PROJECT / "tracer_assets", _PROJECT / "dbt_like_sql"]
    files = sorted(
        p
        for root in roots
        if root.exists()
        for p in root.rglob("*")
        if p.suffix in (".py", ".sql", ".yaml", ".yml") and "__pycache__" not in p.parts
    )
    for p in files:
        h.update(str(p.relative_to(_PROJECT)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def file_hash(path: Path) -> str:
    """blake2b of the file's bytes, cached by (size, mtime_ns)."""
    st = path.stat()
    key = str(path)
    cached = _HASH_CACHE.get(key)
    if cached is not None and cached[0] == st.st_size and cached[1] == st.st_mtime_ns:
        return cached[2]
    digest = hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()
    _HASH_CACHE[key] = (st.st_size, st.st_mtime_ns, digest)
    return digest


def lake_files(root: str | Path) -> list[LakeFile]:
    """Every Parquet part file of every table under ``root`` (day partitions and whole tables)."""
    root = Path(root).absolute()  # the listing cache is keyed by folder path: one path per folder
    if not root.is_dir():
        return []
    now = time.time_ns()
    out: list[LakeFile] = []
    for name, is_dir in _listing(str(root), now, _entries, ""):
        if is_dir and _TABLE_NAME.match(name):
            for entry in _listing(f"{root}/{name}", now, _table_entries, name):
                if isinstance(entry, LakeFile):
                    out.append(entry)
                else:
                    out += _listing(entry, now, _part_files, name)
    return sorted(out, key=lambda f: f.relpath)


def _listing(folder: str, now_ns: int, scan: Callable[[str, str], list], table: str) -> list:
    """``scan(folder, table)``, cached by the folder's mtime_ns (a file added, removed or renamed into
    it changes it). A folder changed less than ``_RACY_NS`` before ``now_ns`` is scanned again next
    time: file-system clocks tick coarsely, so a change within the same tick keeps the mtime."""
    mtime = os.stat(folder).st_mtime_ns
    cached = _DIR_CACHE.get(folder)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    found = scan(folder, table)
    if now_ns - mtime > _RACY_NS:
        _DIR_CACHE[folder] = (mtime, found)
    else:
        _DIR_CACHE.pop(folder, None)
    return found


def _entries(folder: str, _table: str) -> list[tuple[str, bool]]:
    with os.scandir(folder) as entries:
        return [(e.name, e.is_dir()) for e in entries]


def _table_entries(folder: str, table: str) -> list:
    """A table folder's whole-table files (LakeFile) and day folders (their paths)."""
    out: list = []
    with os.scandir(folder) as entries:
        for e in entries:
            if e.is_dir() and e.name.startswith("date="):
                out.append(e.path)
            elif (m := _PART.match(e.name)) and e.is_file():
                out.append(LakeFile(table, None, m.group(1), Path(e.path)))
    return out


def _part_files(folder: str, table: str) -> list[LakeFile]:
    key = os.path.basename(folder)[5:]
    with os.scandir(folder) as parts:
        return [LakeFile(table, key, m.group(1), Path(f.path)) for f in parts if (m := _PART.match(f.name))]


def files_hash(files: Iterable[LakeFile]) -> str:
    h = hashlib.blake2b(digest_size=16)
    for f in files:
        h.update(f.relpath.encode())
        h.update(file_hash(f.path).encode())
    return h.hexdigest()


def input_key(
    root: str | Path,
    asset: str,
    partitions: list[str],
    settings_json: str,
    reads: Callable[[LakeFile], bool],
) -> str:
    """The hash of what ``asset`` computes from: code, settings, its partitions and the content of
    the lake files ``reads`` accepts (the files of the tables its upstream assets write)."""
    h = hashlib.blake2b(digest_size=16)
    for piece in (code_version(), asset, ",".join(partitions), settings_json):
        h.update(piece.encode())
        h.update(b"\0")
    h.update(files_hash(f for f in lake_files(root) if reads(f)).encode())
    return h.hexdigest()


class Manifest:
    """``<lake>/_manifest/<asset>.json``: per partition, the input key and output hash recorded by
    the run that last materialized it."""

    def __init__(self, root: str | Path):
        self.dir = Path(root) / MANIFEST_DIR

    def _path(self, asset: str) -> Path:
        if not _TABLE_NAME.match(asset):
            raise ValueError(f"bad asset name {asset!r}")
        return self.dir / f"{asset}.json"

    def load(self, asset: str) -> dict[str, dict]:
        try:
            return json.loads(self._path(asset).read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    def record(self, asset: str, partitions: list[str], entry: dict) -> None:
        data = self.load(asset)
        for key in partitions:
            data[key] = entry
        self.dir.mkdir(parents=True, exist_ok=True)
        text = json.dumps(data, sort_keys=True)
        atomic_write(self._path(asset), lambda tmp: Path(tmp).write_text(text), durable=False)

    def forget(self, asset: str, partitions: list[str]) -> None:
        data = self.load(asset)
        if any(data.pop(key, None) is not None for key in partitions):
            self.dir.mkdir(parents=True, exist_ok=True)
            text = json.dumps(data, sort_keys=True)
            atomic_write(self._path(asset), lambda tmp: Path(tmp).write_text(text), durable=False)

    def unchanged(self, asset: str, partitions: list[str], key: str, output: str) -> dict | None:
        """The recorded entry when every partition recorded ``key`` and ``output``, else None."""
        data = self.load(asset)
        entries = [data.get(p) for p in partitions]
        if not entries or any(
            e is None or e.get("input") != key or e.get("output") != output for e in entries
        ):
            return None
        return entries[-1]


# ---- which files an asset owns, and when it must run whatever the manifest says ----------------
# Tables an asset writes besides the one named after it (part "0" unless a part is named).
EXTRA_TABLES: dict[str, tuple[str, ...]] = {
    "signals": ("signals_held_back",),
    "orders": ("fills", "positions", "portfolio", "risk_events", "execution_state"),
}
# Tables an asset reads beyond its ancestors': the governed version in force at each decision time (a
# monthly table, no daily graph edge), so an adoption or a rollback re-runs the stages that honour it.
EXTRA_READS: dict[str, frozenset[str]] = {
    "signals": frozenset({"governed_params"}),
    "narrative_pressure": frozenset({"governed_params"}),
}
# Tables written under another name, or written by no asset (read-only here: they stay inputs).
READ_ONLY_ASSETS = frozenset({"fills", "positions", "portfolio", "risk_events"})
# Named parts of shared tables and who writes them (other parts belong to the table's writer).
PART_OWNERS = {"digest_delivery": "digest"}
FETCHERS = {"bars": "bars_provider", "narratives": "news_provider", "polymarket_markets": "markets_provider"}


def owner(f: LakeFile, writers: dict[str, str], assets: frozenset[str] | set[str]) -> str | None:
    """The asset that writes ``f`` (None: no asset does; an operator or a sensor does)."""
    if f.part in assets:  # quarantine and run_health keep one part per fetching asset
        return f.part
    if f.part in PART_OWNERS:
        return PART_OWNERS[f.part]
    return writers.get(f.table)


def never_skips(asset: str, settings, partitions: list[str]) -> str | None:
    """Why ``asset`` must run whatever the manifest says (None: it may skip)."""
    if os.environ.get("TRACER_SKIP_UNCHANGED", "1") == "0":
        return "TRACER_SKIP_UNCHANGED=0"
    if "://" in str(settings.lake.lake_root):
        return "the lake is remote (fingerprints read local files)"
    if asset in FETCHERS and getattr(settings.providers, FETCHERS[asset]) != "sim":
        return f"{getattr(settings.providers, FETCHERS[asset])} is an outside source"
    if asset == "orders" and settings.execution.trading_mode != "paper_sim":
        return f"trading mode {settings.execution.trading_mode}"
    today = pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d")
    if partitions and partitions[-1] != WHOLE and max(partitions) >= today:
        return "the range reaches today (live data)"
    return None


def delivery_pending(asset: str, settings, partitions: list[str]) -> str:
    """Why ``asset``'s run must deliver ('' when nothing is pending): a digest day of ``partitions``
    inside its delivery window (``digest_deliver_max_age_hours`` after the day's end) with no delivery
    recorded as done in ``run_health``. A delivered day may skip like any other."""
    if asset != "digest" or not partitions or partitions[-1] == WHOLE:
        return ""
    from tracer_assets.lake import Lake
    from tracer_assets.providers.health import DELIVERY_ASSET, read_health

    now = pd.Timestamp.now(tz="UTC")
    window = pd.Timedelta(hours=settings.digest.digest_deliver_max_age_hours)
    days = [d for d in partitions if now - (pd.Timestamp(d, tz="UTC") + pd.Timedelta(days=1)) <= window]
    if not days:
        return ""
    health = read_health(Lake(settings.lake.lake_root), min(days), max(days))
    done = health[(health["asset"] == DELIVERY_ASSET) & ~health["degraded"]]
    pending = sorted(set(days) - {str(p)[:10] for p in done["partition"]})
    return (
        f"the digest of {pending[-1]} is inside its delivery window and not delivered yet" if pending else ""
    )


def files_read_by(
    asset: str, ancestors: dict[str, frozenset[str]], writers: dict[str, str]
) -> Callable[[LakeFile], bool]:
    """The files ``asset`` may read: its ancestors', those no asset writes and its ``EXTRA_READS``."""
    assets = frozenset(ancestors)
    upstream = ancestors.get(asset, frozenset()) | EXTRA_READS.get(asset, frozenset())

    def reads(f: LakeFile) -> bool:
        who = owner(f, writers, assets)
        return who is None or who in upstream

    return reads


def own_files_hash(
    root, asset: str, partitions: list[str], ancestors: dict[str, frozenset[str]], writers: dict[str, str]
) -> str:
    """Hash of ``asset``'s own files in ``partitions`` (its whole tables when unpartitioned)."""
    assets, wanted = frozenset(ancestors), set(partitions)
    return files_hash(
        f
        for f in lake_files(root)
        if owner(f, writers, assets) == asset and (f.key is None or f.key in wanted or WHOLE in wanted)
    )
