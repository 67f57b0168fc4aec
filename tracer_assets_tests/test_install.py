"""A non-editable install works on its own: ``pip install .`` into a fresh venv, then, from a folder
outside the repository, ``dagster definitions validate`` passes and the analytics (SQL) assets are
there. Nothing is downloaded: the venv borrows the running environment's packages (dagster, pandas,
setuptools, pip) through a path file, and the project is built without isolation and without deps."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sysconfig
import venv
from pathlib import Path

from tracer_assets.analytics.sql_models import MODELS_DIR

ROOT = Path(__file__).resolve().parents[1]

LIST_ASSETS = """
import json, tracer_assets
from tracer_assets.definitions import defs
keys = [k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()]
groups = {a.key.to_user_string(): g for a in defs.assets for g in a.group_names_by_key.values()}
print(json.dumps({"file": tracer_assets.__file__, "keys": keys, "groups": groups}))
"""


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{args[:4]} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def test_a_non_editable_install_validates_and_keeps_the_sql_models(tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = Path(
        subprocess.check_output([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
        .decode()
        .strip()
    )
    # the running environment's packages, after the venv's own (a path file adds a folder to sys.path
    # but runs none of its .pth files, so this checkout's editable install stays out)
    (site / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("TRACER_")}
    env |= {
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "TRACER_LAKE_ROOT": str(tmp_path / "lake"),
        "PIP_NO_INDEX": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    (tmp_path / "dagster_home").mkdir()
    # built from a copy of what the wheel is made of: no build/ or egg-info litter in the checkout,
    # and no stale build/ folder to ship a module that is gone
    src = tmp_path / "src"
    shutil.copytree(
        ROOT / "tracer_assets", src / "tracer_assets", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy2(ROOT / "pyproject.toml", src / "pyproject.toml")
    pip = [python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation"]
    _run([*pip, "--ignore-installed", str(src)], cwd=elsewhere, env=env)

    # exits non-zero when the definitions do not load (a missing module, a missing SQL folder)
    _run(
        [python, "-m", "dagster", "definitions", "validate", "-m", "tracer_assets.definitions"],
        elsewhere,
        env,
    )

    listed = json.loads(_run([python, "-c", LIST_ASSETS], cwd=elsewhere, env=env).stdout.splitlines()[-1])
    assert Path(listed["file"]).is_relative_to(env_dir), "the installed package was not the one imported"
    models = sorted(p.stem for p in MODELS_DIR.glob("*.sql"))
    assert models, "no SQL models in the source tree"
    analytics = sorted(k for k, g in listed["groups"].items() if g == "analytics")
    assert analytics == models
    assert set(models) <= set(listed["keys"])
