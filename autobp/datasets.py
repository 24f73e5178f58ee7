"""Small data sets for the worked examples: generated (seeded), the 8×8 digits, MNIST IDX files.

Every generator returns `(X, y)`: `X` a float64 array of shape (n_samples,
n_features) and `y` an int64 array of class indices 0, 1, …  They take a
`seed` and draw from their own `numpy.random.Generator`, so the same seed
gives the same points on every machine.  Nothing here downloads anything:
the digits come from scikit-learn's installed copy (the `data` extra) and
MNIST from IDX files the user already has.
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from autobp.extras import install_hint

__all__ = ["xor", "moons", "blobs", "spirals", "split", "one_hot",
           "load_digits", "load_idx", "load_mnist"]


def _check_count(name: str, n_samples: int, minimum: int = 1) -> None:
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < minimum:
        raise ValueError(f"{name}: n_samples must be an integer >= {minimum}, got {n_samples!r}")


def xor(n_samples: int = 4, noise: float = 0.0, seed: int | None = 0) -> tuple[np.ndarray, np.ndarray]:
    """XOR: corners (0,0), (0,1), (1,0), (1,1) labelled x1 XOR x2 = 0, 1, 1, 0.

    Sample i sits at corner i mod 4, plus Gaussian noise of standard
    deviation `noise`; the defaults give the four corners themselves.

    >>> X, y = xor()
    >>> X.tolist(), y.tolist()
    ([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0, 1, 1, 0])
    """
    _check_count("xor", n_samples)
    corners = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    idx = np.arange(n_samples) % 4
    X = corners[idx] + noise * np.random.default_rng(seed).standard_normal((n_samples, 2))
    y = (corners[idx, 0] != corners[idx, 1]).astype(np.int64)
    return X, y


def moons(n_samples: int = 100, noise: float = 0.1, seed: int | None = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half circles: class 0 on top, class 1 below, shifted right.

    Class 0: (cos t, sin t) and class 1: (1 − cos t, ½ − sin t) for t evenly
    spaced in [0, π], then Gaussian noise of standard deviation `noise`
    (the same shapes as scikit-learn's `make_moons`).
    """
    _check_count("moons", n_samples, 2)
    n_top = n_samples // 2
    t_top, t_bottom = np.linspace(0.0, math.pi, n_top), np.linspace(0.0, math.pi, n_samples - n_top)
    X = np.concatenate([np.column_stack([np.cos(t_top), np.sin(t_top)]),
                        np.column_stack([1.0 - np.cos(t_bottom), 0.5 - np.sin(t_bottom)])])
    y = np.concatenate([np.zeros(n_top, np.int64), np.ones(n_samples - n_top, np.int64)])
    X += noise * np.random.default_rng(seed).standard_normal(X.shape)
    return X, y


def blobs(n_samples: int = 100, centers: int | np.ndarray = 3, std: float = 1.0,
          seed: int | None = 0) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs: sample i belongs to class i mod k, drawn around that class's centre.

    `centers` is the number k of classes (centres drawn uniformly in the
    box [−10, 10]²) or an array of shape (k, n_features) of centres.
    """
    _check_count("blobs", n_samples)
    rng = np.random.default_rng(seed)
    if isinstance(centers, (int, np.integer)) and not isinstance(centers, bool):
        if centers < 1:
            raise ValueError(f"blobs: centers must be >= 1, got {centers}")
        centers = rng.uniform(-10.0, 10.0, (int(centers), 2))
    centers = np.asarray(centers, dtype=np.float64)
    if centers.ndim != 2 or len(centers) == 0:
        raise ValueError(f"blobs: centers must be a count or an array of shape (k, n_features), got shape {centers.shape}")
    y = np.arange(n_samples, dtype=np.int64) % len(centers)
    return centers[y] + std * rng.standard_normal((n_samples, centers.shape[1])), y


def spirals(n_samples: int = 100, n_classes: int = 2, noise: float = 0.2,
            seed: int | None = 0) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spiral arms, one per class: radius r ∈ [0, 1], angle 4r + 2πc/k + noise."""
    _check_count("spirals", n_samples)
    if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 1:
        raise ValueError(f"spirals: n_classes must be an integer >= 1, got {n_classes!r}")
    rng = np.random.default_rng(seed)
    y = np.arange(n_samples, dtype=np.int64) % n_classes
    r = np.empty(n_samples)
    for c in range(n_classes):               # each arm runs from the centre outwards
        members = y == c
        r[members] = np.linspace(0.0, 1.0, int(members.sum()))
    angle = 4.0 * r + 2.0 * math.pi * y / n_classes + noise * rng.standard_normal(n_samples)
    return np.column_stack([r * np.sin(angle), r * np.cos(angle)]), y


def split(X: np.ndarray, y: np.ndarray, fraction: float, seed: int | None = 0) -> tuple[np.ndarray, ...]:
    """Shuffle, then hold out `fraction` of the samples: (X_train, y_train, X_held, y_held).

    >>> X, y = xor(8)
    >>> [a.shape[0] for a in split(X, y, 0.25)]
    [6, 6, 2, 2]
    """
    if len(X) != len(y):
        raise ValueError(f"split: X has {len(X)} samples but y has {len(y)}")
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"split: fraction must be strictly between 0 and 1, got {fraction!r}")
    n_held = max(1, round(fraction * len(X)))
    if n_held >= len(X):
        raise ValueError(f"split: holding out {fraction!r} of {len(X)} samples leaves none to train on")
    order = np.random.default_rng(seed).permutation(len(X))
    train, held = order[n_held:], order[:n_held]
    return X[train], y[train], X[held], y[held]


def one_hot(y: np.ndarray, n_classes: int | None = None) -> np.ndarray:
    """Class indices as rows of a float identity matrix: 2 → [0, 0, 1, …].

    >>> one_hot(np.array([2, 0]), 3).tolist()
    [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    """
    y = np.asarray(y)
    n_classes = int(y.max()) + 1 if n_classes is None else n_classes
    if y.ndim != 1 or (y.size and (y.min() < 0 or y.max() >= n_classes)):
        raise ValueError(f"one_hot: labels must be a 1-d array of integers in [0, {n_classes}), got {y!r}")
    return np.eye(n_classes)[y]


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1797 8×8 handwritten digits that scikit-learn ships: X (1797, 64) in [0, 1], y in 0…9.

    Pixel intensities 0…16 are divided by 16.  Needs scikit-learn (the
    optional `data` extra); its copy is on disk, nothing is downloaded.
    """
    try:
        from sklearn.datasets import load_digits as _sklearn_digits
    except ImportError as e:
        raise ImportError("load_digits needs scikit-learn, which ships the 8×8 digits: "
                          + install_hint("data")) from e
    digits = _sklearn_digits()
    return digits.data.astype(np.float64) / 16.0, digits.target.astype(np.int64)


# IDX (the MNIST file format): magic 0x00 0x00 <dtype code> <ndim>, then ndim
# big-endian uint32 sizes, then the values, big-endian, row-major.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def load_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (optionally gzipped, as MNIST is distributed) into a NumPy array.

    Raises ValueError naming the file when the header is malformed or the
    data is shorter or longer than the header's sizes promise.
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise ValueError(f"{path}: not a valid gzip file ({e})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file (the magic number must start with two zero bytes, "
                         f"got {raw[:4].hex() or 'an empty file'})")
    code, ndim = raw[2], raw[3]
    if code not in _IDX_DTYPES:
        raise ValueError(f"{path}: unknown IDX data type code 0x{code:02x} "
                         f"(known: {', '.join(f'0x{c:02x}' for c in _IDX_DTYPES)})")
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise ValueError(f"{path}: IDX header declares {ndim} dimensions but the file is {len(raw)} bytes long")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[code])
    expected = math.prod(shape) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(f"{path}: IDX header promises shape {shape} of {dtype.name} "
                         f"({expected} bytes of data) but the file holds {len(raw) - header} bytes "
                         f"({'truncated' if len(raw) - header < expected else 'trailing data'})")
    return np.frombuffer(raw, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def load_mnist(directory: str | Path, kind: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """MNIST from the IDX files in `directory`: X (n, 784) in [0, 1], y in 0…9.

    `kind` is "train" (train-images-idx3-ubyte, train-labels-idx1-ubyte) or
    "test" (t10k-…), each plain or with a .gz suffix.
    """
    prefix = {"train": "train", "test": "t10k"}.get(kind)
    if prefix is None:
        raise ValueError(f"load_mnist: kind must be 'train' or 'test', got {kind!r}")
    directory = Path(directory)

    def find(stem: str) -> Path:
        for name in (stem, stem + ".gz"):
            if (directory / name).is_file():
                return directory / name
        raise FileNotFoundError(f"load_mnist: no {stem} (or {stem}.gz) in {directory}")

    images_path, labels_path = find(f"{prefix}-images-idx3-ubyte"), find(f"{prefix}-labels-idx1-ubyte")
    images, labels = load_idx(images_path), load_idx(labels_path)
    if images.ndim != 3 or labels.ndim != 1:
        raise ValueError(f"load_mnist: expected images of 3 dimensions and labels of 1, got "
                         f"{images.shape} from {images_path} and {labels.shape} from {labels_path}")
    if len(images) != len(labels):
        raise ValueError(f"load_mnist: {images_path} has {len(images)} images but {labels_path} "
                         f"has {len(labels)} labels")
    return images.reshape(len(images), -1).astype(np.float64) / 255.0, labels.astype(np.int64)
