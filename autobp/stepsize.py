"""The step-size experiment: how the error of forward and central differences depends on the step h.

    forward:  (f(x+h) − f(x)) / h          error ≈ h·|f''|/2  + ε_mach·|f|/h
    central:  (f(x+h) − f(x−h)) / 2h       error ≈ h²·|f'''|/6 + ε_mach·|f|/h

As h shrinks the truncation error (first term) falls and the round-off error
(second term) rises, so each scheme has a best h: about √ε_mach for forward
and ∛ε_mach for central differences.  `autobp.gradcheck` re-exports `sweep`,
and borrows this module's way of turning inputs into labelled leaves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

from autobp.engine import Value, grad
from autobp.extras import install_hint

__all__ = ["sweep", "SweepResult", "SweepRow", "EPS_GRID"]

EPS_GRID = tuple(10.0 ** -k for k in range(1, 13))


def leaves_for(inputs: Sequence[float | Value]) -> tuple[list[Value], list[str]]:
    """The inputs as Values (a number becomes a leaf labelled x0, x1, …) and their names for tables."""
    leaves = [x if isinstance(x, Value) else Value(x, f"x{i}") for i, x in enumerate(inputs)]
    return leaves, [v.label or f"x{i}" for i, v in enumerate(leaves)]


def output_of(f: Callable[..., Value], leaves: Sequence[Value]) -> Value:
    """f(*leaves), refusing anything but one Value (a check needs a graph to differentiate)."""
    out = f(*leaves)
    if not isinstance(out, Value):
        raise TypeError(f"gradcheck: f must return one Value, got {type(out).__name__}")
    return out


@dataclass(frozen=True)
class SweepRow:
    """Errors of the two difference schemes at one step size."""

    eps: float
    forward: float   # |(f(x+h) − f(x))/h − exact|
    central: float   # |(f(x+h) − f(x−h))/2h − exact|


@dataclass
class SweepResult:
    """The step-size experiment's table, its best step per scheme, and an optional plot."""

    rows: list[SweepRow]
    exact: float
    name: str

    def best(self, scheme: str) -> SweepRow:
        """The row with the smallest error for 'forward' or 'central'."""
        return min(self.rows, key=lambda r: getattr(r, scheme))

    def __str__(self) -> str:
        lines = [f"step-size sweep for ∂f/∂{self.name} = {self.exact:.15g} (exact, from the engine)",
                 f"{'eps':>7}  {'forward error':>13}  {'central error':>13}"]
        lines += [f"{r.eps:7.0e}  {r.forward:13.3e}  {r.central:13.3e}" for r in self.rows]
        for scheme, order in (("forward", "O(h) + O(ε/h)"), ("central", "O(h²) + O(ε/h)")):
            b = self.best(scheme)
            lines.append(f"best {scheme}: eps={b.eps:.0e}, error {getattr(b, scheme):.3e}   [{order}]")
        return "\n".join(lines)

    def plot(self, path: str) -> None:
        """Write a log-log plot of both errors against eps to `path` (needs matplotlib)."""
        try:
            import matplotlib
        except ImportError:
            raise ImportError(f"the sweep plot needs matplotlib: {install_hint('plot')}") from None
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        eps = [r.eps for r in self.rows]
        for scheme in ("forward", "central"):
            errors = [getattr(r, scheme) or math.nan for r in self.rows]   # log axes cannot show 0
            ax.loglog(eps, errors, "o-", label=f"{scheme} difference")
        ax.set_xlabel("step eps")
        ax.set_ylabel(f"|numeric − exact| of ∂f/∂{self.name}")
        ax.set_title("truncation error falls, round-off error rises")
        ax.invert_xaxis()
        ax.legend()
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)


def sweep(f: Callable[..., Value], inputs: Sequence[float | Value], wrt: int = 0,
          eps_values: Sequence[float] = EPS_GRID) -> SweepResult:
    """Error of forward and central differences for ∂f/∂inputs[wrt] at each eps.

    forward: (f(x+h) − f(x))/h, error ≈ h·|f''|/2 + ε_mach·|f|/h, best h ~ √ε_mach;
    central: (f(x+h) − f(x−h))/2h, error ≈ h²·|f'''|/6 + ε_mach·|f|/h, best h ~ ∛ε_mach.
    The exact value is the engine's gradient.  h is the true float step (x+eps) − x.
    """
    leaves, names = leaves_for(inputs)
    leaf = leaves[wrt]
    out = output_of(f, leaves)
    exact = grad(out, [leaf])[0].data
    x, fx = leaf.data, out.data

    def at(v: float, eps: float) -> float:
        leaf.data = v
        try:
            return output_of(f, leaves).data
        except (ValueError, ZeroDivisionError, OverflowError) as e:
            raise type(e)(f"sweep: the step eps={eps:g} moves {names[wrt]} = {x!r} to {v!r}, where f fails "
                          f"(start at least {max(eps_values):g} inside f's domain): {e}") from None
        finally:
            leaf.data = x

    rows = []
    for eps in eps_values:
        up, down = x + eps, x - eps
        fu, fd = at(up, eps), at(down, eps)
        rows.append(SweepRow(eps, abs((fu - fx) / (up - x) - exact), abs((fu - fd) / (up - down) - exact)))
    return SweepResult(rows, exact, names[wrt])
