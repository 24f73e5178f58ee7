"""autobp.io: exact round trips of MLPs and Networks, and a clear ValueError for every kind of bad file."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from autobp.io import load, save
from autobp.network import Network
from autobp.nn import MLP


def _same_arrays(a, b):
    return all(np.array_equal(x, y) and x.dtype == y.dtype for x, y in zip(a[0] + a[1], b[0] + b[1]))


@pytest.mark.parametrize("name", ["model.npz", "model.json", "model.weights"])
@pytest.mark.parametrize("act, out_act", [("tanh", None), ("relu", "sigmoid"), ("sigmoid", "tanh")])
def test_mlp_roundtrip_is_bit_exact(tmp_path, name, act, out_act):
    mlp = MLP(3, [4, 4, 2], activation=act, output_activation=out_act, seed=1)
    for p in mlp.parameters():
        p.data += 1e-17 * p.data + 1 / 3        # digits a short decimal print would lose
    path = tmp_path / name
    save(mlp, path)
    assert path.exists()                         # the name is kept as given
    back = load(path)
    assert isinstance(back, MLP)
    assert [p.data for p in back.parameters()] == [p.data for p in mlp.parameters()]
    assert (back.activation, back.output_activation) == (mlp.activation, mlp.output_activation)
    assert [o.data for o in back([0.1, 0.2, 0.3])] == [o.data for o in mlp([0.1, 0.2, 0.3])]


@pytest.mark.parametrize("name", ["net.npz", "net.json"])
def test_network_roundtrip_is_bit_exact(tmp_path, name):
    net = Network([5, 3, 4], seed=2, activation="tanh", output_activation="linear", loss="cross_entropy")
    save(net, tmp_path / name)
    back = load(tmp_path / name)
    assert isinstance(back, Network) and _same_arrays(back.to_numpy(), net.to_numpy())
    assert (back.activation, back.output_activation, back.loss) == ("tanh", "linear", "cross_entropy")


def _rewrite_npz(tmp_path, change):
    """A good saved MLP whose arrays are edited by `change(dict)` and written back with np.savez."""
    path = tmp_path / "bad.npz"
    save(MLP(2, [3, 1], seed=0), path)
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    change(arrays)
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def _bad_npz_cases():
    def drop(key):
        return lambda a: a.pop(key)

    def put(key, value):
        return lambda a: a.__setitem__(key, value)

    return [
        (drop("b1"), "missing array 'b1'"),
        (put("w1", np.zeros((1, 4))), r"weights\[1\] takes 4 inputs but layer 0 has 3 outputs"),
        (put("b0", np.zeros(2)), r"biases\[0\] must have shape \(3,\)"),
        (put("n_layers", np.array(3)), "missing array 'w2'"),
        (put("w2", np.zeros((1, 1))), "unexpected arrays .*'w2'.*wrong layer count"),
        (put("w0", np.full((3, 2), np.nan)), "non-finite"),
        (put("activation", np.array("swish")), "unknown activation 'swish'"),
        (put("kind", np.array("cnn")), "unknown model kind 'cnn'"),
        (put("format", np.array("other")), "not an autobp model file"),
        (drop("activation"), "missing entry 'activation'"),
        (put("w0", np.array([["1.5", "2"]] * 3)), "w0 must hold real numbers, got dtype <U3"),
        (put("w0", np.array([[1, None]] * 3, dtype=object)), "w0 holds Python objects .dtype object."),
        (put("w0", np.full((3, 2), 1 + 2j)), "w0 must hold real numbers, got dtype complex128"),
        (put("w0", np.ones((3, 2), dtype=bool)), "w0 must hold real numbers, got dtype bool"),
        (put("b0", np.ones(3, dtype=np.complex64)), "b0 must hold real numbers, got dtype complex64"),
    ]


@pytest.mark.parametrize("change, problem", _bad_npz_cases(), ids=lambda c: c if isinstance(c, str) else "")
def test_bad_npz_raises_valueerror_naming_file_and_problem(tmp_path, change, problem):
    path = _rewrite_npz(tmp_path, change)
    with pytest.raises(ValueError, match=re.escape(str(path)) + ": .*" + problem):
        load(path)


def test_truncated_npz_raises_valueerror(tmp_path):
    path = tmp_path / "cut.npz"
    save(MLP(4, [8, 8, 1], seed=0), path)
    data = path.read_bytes()
    for size in (10, len(data) // 2, len(data) - 5):     # size 0: "the file is empty", tested below
        path.write_bytes(data[:size])
        with pytest.raises(ValueError, match=re.escape(str(path)) + ": not a readable .npz file"):
            load(path)


def _json_model(w0: str = "[[1.0]]", b0: str = "[0.0]") -> str:
    """A one-layer 1-1 MLP as JSON text, with the given text for its weight matrix and bias vector."""
    return ('{"format": "autobp-model-1", "kind": "mlp", "activation": "tanh", "output_activation": "linear", '
            f'"n_layers": 1, "weights": [{w0}], "biases": [{b0}]}}')


@pytest.mark.parametrize("text, problem", [
    ('{"format": "autobp-model-1", "kind": "mlp"', "not valid JSON"),
    ("[1, 2]", "expected a JSON object"),
    ('{"n_layers": 1, "weights": [[[1.0]]]}', "missing entry 'biases'"),
    ('{"format": "autobp-model-1", "kind": "mlp", "activation": "tanh", "output_activation": "linear", '
     '"n_layers": 2, "weights": [[[1.0]]], "biases": [[0.0]]}', "n_layers is 2 but the file has 1 weight"),
    ('{"format": "autobp-model-1", "kind": "mlp", "activation": "tanh", "output_activation": "linear", '
     '"n_layers": 1, "weights": [[[1.0, 2.0], [3.0]]], "biases": [[0.0, 0.0]]}',
     r"weights\[0\] is ragged: row 0 has length 2, row 1 has length 1"),
    ('{"format": "autobp-model-1", "kind": "mlp", "activation": "tanh", "output_activation": "linear", '
     '"n_layers": 1, "weights": [[[NaN]]], "biases": [[0.0]]}', "non-finite"),
    (_json_model(w0="[[null]]"), r"weights\[0\]\[0\]\[0\] is null, not a number"),
    (_json_model(w0="[[true]]"), r"weights\[0\]\[0\]\[0\] is true, not a number"),
    (_json_model(w0='[["1.5"]]'), r"weights\[0\]\[0\]\[0\] is the string '1.5', not a number"),
    (_json_model(b0="[null]"), r"biases\[0\]\[0\] is null, not a number"),
    (_json_model(w0="[1.0]"), r"weights\[0\] must be a list of rows \(lists of numbers\)"),
    (_json_model(w0="[[[1.0]]]"), r"weights\[0\]\[0\]\[0\] is a list, not a number"),
    (_json_model(b0="[[0.0]]"), r"biases\[0\]\[0\] is a list, not a number"),
    (_json_model(w0="[[1.0], [2.0, 3.0]]"), r"weights\[0\] is ragged: row 0 has length 1, row 1 has length 2"),
    (_json_model(w0="[[1" + "0" * 400 + "]]"), r"weights\[0\]\[0\]\[0\] is too large for a float"),
    (_json_model(w0="[" * 100_000 + "]" * 100_000), "nested too deeply"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("null", "expected a JSON object, got null"),
])
def test_bad_json_raises_valueerror_naming_file_and_problem(tmp_path, text, problem):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=re.escape(str(path)) + ": .*" + problem):
        load(path)


def test_json_model_helper_is_a_good_file(tmp_path):
    """The cases above differ from a loadable model only in what they say they break."""
    (tmp_path / "ok.json").write_text(_json_model())
    assert [p.data for p in load(tmp_path / "ok.json").parameters()] == [1.0, 0.0]


@pytest.mark.parametrize("name", ["model.JSON", "model.Json", "model.npz", "model"])
def test_a_json_model_loads_whatever_its_name(tmp_path, name):
    """The contents decide the format: a JSON model renamed (or saved as .JSON) still loads."""
    mlp = MLP(2, [3, 1], seed=0)
    save(mlp, tmp_path / "m.json")
    (tmp_path / "m.json").rename(tmp_path / name)
    assert [p.data for p in load(tmp_path / name).parameters()] == [p.data for p in mlp.parameters()]


def test_save_as_upper_case_json_writes_json(tmp_path):
    save(MLP(1, [1], seed=0), tmp_path / "m.JSON")
    assert json.loads((tmp_path / "m.JSON").read_text())["kind"] == "mlp"


@pytest.mark.parametrize("name", ["model.npz", "model.json", "model.JSON", "model.bin"])
@pytest.mark.parametrize("content", [bytes(range(256)) * 4, b"\x93NUMPY\x01\x00", b"weights: 1 2 3\nbiases: 0\n",
                                     "a text file, ünïcode".encode("utf-16"), b""],
                         ids=["random bytes", "npy", "text", "utf-16 text", "empty"])
def test_a_file_that_is_no_model_gets_one_valueerror_without_pickle_advice(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ValueError) as info:
        load(path)
    message = str(info.value)
    problem = ("the file is empty" if not content else
               "not valid JSON" if name.lower().endswith(".json") else "neither an .npz archive nor a JSON model")
    assert message.startswith(f"{path}: ") and problem in message, message
    assert "pickle" not in message.lower()


def test_a_zip_that_is_not_an_npz_is_refused(tmp_path):
    import zipfile

    path = tmp_path / "m.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(ValueError, match=re.escape(str(path)) + ": member 'readme.txt' is not a NumPy array"):
        load(path)


def test_load_never_unpickles(tmp_path, monkeypatch):
    """Every way of reading goes around pickle: a file that would need it fails before pickle is called."""
    import pickle

    def refuse(*args, **kwargs):
        raise AssertionError("pickle was called")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    path = _rewrite_npz(tmp_path, lambda a: a.__setitem__("w0", np.array([[1, None]] * 3, dtype=object)))
    with pytest.raises(ValueError, match="Python objects"):
        load(path)
    (tmp_path / "p.npz").write_bytes(pickle.dumps({"w0": [1.0]}))
    with pytest.raises(ValueError, match="neither an .npz archive nor a JSON model"):
        load(tmp_path / "p.npz")


def test_json_file_is_readable_text(tmp_path):
    save(MLP(1, [1], seed=0), tmp_path / "m.json")
    doc = json.loads((tmp_path / "m.json").read_text())
    assert doc["kind"] == "mlp" and doc["n_layers"] == 1 and np.shape(doc["weights"][0]) == (1, 1)


def test_save_rejects_other_objects_and_missing_file_is_oserror(tmp_path):
    with pytest.raises(TypeError, match="expected an MLP or a Network, got dict"):
        save({}, tmp_path / "x.npz")
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nope.npz")
