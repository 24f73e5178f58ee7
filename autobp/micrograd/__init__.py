"""micrograd's API on autobp's engine: swap `micrograd` for `autobp.micrograd` in the imports.

    from autobp.micrograd.engine import Value             # micrograd.engine.Value, with the lectures' additions
    from autobp.micrograd.nn import Module, Neuron, Layer, MLP
    from autobp.micrograd import trace, draw_dot          # the lecture's graph helpers

`autobp.micrograd.engine` says which graph is built, why, and where autobp
stays right where micrograd is wrong.
"""

from autobp.micrograd.draw import draw_dot, trace
from autobp.micrograd.engine import Value
from autobp.micrograd.nn import MLP, Layer, Module, Neuron

__all__ = ["Value", "Module", "Neuron", "Layer", "MLP", "trace", "draw_dot"]
