"""Save and load a trained `MLP` or matrix `Network` as `.npz` or JSON, exactly, never with pickle.

A file holds the kind of model ("mlp" or "network"), its activations (and a
Network's loss), the number of layers, and one weight matrix w<l> of shape
(n_out, n_in) and one bias vector b<l> per layer.  `.npz` files are written
with `np.savez` and read with `np.load(allow_pickle=False)`; a path ending in
`.json` is written as JSON, whose floats round-trip exactly.  Anything wrong
in a file raises ValueError naming the file and the problem.

>>> import tempfile, pathlib
>>> from autobp.nn import MLP
>>> mlp = MLP(2, [3, 1], seed=0)
>>> path = pathlib.Path(tempfile.mkdtemp()) / "mlp.npz"
>>> save(mlp, path)
>>> [p.data for p in load(path).parameters()] == [p.data for p in mlp.parameters()]
True
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np

from autobp.network import Network
from autobp.nn import MLP

__all__ = ["save", "load"]

FORMAT = "autobp-model-1"
_KINDS = {"mlp": MLP, "network": Network}


def _meta(model: MLP | Network) -> dict[str, str]:
    if isinstance(model, MLP):
        return {"kind": "mlp", "activation": model.activation, "output_activation": model.output_activation}
    if isinstance(model, Network):
        return {"kind": "network", "activation": model.activation,
                "output_activation": model.output_activation, "loss": model.loss}
    raise TypeError(f"save: expected an MLP or a Network, got {type(model).__name__}")


def save(model: MLP | Network, path: str | os.PathLike) -> None:
    """Write `model` to `path`: JSON when the name ends in `.json`, else `.npz` (the name is kept as given)."""
    meta = {"format": FORMAT, **_meta(model)}
    weights, biases = model.to_numpy()
    meta["n_layers"] = len(weights)
    path = Path(path)
    if path.suffix == ".json":
        doc = {**meta, "weights": [w.tolist() for w in weights], "biases": [b.tolist() for b in biases]}
        path.write_text(json.dumps(doc))
        return
    arrays = {f"w{l}": w for l, w in enumerate(weights)} | {f"b{l}": b for l, b in enumerate(biases)}
    with open(path, "wb") as f:              # a file object, so numpy does not append ".npz"
        np.savez(f, **{k: np.array(v) for k, v in meta.items()}, **arrays)


def _read_npz(path: Path) -> tuple[dict, list, list]:
    try:
        with np.load(path, allow_pickle=False) as data:
            contents = {k: data[k] for k in data.files}   # read every member now, inside the try
    except FileNotFoundError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as e:
        raise ValueError(f"not a readable .npz file (truncated or corrupt?): {e}") from None
    meta = {}
    for key in ("format", "kind", "activation", "output_activation", "loss", "n_layers"):
        if key in contents:
            v = contents.pop(key)
            if v.ndim != 0:
                raise ValueError(f"entry {key!r} must be a single value, got shape {v.shape}")
            meta[key] = v.item()
    n = meta.get("n_layers")
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"'n_layers' must be an int >= 1, got {n!r}")
    for name in ("w", "b"):
        for l in range(n):
            if f"{name}{l}" not in contents:
                raise ValueError(f"missing array '{name}{l}' (n_layers is {n})")
    extra = sorted(set(contents) - {f"{name}{l}" for name in "wb" for l in range(n)})
    if extra:
        raise ValueError(f"unexpected arrays {extra} for n_layers = {n} (wrong layer count?)")
    return meta, [contents[f"w{l}"] for l in range(n)], [contents[f"b{l}"] for l in range(n)]


def _read_json(path: Path) -> tuple[dict, list, list]:
    try:
        doc = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"not valid JSON (truncated or corrupt?): {e}") from None
    if not isinstance(doc, dict):
        raise ValueError(f"expected a JSON object, got {type(doc).__name__}")
    for key in ("weights", "biases", "n_layers"):
        if key not in doc:
            raise ValueError(f"missing entry {key!r}")
    weights, biases, n = doc.pop("weights"), doc.pop("biases"), doc["n_layers"]
    if not isinstance(weights, list) or not isinstance(biases, list):
        raise ValueError("'weights' and 'biases' must be lists of arrays")
    if not isinstance(n, int) or isinstance(n, bool) or len(weights) != n or len(biases) != n:
        raise ValueError(f"n_layers is {n!r} but the file has {len(weights)} weight and {len(biases)} bias arrays")
    return doc, weights, biases


def _arrays(items: list, name: str) -> list[np.ndarray]:
    out = []
    for l, a in enumerate(items):
        if isinstance(a, np.ndarray) and not np.issubdtype(a.dtype, np.number):
            raise ValueError(f"{name}{l} must hold numbers, got dtype {a.dtype}")
        try:
            out.append(np.array(a, dtype=float))
        except (TypeError, ValueError):
            raise ValueError(f"{name}{l} is not an array of numbers (ragged or non-numeric)") from None
    return out


def load(path: str | os.PathLike) -> MLP | Network:
    """The model saved at `path`, exactly as it was saved."""
    path = Path(path)
    try:
        meta, weights, biases = (_read_json if path.suffix == ".json" else _read_npz)(path)
        if meta.get("format") != FORMAT:
            raise ValueError(f"not an autobp model file (format {meta.get('format')!r}, expected {FORMAT!r})")
        kind = meta.get("kind")
        if kind not in _KINDS:
            raise ValueError(f"unknown model kind {kind!r}; expected 'mlp' or 'network'")
        names = ("activation", "output_activation", "loss") if kind == "network" else \
            ("activation", "output_activation")
        missing = [k for k in names if k not in meta]
        if missing:
            raise ValueError(f"missing entry {missing[0]!r}")
        options = {k: meta[k] for k in names}
        if not all(isinstance(v, str) for v in options.values()):
            raise ValueError(f"activation and loss names must be strings, got {options!r}")
        return _KINDS[kind].from_numpy(_arrays(weights, "w"), _arrays(biases, "b"), **options)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
