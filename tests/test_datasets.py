"""autobp.datasets: generated sets against their definitions, the digits, and IDX files the tests write."""

import gzip
import math
import re
import struct

import numpy as np
import pytest

from autobp import datasets
from autobp.extras import install_hint


def test_xor_corners_and_labels_follow_the_truth_table():
    X, y = datasets.xor(8)
    for (x1, x2), label in zip(X, y):
        assert label == (int(x1) ^ int(x2))
    assert y.dtype == np.int64 and X.dtype == np.float64


def test_xor_noise_is_seeded_and_centred_on_the_corners():
    X1, y1 = datasets.xor(400, noise=0.1, seed=3)
    X2, _ = datasets.xor(400, noise=0.1, seed=3)
    np.testing.assert_array_equal(X1, X2)
    corners, _ = datasets.xor()
    offsets = X1 - corners[np.arange(400) % 4]
    assert abs(offsets.mean()) < 0.02 and 0.08 < offsets.std() < 0.12


def test_moons_match_scikit_learn_without_noise():
    sk = pytest.importorskip("sklearn.datasets")
    for n in (10, 11, 100):
        X_sk, y_sk = sk.make_moons(n, shuffle=False, noise=0.0)
        X, y = datasets.moons(n, noise=0.0)
        np.testing.assert_allclose(X, X_sk, atol=1e-15)
        np.testing.assert_array_equal(y, y_sk)


def test_moons_points_lie_on_their_half_circles():
    X, y = datasets.moons(51, noise=0.0)
    top, bottom = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(top[:, 0], top[:, 1]), 1.0)
    np.testing.assert_allclose(np.hypot(bottom[:, 0] - 1.0, bottom[:, 1] - 0.5), 1.0)
    assert (top[:, 1] >= -1e-12).all() and (bottom[:, 1] <= 0.5 + 1e-12).all()


def test_generators_are_seeded():
    for make in (datasets.moons, datasets.blobs, datasets.spirals):
        a, b, c = make(seed=1), make(seed=1), make(seed=2)
        np.testing.assert_array_equal(a[0], b[0])
        assert not np.array_equal(a[0], c[0])


def test_blobs_cluster_around_given_centres():
    centres = np.array([[0.0, 0.0], [10.0, -5.0]])
    X, y = datasets.blobs(2000, centers=centres, std=0.5, seed=0)
    for k, c in enumerate(centres):
        np.testing.assert_allclose(X[y == k].mean(axis=0), c, atol=0.05)
        np.testing.assert_allclose(X[y == k].std(axis=0), 0.5, atol=0.05)


def test_spirals_radius_grows_along_each_arm():
    X, y = datasets.spirals(90, n_classes=3, noise=0.0)
    for c in range(3):
        r = np.hypot(*X[y == c].T)
        np.testing.assert_allclose(r, np.linspace(0, 1, 30), atol=1e-12)
        angle = np.arctan2(X[y == c, 0], X[y == c, 1])
        expected = 4 * r + 2 * math.pi * c / 3
        np.testing.assert_allclose(np.cos(angle[1:]), np.cos(expected[1:]), atol=1e-12)


def test_split_partitions_the_samples():
    X = np.arange(20.0).reshape(10, 2)
    y = np.arange(10)
    X_tr, y_tr, X_ho, y_ho = datasets.split(X, y, 0.3, seed=0)
    assert len(y_ho) == 3 and len(y_tr) == 7
    assert sorted(np.concatenate([y_tr, y_ho]).tolist()) == list(range(10))
    np.testing.assert_array_equal(X_tr[:, 0], 2 * y_tr)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.5])
def test_split_rejects_a_bad_fraction(fraction):
    with pytest.raises(ValueError, match="fraction"):
        datasets.split(np.zeros((4, 1)), np.zeros(4), fraction)


def test_one_hot_rejects_out_of_range_labels():
    with pytest.raises(ValueError, match="one_hot"):
        datasets.one_hot(np.array([0, 3]), 3)


def test_load_digits_shapes_and_scaling():
    pytest.importorskip("sklearn")
    X, y = datasets.load_digits()
    assert X.shape == (1797, 64) and y.shape == (1797,)
    assert X.min() == 0.0 and X.max() == 1.0
    assert sorted(set(y.tolist())) == list(range(10))


def test_load_digits_without_scikit_learn_says_what_to_install(hide_package):
    hide_package("sklearn")
    with pytest.raises(ImportError, match=re.escape(install_hint("data")) + "$"):
        datasets.load_digits()


# --- IDX files, written here byte by byte with struct ------------------------

def _idx_bytes(code: int, fmt: str, shape: tuple, values: list) -> bytes:
    header = bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)
    return header + struct.pack(f">{len(values)}{fmt}", *values)


@pytest.mark.parametrize("code, fmt, values", [
    (0x08, "B", [0, 7, 255, 128, 1, 2]),
    (0x09, "b", [-128, -1, 0, 1, 2, 127]),
    (0x0B, "h", [-30000, 2, 3, 4, 5, 30000]),
    (0x0C, "i", [-2**31, 1, 2, 3, 4, 2**31 - 1]),
    (0x0D, "f", [0.5, -1.25, 3.0, 2.0**100, -0.0, 2.0]),
    (0x0E, "d", [math.pi, -math.e, 1e-300, 1e300, 0.0, 1.0]),
])
def test_load_idx_reads_every_data_type(tmp_path, code, fmt, values):
    path = tmp_path / "x.idx"
    path.write_bytes(_idx_bytes(code, fmt, (2, 3), values))
    arr = datasets.load_idx(path)
    assert arr.shape == (2, 3)
    assert arr.ravel().tolist() == values


def test_load_idx_reads_gzipped_files(tmp_path):
    path = tmp_path / "x.idx.gz"
    path.write_bytes(gzip.compress(_idx_bytes(0x08, "B", (4,), [1, 2, 3, 4])))
    assert datasets.load_idx(path).tolist() == [1, 2, 3, 4]


@pytest.mark.parametrize("raw, message", [
    (b"", "not an IDX file"),
    (b"\x01\x00\x08\x01", "not an IDX file"),
    (b"\x00\x00\x07\x01\x00\x00\x00\x01\x05", "unknown IDX data type code 0x07"),
    (b"\x00\x00\x08\x02\x00\x00\x00\x02", "declares 2 dimensions"),
    (_idx_bytes(0x08, "B", (2, 3), [1, 2, 3, 4, 5, 6])[:-1], "truncated"),
    (_idx_bytes(0x08, "B", (2, 3), [1, 2, 3, 4, 5, 6]) + b"\x00", "trailing data"),
    (_idx_bytes(0x0C, "i", (3,), [1, 2, 3])[:-2], r"shape \(3,\) of int32"),
    (gzip.compress(_idx_bytes(0x08, "B", (4,), [1, 2, 3, 4]))[:-6], "not a valid gzip file"),
])
def test_load_idx_rejects_malformed_files_naming_them(tmp_path, raw, message):
    path = tmp_path / "broken-idx1-ubyte"
    path.write_bytes(raw)
    with pytest.raises(ValueError, match=message) as info:
        datasets.load_idx(path)
    assert str(path) in str(info.value)


def _write_mnist(directory, prefix, images, labels, gz=False):
    n, rows, cols = images.shape
    files = {f"{prefix}-images-idx3-ubyte": _idx_bytes(0x08, "B", (n, rows, cols), images.ravel().tolist()),
             f"{prefix}-labels-idx1-ubyte": _idx_bytes(0x08, "B", (len(labels),), labels.tolist())}
    for name, raw in files.items():
        if gz:
            (directory / (name + ".gz")).write_bytes(gzip.compress(raw))
        else:
            (directory / name).write_bytes(raw)


@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist_flattens_and_scales(tmp_path, gz):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 28, 28))
    labels = np.array([3, 1, 4, 1, 5])
    _write_mnist(tmp_path, "t10k", images, labels, gz)
    X, y = datasets.load_mnist(tmp_path, "test")
    assert X.shape == (5, 784)
    np.testing.assert_array_equal(X * 255.0, images.reshape(5, 784))
    assert y.tolist() == [3, 1, 4, 1, 5]


def test_load_mnist_rejects_mismatched_counts(tmp_path):
    _write_mnist(tmp_path, "train", np.zeros((3, 2, 2), int), np.array([1, 2]))
    with pytest.raises(ValueError, match="3 images but .* 2 labels"):
        datasets.load_mnist(tmp_path)


def test_load_mnist_names_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        datasets.load_mnist(tmp_path)
