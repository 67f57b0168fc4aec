"""The code's shape that issue 9 asks for, and the silent wrong values it fixed."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DEFS = ROOT / "tracer_assets" / "defs"


def test_dagster_is_imported_only_by_the_wrappers_the_root_and_the_cli():
    outside = []
    for path in (ROOT / "tracer_assets").rglob("*.py"):
        rel = path.relative_to(ROOT / "tracer_assets").as_posix()
        # the CLI entry points (``tracer`` and its per-domain subcommands) drive the Dagster instance
        if rel.startswith("defs/") or rel in {"definitions.py", "demo.py"} or path.name == "cli.py":
            continue
        if re.search(r"^\s*(import dagster|from dagster)", path.read_text(), re.M):
            outside.append(rel)
    assert outside == []


def test_every_domain_declares_its_definitions_and_no_wrapper_is_long():
    import dagster as dg

    import tracer_assets.definitions as root

    for folder in sorted(p for p in DEFS.iterdir() if p.is_dir() and p.name != "__pycache__"):
        if folder.name == "analytics":  # built by the root from the other domains' tables
            continue
        assert (folder / "definitions.py").exists(), folder.name
    assert all(isinstance(d, dg.Definitions) for d in root.DOMAIN_DEFS)
    long = {
        p.relative_to(DEFS).as_posix(): n
        for p in DEFS.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 150
    }
    assert long == {}


def test_metadata_previews_shorten_pandas_3_text_columns():
    from tracer_assets.defs.common import PREVIEW_CHARS, preview

    df = pd.DataFrame({"headline": pd.Series(["x" * 200], dtype="str"), "n": [1]})
    assert df["headline"].dtype != object
    table = preview(df).value
    kept = "x" * (PREVIEW_CHARS - 1)
    assert kept + "…" in table and kept + "x" not in table


def test_a_digest_already_in_the_outbox_is_not_counted_as_newly_delivered(tmp_path):
    from tracer_assets.pipeline.digest import newly_delivered
    from tracer_assets.providers.outbox import OutboxNotifier
    from tracer_assets.settings import TracerSettings

    notifier = OutboxNotifier(TracerSettings(outbox_dir=str(tmp_path / "outbox")))
    first, again = notifier.send("digest", key="k"), notifier.send("digest", key="k")
    assert first.delivered and again.delivered  # the notifier reports both as delivered
    assert newly_delivered(first) and not newly_delivered(again)


def test_the_readme_names_the_day_the_weekly_evaluation_cron_runs():
    from tracer_assets.defs.automation.schedules import weekly_evaluation

    days = {"1": "Mondays", "4": "Thursdays"}
    minute, hour, _, _, weekday = weekly_evaluation.cron_schedule.split()
    said = f"`weekly_evaluation` ({days[weekday]} {int(hour):02d}:{int(minute):02d} UTC"
    assert said in (ROOT / "README.md").read_text()


def test_no_lexicon_word_is_silently_overridden_later_in_the_table():
    import ast

    from tracer_assets.sentiment import lexicon

    source = (ROOT / "tracer_assets" / "sentiment" / "lexicon.py").read_text()
    table = next(
        n.value
        for n in ast.walk(ast.parse(source))
        if isinstance(n, ast.AnnAssign) and getattr(n.target, "id", None) == "WORDS"
    )
    seen: dict[str, float] = {}
    repeated = []
    for key, value in zip(table.keys, table.values, strict=True):
        part = (
            eval(ast.get_source_segment(source, value), vars(lexicon))  # noqa: S307 (our own source)
            if key is None
            else {key.value: eval(ast.get_source_segment(source, value), vars(lexicon))}  # noqa: S307
        )
        repeated += [w for w in part if w in seen]
        seen.update(part)
    assert repeated == []
    # each inflection weighs what its verb does
    assert (
        lexicon.WORDS["plunges"] == lexicon.WORDS["plunge"]
        and lexicon.WORDS["tumbles"] == lexicon.WORDS["tumble"]
    )
    assert lexicon.WORDS["upgrade"] == lexicon.WORDS["upgrades"]


NO_SETTINGS_AT_IMPORT = """
import importlib, pkgutil, warnings
import pydantic_settings
warnings.simplefilter("ignore")

allowed = pydantic_settings.BaseSettings.__init__

def refuse(self, *args, **kwargs):
    if type(self).__name__ == "PartitionsStartAtLoad":  # the code location's shape, read alone
        return allowed(self, *args, **kwargs)
    raise RuntimeError("a setting was read at import time")

pydantic_settings.BaseSettings.__init__ = refuse
import tracer_assets
bad = []
for module in pkgutil.walk_packages(tracer_assets.__path__, "tracer_assets."):
    try:
        importlib.import_module(module.name)
    except RuntimeError as exc:
        bad.append(f"{module.name}: {exc}")
print("\\n".join(bad))
"""


def test_no_setting_is_read_at_import_time():
    """Every module (the Definitions included) imports with settings refused, but for
    TRACER_PARTITIONS_START read alone (the partitions' first day is the code location's shape): crons
    are constants, and settings are read when an asset, sensor or command runs."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", NO_SETTINGS_AT_IMPORT], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == ""
