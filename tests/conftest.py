"""Shared test settings: the hypothesis profile (no deadline: graphs vary in size), a clean op table."""

import os

import pytest
from hypothesis import HealthCheck, settings

from autobp.ops import OPS

settings.register_profile("default", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", parent=settings.get_profile("default"), max_examples=200)
settings.load_profile("ci" if os.environ.get("CI") else "default")


@pytest.fixture(autouse=True)
def _drop_user_ops():
    """The ops these tests define leave the shared op table afterwards (test_ops checks every entry)."""
    before = set(OPS)
    yield
    for name in set(OPS) - before:
        del OPS[name]


@pytest.fixture
def hide_package(monkeypatch):
    """hide_package("sklearn"): importing that package (or a submodule) raises ImportError, as if not installed."""
    import builtins
    real_import = builtins.__import__

    def hide(package: str) -> None:
        def importer(name, *args, **kwargs):
            if name == package or name.startswith(package + "."):
                raise ImportError(f"No module named {package!r}")
            return real_import(name, *args, **kwargs)

        monkeypatch.setattr(builtins, "__import__", importer)

    return hide
