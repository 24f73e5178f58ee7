"""How to install one of autobp's optional extras, said from where this copy of autobp stands.

autobp is not on a package index, so asking pip for autobp's `data` extra by name fails.
From a clone — the package sits in a source tree with autobp's
pyproject.toml, as after `pip install -e .` or when run from the clone —
the extra installs with `pip install -e '<clone>[data]'`, `'.[data]'` from
the clone's root.  A copy installed from a wheel or with `pip install .`
names the extra's own packages instead, read from its installed metadata.
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

__all__ = ["install_hint"]


def install_hint(extra: str) -> str:
    """The pip command that installs autobp's optional `extra` ("data", "plot", …) from where autobp stands.

    >>> install_hint("plot").startswith("pip install ")
    True
    """
    root = source_tree()
    if root is not None:
        where = "." if root == Path.cwd().resolve() else str(root)
        return f"pip install -e '{where}[{extra}]'"
    packages = requirements(extra)
    if not packages:
        return f"pip install the packages of autobp's {extra!r} extra (see its pyproject.toml)"
    return "pip install " + " ".join(f"'{p}'" for p in packages)


def source_tree() -> Path | None:
    """The clone this package is imported from (the folder with autobp's pyproject.toml), or None."""
    root = Path(__file__).resolve().parent.parent
    pyproject = root / "pyproject.toml"
    try:
        is_autobp = re.search(r'^name = "autobp"$', pyproject.read_text(encoding="utf-8"), re.M) is not None
    except OSError:
        return None
    return root if is_autobp else None


def requirements(extra: str) -> list[str]:
    """The requirements of `extra` in the installed metadata ([] when autobp is not installed)."""
    try:
        requires = metadata.requires("autobp") or []
    except metadata.PackageNotFoundError:
        return []
    marker = re.compile(rf"""extra\s*==\s*["']{re.escape(extra)}["']""")
    return [r.split(";")[0].strip() for r in requires if ";" in r and marker.search(r.split(";", 1)[1])]
