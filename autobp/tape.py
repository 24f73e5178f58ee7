"""Written with scalars, run as matrices: `trace` records a Value graph once, `Tape` replays it on a batch.

    >>> from autobp.nn import MLP
    >>> mlp = MLP(2, [3, 1], seed=0)
    >>> tape = trace(lambda x: mlp(x), [0.0, 0.0])        # placeholders shaped like the example
    >>> out = tape([[1.0, 2.0], [0.5, -1.0]])             # a leading batch axis
    >>> out.shape, abs(float(out[0]) - mlp([1.0, 2.0]).data) < 1e-12
    ((2,), True)

`trace(fn, *examples)` calls fn once on placeholder Values shaped like the
examples (a number, or a list of numbers) and keeps the graph fn built as a
flat tape (`batching.Recording`): the inputs, the leaves fn captured
(parameters, read afresh at every call so an optimizer step between calls is
seen), the constants, and the ops in topological order.  The first replay
(or `schedule()`) groups the tape into array steps (`autobp.batching`) and
keeps that plan, as `jax.jit` compiles at the first call: tracing records,
the first use compiles.

- `tape(*batch)` evaluates every sample: each argument gets a leading batch
  axis, as an array of any Array API library (NumPy by default; PyTorch and
  Dask tested, CuPy and JAX untested); outputs come back in that library.
- `tape.backward(*batch, reduce="mean")` adds ∂(mean or sum of the outputs)/∂p
  into each captured leaf's `.grad`, so `opt.zero_grad(); tape.backward(X, Y);
  opt.step()` trains with `SGD`; `tape.grad(*batch)` gives per-sample
  gradients with respect to the inputs; `tape.value_and_grad` works on a
  parameter array without touching the Values.
- `tape.schedule()` prints the plan: for an MLP layer, z^l = W^l a^(l−1) + b^l.

What a trace cannot do.  Like `jax.jit`, it records the ops that ran, not the
Python that chose them: `if x.data > 0:` is decided once, at the example.
Testing a traced input's truth, comparing it, or reading its `.data` raises
`TraceError` naming your line.  A value computed from an input is guarded the
same way only where the engine gives results their operands' Value subclass;
`autobp.losses.cross_entropy_loss` bakes in the shift max(z) of the example
(harmless in exact arithmetic, the shift cancels).  A batch must have the
examples' shapes and finite numbers, or a clear error names the argument.
"""

from __future__ import annotations

import inspect
import math
import numbers
import operator
import reprlib
import threading
import types
from typing import Any, Callable, Sequence, cast

import array_api_compat
import numpy as np

from autobp import batching
from autobp.adjoints import Adjoints
from autobp.placeholders import TraceError, placeholder
from autobp.engine import Value, is_grad_enabled
from autobp.replay import Arrays, backward, forward, settle, to_numpy
from autobp.schedule import describe, size

__all__ = ["trace", "record", "Tape", "TraceError"]


def _arg_names(fn: Callable, n: int) -> list[str]:
    """The names of fn's first n positional parameters (arg0, arg1, … where it has none to give)."""
    if type(fn) is types.FunctionType and not hasattr(fn, "__wrapped__"):
        code = fn.__code__                       # a def or lambda: its code lists them (inspect is ~100 µs)
        params = list(code.co_varnames[:code.co_argcount])
    else:
        try:
            params = [p.name for p in inspect.signature(fn).parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        except (TypeError, ValueError):
            params = []
    return [params[i] if i < len(params) else f"arg{i}" for i in range(n)]


def _example(x: object, name: str) -> tuple[Value | list[Value], int | None]:
    """Placeholders for one example argument: one for a number, a list for a list of numbers."""
    def number(v: object, where: str) -> float:
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise TypeError(f"trace: example {where} must be a number or a list of numbers, "
                            f"got {type(v).__name__}: {v!r}")
        try:
            f = float(v)
        except OverflowError:
            f = math.inf
        if not math.isfinite(f):
            raise ValueError(f"trace: example {where} must be a finite number, got {reprlib.repr(v)}")
        return f

    if isinstance(x, (str, bytes, Value)) or not hasattr(x, "__len__"):
        return placeholder(number(x, name), name), None
    xs = list(cast(Sequence[object], x))
    if not all(type(v) is float for v in xs) or not all(map(math.isfinite, cast(list[float], xs))):
        xs = [number(v, f"{name}[{k}]") for k, v in enumerate(xs)]      # (finite floats need no check)
    if not xs:
        raise ValueError(f"trace: example {name} is an empty list")
    return [placeholder(v, f"{name}[{k}]") for k, v in enumerate(cast(list[float], xs))], len(xs)


def trace(fn: Callable[..., Value | Sequence[Value]], *example_args: float | Sequence[float]) -> Tape:
    """Run fn once on placeholders shaped like the examples and record its graph as a Tape (see module doc)."""
    if not callable(fn):
        raise TypeError(f"trace: fn must be callable, got {type(fn).__name__}")
    if not is_grad_enabled():
        raise RuntimeError("trace: called inside no_grad(), where operations record no graph")
    if not example_args:
        raise TypeError("trace: give at least one example argument (it fixes the inputs' shapes)")
    names = _arg_names(fn, len(example_args))
    args, widths = zip(*(_example(x, name) for x, name in zip(example_args, names)))
    out = fn(*args)
    if not (isinstance(out, Value) or (isinstance(out, (list, tuple)) and out
                                       and all(isinstance(v, Value) for v in out))):
        raise TypeError(f"trace: fn must return a Value or a non-empty list of Values, got {out!r:.80}")
    return record(out, list(args), names, list(widths))


def record(out: Value | Sequence[Value], args: list[Any], names: list[str], widths: list[int | None]) -> Tape:
    """The Tape of a graph already built: `out` (a Value or a list), its inputs `args` (one Value for an
    argument of width None, a list of Values otherwise), every other leaf a parameter."""
    single = isinstance(out, Value)
    outputs: list[Value] = [out] if isinstance(out, Value) else list(out)
    inputs: dict[Value, tuple[int, int]] = {}
    for i, a in enumerate(args):
        for k, p in enumerate([a] if widths[i] is None else a):
            inputs[p] = (i, k)
    return Tape(batching.walk(outputs, inputs), list(inputs.values()), names, widths, single)


_DATA_OF = operator.attrgetter("data")
_NUMPY = array_api_compat.array_namespace(np.zeros(0))     # the namespace of plain NumPy arrays, looked up once


class Tape:
    """A recorded graph, replayed on a batch (made by `trace`)."""

    def __init__(self, recording: batching.Recording, input_slots: list[tuple[int, int]], names: list[str],
                 widths: list[int | None], single: bool) -> None:
        self._recording: batching.Recording | None = recording
        self._input_slots = input_slots
        self._plan: batching.Plan | None = None
        self._planning = threading.Lock()
        self.parameters = recording.params
        self.names, self.widths, self.single = names, widths, single
        self._adjoints: dict[str, Adjoints] = {}
        self._arrays: dict[Any, Arrays] = {}

    @property
    def plan(self) -> batching.Plan:
        """The recording grouped into array steps (`autobp.batching`), at the first replay or schedule(), as
        jax.jit compiles at the first call: a trace records, its first use compiles."""
        if self._plan is None:
            with self._planning:                 # one thread groups, another one waits for its plan
                if self._plan is None:
                    self._plan = batching.build(cast(batching.Recording, self._recording), self._input_slots,
                                                self.names, [w or 1 for w in self.widths])
                    self._recording = None       # the plan holds all it needs
        return self._plan

    def __repr__(self) -> str:
        _, steps, n = size(self.plan)
        return (f"<Tape: {len(self.names)} inputs, {len(self.parameters)} parameters, "
                f"{n} operations in {steps} steps>")

    # -- batches --------------------------------------------------------------
    def _shape(self, i: int) -> str:
        return "(batch,)" if self.widths[i] is None else f"(batch, {self.widths[i]})"

    def _prepare(self, batch_args: tuple) -> tuple[Arrays, list, int]:
        """The arguments as float64 arrays (batch × width) of one library, checked; and the batch size."""
        names = ", ".join(f"{n} {self._shape(i)}" for i, n in enumerate(self.names))
        if len(batch_args) != len(self.names):
            raise TypeError(f"tape takes {len(self.names)} batched argument(s) ({names}), got {len(batch_args)}")
        arrays = []
        for i, a in enumerate(batch_args):
            if not array_api_compat.is_array_api_obj(a):
                try:
                    a = np.asarray(a, dtype=np.float64)
                except (TypeError, ValueError) as e:
                    raise TypeError(f"tape: argument {self.names[i]!r} must be an array {self._shape(i)} of "
                                    f"numbers: {e}") from None
            arrays.append(a)
        try:
            xp = _NUMPY if all(type(a) is np.ndarray for a in arrays) else array_api_compat.array_namespace(*arrays)
        except TypeError as e:
            raise TypeError(f"tape: the arguments mix array libraries ({e})") from None
        arr = self._arrays.get(xp) or self._arrays.setdefault(xp, Arrays(self.plan, xp, arrays[0]))
        inputs, batch = [], 0
        for i, a in enumerate(arrays):
            name, shape = self.names[i], tuple(a.shape)
            want = 1 if self.widths[i] is None else 2
            if len(shape) != want or (want == 2 and shape[1] != self.widths[i]):
                raise ValueError(f"tape: argument {name!r} must have shape {self._shape(i)} like its example, "
                                 f"got {shape}")
            if shape[0] == 0:
                raise ValueError(f"tape: the batch is empty (argument {name!r} has 0 samples)")
            if i and shape[0] != batch:
                raise ValueError(f"tape: argument {name!r} has {shape[0]} samples, the first argument {batch}")
            batch = shape[0]
            if not (xp.isdtype(a.dtype, "real floating") or xp.isdtype(a.dtype, "integral")):
                raise TypeError(f"tape: argument {name!r} must hold real numbers, got dtype {a.dtype}")
            a = xp.astype(a, xp.float64, copy=False)
            if not bool(xp.all(xp.isfinite(a))):
                where = tuple(int(k) for k in np.argwhere(~np.isfinite(to_numpy(a)))[0])
                raise ValueError(f"tape: argument {name!r} has a non-finite number at sample {where[0]}"
                                 f"{f', position {where[1]}' if len(where) > 1 else ''}: "
                                 f"{float(to_numpy(a)[where])!r}")
            inputs.append(xp.reshape(a, (batch, 1)) if want == 1 else a)
        return arr, inputs, batch

    def read_parameters(self) -> np.ndarray:
        """The captured leaves' current values, in `tape.parameters` order."""
        return np.array(list(map(_DATA_OF, self.parameters)), dtype=np.float64)

    def write_parameters(self, theta: Sequence[float]) -> None:
        """Set each captured leaf's value from `theta` (the inverse of `read_parameters`)."""
        for p, v in zip(self.parameters, np.asarray(theta, dtype=float).tolist(), strict=True):
            p.data = v

    def _run(self, batch_args: tuple, theta: Sequence[float] | np.ndarray | None) -> tuple:
        """The forward pass: (arrays, batch size, buffer values, gathered operands, finiteness flags)."""
        arr, inputs, batch = self._prepare(batch_args)
        values = self.read_parameters() if theta is None else np.asarray(theta, dtype=np.float64).reshape(-1)
        if len(values) != len(self.parameters):
            raise ValueError(f"tape: params has {len(values)} numbers for the tape's {len(self.parameters)} "
                             f"parameters (tape.parameters)")
        theta = arr.xp.asarray(values, device=arr.device)
        vals, saved, flags = forward(self.plan, arr, inputs, theta, batch)
        return arr, batch, vals, saved, flags, (inputs, theta)

    def _explain(self, run: tuple, sweeps: Sequence[tuple] = ()) -> None:
        """Raise the error behind a non-finite number: the forward pass step by step, then the sweeps."""
        arr, batch, vals, saved, _, (inputs, theta) = run
        forward(self.plan, arr, inputs, theta, batch, check_each=True)
        for adjoints, seed, targets in sweeps:
            backward(self.plan, adjoints, arr, vals, saved, seed, batch, targets, check_each=True)
        raise OverflowError("tape: a gradient is not a finite number (a local derivative overflowed)")

    def _outputs(self, arr: Arrays, vals: list, batch: int) -> Any:
        xp = arr.xp
        cols = []
        for u, c in self.plan.outputs:
            v = vals[u]
            cols.append(v[:, c] if self.plan.buffers[u].batched else xp.broadcast_to(v[c], (batch,)))
        return cols[0] if self.single else xp.stack(cols, axis=1)

    def values(self, *batch_args: Any) -> tuple[Any, list, list]:
        """(outputs, every step's values, every step's gathered operands): the forward pass, for tools."""
        run = self._run(batch_args, None)
        arr, batch, vals, saved, flags, _ = run
        (out,), ok = settle(arr, [self._outputs(arr, vals, batch)], flags)
        if not ok:
            self._explain(run)
        return out, vals[len(vals) - len(self.plan.steps):], saved

    def __call__(self, *batch_args: Any) -> Any:
        """The outputs for every sample: shape (batch,) for one output Value, (batch, m) for a list of m."""
        return self.values(*batch_args)[0]

    # -- gradients --------------------------------------------------------------
    def _single(self, what: str) -> None:
        if not self.single:
            n = len(self.plan.outputs)
            raise ValueError(f"tape.{what} needs fn to return a single Value per sample (a loss), not a list; "
                             f"it returns a list of {n} Value{'s' if n != 1 else ''}")

    def _sweep(self, wrt: str, run: tuple, seed_value: float, targets: list[int]) -> tuple[Any, list]:
        """(outputs, the adjoints of the `targets` buffers), both checked finite."""
        arr, batch, vals, saved, flags, _ = run
        adjoints = self._adjoints.get(wrt) or self._adjoints.setdefault(wrt, Adjoints(self.plan, wrt))
        seed = arr.xp.full((batch, 1), seed_value, dtype=arr.xp.float64, device=arr.device)
        grads = backward(self.plan, adjoints, arr, vals, saved, seed, batch, targets)
        present = [g for g in grads if g is not None]
        flags = flags + [arr.xp.all(arr.xp.isfinite(g)) for g in present]
        (out, *present), ok = settle(arr, [self._outputs(arr, vals, batch), *present], flags)
        if not ok:
            self._explain(run, [(adjoints, seed, targets)])
        it = iter(present)
        return out, [None if g is None else next(it) for g in grads]

    def value_and_grad(self, *batch_args: Any, reduce: str = "mean",
                       params: Sequence[float] | np.ndarray | None = None) -> tuple[Any, np.ndarray]:
        """(outputs, ∂(reduced output)/∂parameters as a NumPy array), at `params` (default: the leaves' values).

        Touches no `.grad`: the fast path of a training loop that keeps its parameters in an array.
        """
        self._single("value_and_grad")
        if reduce not in ("mean", "sum"):
            raise ValueError(f"tape: reduce must be 'mean' or 'sum', got {reduce!r}")
        run = self._run(batch_args, params)
        batch = run[1]
        out, (g,) = self._sweep("parameters", run, 1.0 / batch if reduce == "mean" else 1.0,
                                [self.plan.params_buffer])
        return out, np.zeros(len(self.parameters)) if g is None else to_numpy(g).astype(float)

    def backward(self, *batch_args: Any, reduce: str = "mean") -> Any:
        """Add ∂(mean or sum over the batch of the output)/∂p into every captured leaf's `.grad`; return the outputs."""
        self._single("backward")
        out, g = self.value_and_grad(*batch_args, reduce=reduce)
        for p, gp in zip(self.parameters, g.tolist()):
            p.grad += gp
        return out

    def grad(self, *batch_args: Any) -> list[Any]:
        """Per-sample gradients of the output with respect to each input: arrays shaped like the arguments."""
        self._single("grad")
        run = self._run(batch_args, None)
        arr, batch = run[0], run[1]
        _, grads = self._sweep("inputs", run, 1.0, list(range(len(self.names))))
        out = []
        for g, w in zip(grads, self.widths):
            if g is None:
                g = arr.xp.zeros((batch, w or 1), dtype=arr.xp.float64, device=arr.device)
            out.append(g[:, 0] if w is None else g)
        return out

    def schedule(self) -> str:
        """The batched plan, forward and backward, in the matrix form where it finds one."""
        return describe(self.plan, self.parameters)
