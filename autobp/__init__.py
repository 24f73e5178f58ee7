"""autobp: a scalar autograd engine that shows its work.

>>> from autobp import Value
>>> a, b = Value(5.0, "a"), Value(6.0, "b")
>>> f = a * b
>>> f.backward()
>>> a.grad, b.grad          # ∂(ab)/∂a = b, ∂(ab)/∂b = a
(6.0, 5.0)
"""

from autobp.engine import Value, define_op, grad, no_grad
from autobp.forward import hessian, hvp, jacobian, jvp, vjp
from autobp.tape import Tape, TraceError, trace

__all__ = ["Value", "grad", "no_grad", "define_op", "trace", "Tape", "TraceError", "jvp", "vjp", "hvp", "hessian",
           "jacobian", "__version__"]
__version__ = "0.1.0"
