"""Save and load a trained `MLP` or matrix `Network` as `.npz` or JSON, exactly, never with pickle.

A file holds the kind of model ("mlp" or "network"), its activations (and a
Network's loss), the number of layers, and one weight matrix w<l> of shape
(n_out, n_in) and one bias vector b<l> per layer.  `save` writes JSON, whose
floats round-trip exactly, when the name ends in `.json` (any case), else an
`.npz` archive with `np.savez`.  `load` goes by the contents, not the name: a
zip archive is read member by member with `numpy.lib.format`, each header
checked before its data so an object array is refused before anything could
unpickle it; text starting with `{` is JSON, checked number by number (null,
true or "1.5" is an error, never a cast).  Anything wrong in a file raises
one ValueError naming the file and the problem.

>>> import tempfile, pathlib
>>> from autobp.nn import MLP
>>> mlp = MLP(2, [3, 1], seed=0)
>>> path = pathlib.Path(tempfile.mkdtemp()) / "mlp.npz"
>>> save(mlp, path)
>>> [p.data for p in load(path).parameters()] == [p.data for p in mlp.parameters()]
True
"""

from __future__ import annotations

import codecs
import io
import json
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

from autobp.network import Network
from autobp.nn import MLP

__all__ = ["save", "load"]

FORMAT = "autobp-model-1"
_KINDS: dict[str, type[MLP] | type[Network]] = {"mlp": MLP, "network": Network}


def _meta(model: MLP | Network) -> dict[str, str]:
    if isinstance(model, MLP):
        return {"kind": "mlp", "activation": model.activation, "output_activation": model.output_activation}
    if isinstance(model, Network):
        return {"kind": "network", "activation": model.activation,
                "output_activation": model.output_activation, "loss": model.loss}
    raise TypeError(f"save: expected an MLP or a Network, got {type(model).__name__}")


def save(model: MLP | Network, path: str | os.PathLike) -> None:
    """Write `model` to `path`: JSON when the name ends in `.json`, else `.npz` (the name is kept as given)."""
    meta: dict[str, str | int] = {"format": FORMAT, **_meta(model)}     # refuses anything but a model first
    weights, biases = model.to_numpy()
    meta["n_layers"] = len(weights)
    path = Path(path)
    if path.suffix.lower() == ".json":
        doc = {**meta, "weights": [w.tolist() for w in weights], "biases": [b.tolist() for b in biases]}
        path.write_text(json.dumps(doc))
        return
    arrays = {f"w{l}": w for l, w in enumerate(weights)} | {f"b{l}": b for l, b in enumerate(biases)}
    with open(path, "wb") as f:              # a file object, so numpy does not append ".npz"
        np.savez(f, allow_pickle=False, **({k: np.array(v) for k, v in meta.items()} | arrays))


_ZIP_STARTS = (b"PK\x03\x04", b"PK\x05\x06")    # a zip's first member, or an empty zip's end record
_NPY_HEADERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


def _read(path: Path) -> tuple[dict, list[np.ndarray], list[np.ndarray]]:
    """(metadata, weights, biases) from the file's bytes: its contents decide the format, not its name."""
    data = path.read_bytes()                  # a missing file is an OSError, not a bad file
    if not data:
        raise ValueError("the file is empty")
    if data.startswith(_ZIP_STARTS):
        return _read_npz(data)
    if path.suffix.lower() == ".json" or data.removeprefix(codecs.BOM_UTF8).lstrip()[:1] in (b"{", b"["):
        return _read_json(data)
    raise ValueError(f"neither an .npz archive nor a JSON model: it starts with {data[:12]!r} "
                     "(autobp.io.save writes a zip archive, or JSON for a name ending in .json)")


def _read_npy(raw: bytes, key: str) -> np.ndarray:
    """One .npy member, its header checked first: an object array is refused before anything could unpickle it."""
    f = io.BytesIO(raw)
    try:
        version = np.lib.format.read_magic(f)
        if version not in _NPY_HEADERS:
            raise ValueError(f"format version {version}, which np.savez does not write")
        dtype = _NPY_HEADERS[version](f)[2]
        if not dtype.hasobject:
            f.seek(0)
            return np.lib.format.read_array(f, allow_pickle=False)
    except ValueError as e:
        raise ValueError(f"not a readable .npz file (truncated or corrupt?): array {key!r}: {e}") from None
    raise ValueError(f"{key} holds Python objects (dtype object); a model file holds numbers and names only, "
                     "and autobp never unpickles")


def _read_npz(data: bytes) -> tuple[dict, list[np.ndarray], list[np.ndarray]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = {name: archive.read(name) for name in archive.namelist()}
    except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError) as e:
        raise ValueError(f"not a readable .npz file (truncated or corrupt?): {e}") from None
    for name in members:
        if not name.endswith(".npy"):
            raise ValueError(f"member {name!r} is not a NumPy array (.npy), so this zip is not an .npz file")
    contents = {name[:-4]: _read_npy(raw, name[:-4]) for name, raw in members.items()}
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
    return meta, _real_arrays(contents, "w", n), _real_arrays(contents, "b", n)


def _real_arrays(contents: dict[str, np.ndarray], name: str, n: int) -> list[np.ndarray]:
    """Arrays name0 … name{n-1} as float64; integers are exact, anything but real numbers is refused."""
    out = []
    for l in range(n):
        a = contents[f"{name}{l}"]
        if not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
            raise ValueError(f"{name}{l} must hold real numbers, got dtype {a.dtype}")
        out.append(a.astype(float))
    return out


def _read_json(data: bytes) -> tuple[dict, list[np.ndarray], list[np.ndarray]]:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as e:
        raise ValueError(f"not valid JSON: not UTF-8 text ({e})") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"not valid JSON (truncated or corrupt?): {e}") from None
    except RecursionError:
        raise ValueError("not a model: its JSON is nested too deeply to read") from None
    if not isinstance(doc, dict):
        raise ValueError(f"expected a JSON object, got {_json_kind(doc)}")
    for key in ("weights", "biases", "n_layers"):
        if key not in doc:
            raise ValueError(f"missing entry {key!r}")
    weights, biases, n = doc.pop("weights"), doc.pop("biases"), doc["n_layers"]
    if not isinstance(weights, list) or not isinstance(biases, list):
        raise ValueError("'weights' and 'biases' must be lists of arrays")
    if not isinstance(n, int) or isinstance(n, bool) or len(weights) != n or len(biases) != n:
        raise ValueError(f"n_layers is {n!r} but the file has {len(weights)} weight and {len(biases)} bias arrays")
    return (doc, [_json_matrix(w, f"weights[{l}]") for l, w in enumerate(weights)],
            [np.array(_json_numbers(b, f"biases[{l}]")) for l, b in enumerate(biases)])


def _json_kind(x: object) -> str:
    """What a parsed JSON value is, in JSON's words."""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, str):
        return f"the string {x!r}"
    return {type(None): "null", list: "a list", dict: "an object"}.get(type(x), type(x).__name__)


def _json_numbers(items: object, where: str) -> list[float]:
    """A JSON list of numbers as floats; null, true/false, strings and lists are refused, never cast."""
    if not isinstance(items, list):
        raise ValueError(f"{where} must be a list of numbers, got {_json_kind(items)}")
    out = []
    for k, x in enumerate(items):
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            raise ValueError(f"{where}[{k}] is {_json_kind(x)}, not a number")
        try:
            out.append(float(x))
        except OverflowError:
            raise ValueError(f"{where}[{k}] is too large for a float") from None
    return out


def _json_matrix(rows: object, where: str) -> np.ndarray:
    """A JSON list of rows (each a list of numbers, all the same length) as a 2-d float array."""
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise ValueError(f"{where} must be a list of rows (lists of numbers)")
    values = [_json_numbers(r, f"{where}[{j}]") for j, r in enumerate(rows)]
    for j, row in enumerate(values):
        if len(row) != len(values[0]):
            raise ValueError(f"{where} is ragged: row 0 has length {len(values[0])}, row {j} has length {len(row)}")
    return np.array(values, dtype=float).reshape(len(values), len(values[0]) if values else 0)


def load(path: str | os.PathLike) -> MLP | Network:
    """The model saved at `path`, exactly as it was saved."""
    path = Path(path)
    try:
        meta, weights, biases = _read(path)
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
        return _KINDS[kind].from_numpy(weights, biases, **options)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
