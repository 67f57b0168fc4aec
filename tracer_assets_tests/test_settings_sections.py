"""Settings in sections: flat TRACER_* names still set them, flat keywords and updates are routed, each
stage's domain modules see only their own section, and docs/settings.md is the generated table."""

from __future__ import annotations

import ast
import operator
import pickle
from pathlib import Path

import pytest

from tracer_assets.research.governance_report import settings_hash
from tracer_assets.settings import FIELD_SECTION, SECTION_CLASSES, TracerSettings
from tracer_assets.settings_table import is_secret, settings_markdown, settings_values

ROOT = Path(__file__).resolve().parents[1]
# stage package -> the one section its domain modules may see (entry points, cli.py, may see all)
STAGES = {
    "sentiment": "SentimentSettings",
    "signals": "SignalSettings",
    "digest": "DigestSettings",
    "polymarket": "PolymarketSettings",
    "evaluation": "EvaluationSettings",
}


def test_flat_environment_names_set_their_section(monkeypatch):
    monkeypatch.setenv("TRACER_SIGNAL_MIN_PRESSURE", "0.37")
    monkeypatch.setenv("TRACER_NOVELTY_DAYS", "5")
    monkeypatch.setenv("TRACER_EVAL_BLOCK_DAYS", "4")
    s = TracerSettings(cooldown_hours=6)  # a flat keyword in the same section as an env variable
    assert (s.signals.signal_min_pressure, s.signals.cooldown_hours) == (0.37, 6)
    assert s.sentiment.novelty_days == 5 and s.evaluation.eval_block_days == 4
    assert TracerSettings(signals={"cooldown_hours": 7}).signals.signal_min_pressure == 0.37


def test_updates_are_routed_and_unknown_names_refused():
    base = TracerSettings()
    moved = base.model_copy(update={"cooldown_hours": 3, "lake_root": "elsewhere"})
    assert (moved.signals.cooldown_hours, moved.lake.lake_root) == (3, "elsewhere")
    assert (
        base.signals.cooldown_hours != 3 and base.lake.lake_root != "elsewhere"
    )  # the original is untouched
    with pytest.raises(ValueError, match="no setting"):
        base.model_copy(update={"cooldown_hour": 3})
    with pytest.raises(ValueError, match="SignalSettings has no setting"):
        base.signals.model_copy(update={"eval_block_days": 1})  # lives in the evaluation section
    with pytest.raises(AttributeError):
        operator.attrgetter("cooldown_hours")(base)  # reads go through the section


def test_every_field_has_one_section_and_a_description():
    fields = [(s, n, f) for s, c in SECTION_CLASSES.items() for n, f in c.model_fields.items()]
    assert len({n for _, n, _ in fields}) == len(fields) == len(FIELD_SECTION)
    assert [n for _, n, f in fields if not f.description] == []


def test_settings_survive_pickling_and_hash_deterministically():
    s = TracerSettings(cooldown_hours=9)
    assert pickle.loads(pickle.dumps(s)) == s  # what a worker process receives
    assert s.model_dump_json() == TracerSettings(cooldown_hours=9).model_dump_json()
    assert settings_hash(s) == settings_hash(TracerSettings(cooldown_hours=9))
    assert settings_hash(s) != settings_hash(s.model_copy(update={"cooldown_hours": 10}))
    assert settings_hash(s) == settings_hash(
        s.model_copy(update={"lake_root": "/elsewhere"})
    )  # paths left out


def test_docs_table_is_the_generated_one():
    committed = (ROOT / "docs" / "settings.md").read_text()
    assert committed == settings_markdown(), "regenerate: tracer settings --markdown > docs/settings.md"
    for name in FIELD_SECTION:
        assert f"`TRACER_{name.upper()}`" in committed


def test_secrets_stay_out_of_the_table_and_the_listing(monkeypatch):
    secrets = [n for n, s in FIELD_SECTION.items() if is_secret(SECTION_CLASSES[s].model_fields[n])]
    assert len(secrets) >= 4
    table_before = settings_markdown()
    for i, name in enumerate(secrets):
        monkeypatch.setenv(f"TRACER_{name.upper()}", f"tok-{i}-do-not-print")
    assert settings_markdown() == table_before
    for name in secrets:
        row = next(r for r in table_before.splitlines() if f"`TRACER_{name.upper()}`" in r)
        assert row.split(" | ")[3] == "unset"
    listing = "\n".join(settings_values(TracerSettings()))
    assert "do-not-print" not in listing and f"TRACER_{secrets[0].upper()}=**********" in listing


def _names(tree: ast.AST) -> set[str]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            out.add(node.id)
        elif isinstance(node, ast.Attribute):
            out.add(node.attr)
        elif isinstance(node, ast.alias):
            out.add(node.asname or node.name.split(".")[-1])
    return out


@pytest.mark.parametrize("package", sorted(STAGES))
def test_stage_domain_modules_see_only_their_section(package):
    own = STAGES[package]
    others = {c.__name__ for c in SECTION_CLASSES.values()} - {own} | {"TracerSettings"}
    other_sections = set(SECTION_CLASSES) - {package}
    bad = []
    for path in sorted((ROOT / "tracer_assets" / package).rglob("*.py")):
        if path.name == "cli.py":
            continue
        tree = ast.parse(path.read_text())
        bad += [f"{path.name}: {n}" for n in sorted(_names(tree) & others)]
        for node in ast.walk(tree):  # settings.<other section>.x: the whole settings reached in
            if (
                isinstance(node, ast.Attribute)
                and node.attr in other_sections
                and isinstance(node.value, ast.Name)
                and "settings" in node.value.id.lower()
            ):
                bad.append(f"{path.name}:{node.lineno}: {node.value.id}.{node.attr}")
    assert bad == []
