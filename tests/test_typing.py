"""Types: `mypy autobp` finds nothing, and a user's typed code (tests/typecheck_usage.py) checks against autobp.

The usage file is checked twice: beside the source (the `mypy autobp` CI step's view), and as a user's
project sees autobp once pip has installed it, where mypy reads a package only if it ships `py.typed`.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from mypy import api

import typecheck_usage

ROOT = Path(__file__).resolve().parents[1]
USAGE = ROOT / "tests" / "typecheck_usage.py"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _skip_without_optional_types() -> None:
    """autobp imports Dask and matplotlib lazily; both ship their own types, so mypy reads them."""
    for package, extra in (("dask", "dask"), ("matplotlib", "plot")):
        if importlib.util.find_spec(package) is None:
            pytest.skip(f"mypy checks autobp's use of {package} against {package}'s types: install the {extra} extra")


def test_the_usage_file_runs():
    typecheck_usage.use_everything()


@pytest.mark.slow
def test_mypy_finds_no_error_in_autobp_nor_in_a_users_code(monkeypatch, tmp_path):
    _skip_without_optional_types()
    monkeypatch.chdir(ROOT)
    out, err, status = api.run(["--config-file", "pyproject.toml", "--cache-dir", str(tmp_path),
                                "autobp", str(USAGE.relative_to(ROOT))])
    assert status == 0, out + err
    assert out.startswith("Success: no issues found in ")


def _install_like_a_wheel(site: Path) -> None:
    """autobp's modules and package data (py.typed among them), laid out as pip puts them in site-packages."""
    data = PYPROJECT["tool"]["setuptools"]["package-data"]["autobp"]
    for package in PYPROJECT["tool"]["setuptools"]["packages"]:
        source = ROOT / PYPROJECT["tool"]["setuptools"]["package-dir"].get(package, package.replace(".", "/"))
        target = site / package.replace(".", "/")
        target.mkdir(parents=True)
        for path in source.glob("*.py"):
            shutil.copy(path, target)
        if package == "autobp":
            for name in data:
                shutil.copy(source / name, target)


@pytest.mark.slow
def test_a_users_code_type_checks_against_autobp_as_installed(tmp_path):
    """mypy run as a user runs it, in their own project: autobp is found on the path, typed by its py.typed."""
    _skip_without_optional_types()
    site, project = tmp_path / "site", tmp_path / "project"
    _install_like_a_wheel(site)
    project.mkdir()
    shutil.copy(USAGE, project)
    (project / "mypy.ini").write_text("[mypy]\n", encoding="utf-8")      # no settings but the file's own
    result = subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache"), USAGE.name],
                            cwd=project, env={**os.environ, "PYTHONPATH": str(site)},
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Success: no issues found in 1 source file")
