"""Shared fixtures: an isolated settings environment and a small sim pipeline run."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tracer_assets.settings import TracerSettings

warnings.filterwarnings("ignore", message=".*beta.*")

ROOT_SETTINGS = ("LAKE_ROOT", "SIM_TRUTH_ROOT", "OUTBOX_DIR")


def isolated_env(tmp: Path) -> dict[str, str]:
    """TRACER_* roots pointed into ``tmp``; every other TRACER_* variable removed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACER_")}
    env.update(
        {
            "TRACER_LAKE_ROOT": str(tmp / "lake"),
            "TRACER_SIM_TRUTH_ROOT": str(tmp / "truth"),
            "TRACER_OUTBOX_DIR": str(tmp / "outbox"),
            "DAGSTER_HOME": str(tmp / "dagster_home"),
        }
    )
    return env


def crypto_universe(path: Path, pairs: tuple[tuple[str, float, float], ...]) -> Path:
    """Write a crypto-only universe YAML of (symbol, sim_price, sim_vol_annual) rows; returns ``path``."""
    path.write_text(
        "calendar: XNYS\ninstruments:\n"
        + "".join(
            f"  - {{symbol: {s}, asset_class: crypto, sim_price: {p}, sim_vol_annual: {v}}}\n"
            for s, p, v in pairs
        )
    )
    return path


@contextmanager
def isolated_session(tmp: Path, **extra_env: str) -> Iterator[pytest.MonkeyPatch]:
    """For module-scoped fixtures: a clean TRACER_* environment rooted in ``tmp`` (plus ``extra_env``),
    with ``tmp`` as the working directory, undone on exit."""
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith("TRACER_"):
                mp.delenv(key)
        for key, value in {**isolated_env(tmp), **extra_env}.items():
            mp.setenv(key, value)
        mp.chdir(tmp)
        yield mp


def settings_factory(**base: Any) -> Callable[..., TracerSettings]:
    """A test module's ``settings(**overrides)``: ``TracerSettings`` from ``base`` with the overrides
    on top, and no ``.env`` file read."""

    def settings(**overrides: Any) -> TracerSettings:
        return TracerSettings(_env_file=None, **(base | overrides))

    return settings


@pytest.fixture
def tracer_env(tmp_path, monkeypatch):
    """Per-test isolation: settings read from a clean environment rooted in tmp_path."""
    for key in list(os.environ):
        if key.startswith("TRACER_"):
            monkeypatch.delenv(key)
    for key, value in isolated_env(tmp_path).items():
        if key.startswith("TRACER_") or key == "DAGSTER_HOME":
            monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    return tmp_path
