"""micrograd's code and notebooks as a user runs them, written in autobp's words, on any micrograd-like API.

Each flow takes `mg`, a namespace with `Value`, `Module`, `Neuron`, `Layer`
and `MLP` (micrograd 0.1.0's, or `autobp.micrograd`), runs what the source
does step by step, and returns what it prints as rows `(what, value)`:
numbers, strings, lists of numbers.  A test runs a flow on both APIs and
compares the rows.  The sources, read for behaviour only:

- micrograd's test file: two expressions, their value and gradients;
- demo.ipynb: an MLP(2, [16, 16, 1]) on 100 moons, SVM max-margin loss + L2,
  gradient descent with a decaying rate, the decision boundary on a grid;
- trace_graph.ipynb: relu(2x + 1) and a seeded Neuron(2), traced and drawn;
- the first lecture: L = (a·b + c)·f, one nudge, a numerical slope, the
  tanh neuron backpropagated by hand with `_backward()` node by node, a + a;
- the second lecture: tanh rewritten with exp and division, the lecture's own
  tanh MLP (which a user writes on top of `Value`) on 4 samples;
- the LLM101n script: its own xorshift RNG, yin-yang data split 80/10/10,
  its own tanh MLP, cross-entropy from exp/sum/div/log, AdamW keeping its
  moments on the parameters (`p.m`, `p.v`), a validation loss every 10
  steps, and the one-sample graph it draws at the end.
"""

from __future__ import annotations

import random
from typing import Any, Callable

Rows = list[tuple[str, Any]]


# ---------------------------------------------------------------------------
# micrograd's test file
# ---------------------------------------------------------------------------

def flow_test_file(mg) -> Rows:
    """The two expressions micrograd's tests check against PyTorch: value and gradients."""
    x = mg.Value(-4.0)
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    rows: Rows = [("sanity y", y.data), ("sanity dy/dx", x.grad)]

    a, b = mg.Value(-4.0), mg.Value(2.0)
    c = a + b
    d = a * b + b ** 3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e ** 2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    return rows + [("more_ops g", g.data), ("more_ops dg/da", a.grad), ("more_ops dg/db", b.grad)]


# ---------------------------------------------------------------------------
# demo.ipynb
# ---------------------------------------------------------------------------

def flow_demo(mg, X, y, steps: int = 100, boundary: bool = False) -> Rows:
    """The demo notebook: model, parameter count, first loss, `steps` steps of training, the decision boundary.

    Call it after seeding `random` with 1337 (the notebook seeds before making
    the data); `X` (n × 2) and `y` (±1) are the moons.
    """
    model = mg.MLP(2, [16, 16, 1])
    rows: Rows = [("model", str(model)), ("number of parameters", len(model.parameters()))]

    def loss():
        inputs = [list(map(mg.Value, xrow)) for xrow in X]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]       # SVM max-margin
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = 1e-4 * sum(p * p for p in model.parameters())                    # L2
        hits = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(y, scores)]
        return data_loss + reg_loss, sum(hits) / len(hits)

    total, acc = loss()
    rows += [("first loss, printed", str(total)), ("first accuracy", acc)]
    for k in range(steps):
        total, acc = loss()
        model.zero_grad()
        total.backward()
        rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= rate * p.grad
        rows += [(f"step {k} loss", total.data), (f"step {k} accuracy %", acc * 100)]
    if boundary:
        rows.append(("decision boundary", _boundary(mg, model, X)))
    return rows


def _boundary(mg, model, X) -> list[bool]:
    """score > 0 on the notebook's grid: step 0.25 over the data's range widened by 1."""
    import numpy as np
    xs = np.arange(X[:, 0].min() - 1, X[:, 0].max() + 1, 0.25)
    ys = np.arange(X[:, 1].min() - 1, X[:, 1].max() + 1, 0.25)
    grid = [(gx, gy) for gy in ys for gx in xs]
    return [model(list(map(mg.Value, point))).data > 0 for point in grid]


# ---------------------------------------------------------------------------
# trace_graph.ipynb
# ---------------------------------------------------------------------------

def _nodes_seen(trace: Callable, root) -> Rows:
    """What a diagram of `root` shows: how many boxes, op nodes and arrows, and each box's numbers."""
    nodes, edges = trace(root)
    shown = sorted((n.data, n.grad, n._op) for n in nodes)
    return [("boxes", len(nodes)), ("op nodes", sum(1 for n in nodes if n._op)), ("arrows", len(edges)),
            ("box numbers", shown)]


def flow_trace_notebook(mg, trace: Callable) -> Rows:
    """relu(x·2 + 1) and a seeded Neuron(2) on (1, -2), each backpropagated and traced for drawing."""
    x = mg.Value(1.0)
    y = (x * 2 + 1).relu()
    y.backward()
    rows = [("y", y.data), ("dy/dx", x.grad)] + _nodes_seen(trace, y)

    random.seed(1337)
    n = mg.Neuron(2)
    inputs = [mg.Value(1.0), mg.Value(-2.0)]
    out = n(inputs)
    out.backward()
    rows += [("neuron", str(n)), ("neuron out", out.data),
             ("neuron grads", [p.grad for p in n.parameters()]), ("input grads", [v.grad for v in inputs])]
    return rows + _nodes_seen(trace, out)


# ---------------------------------------------------------------------------
# The first lecture
# ---------------------------------------------------------------------------

def _build_topo(root) -> list:
    """The lecture's topological sort, as a learner types it: depth first through `_prev`."""
    topo, visited = [], set()

    def visit(v):
        if v not in visited:
            visited.add(v)
            for child in v._prev:
                visit(child)
            topo.append(v)
    visit(root)
    return topo


def _lecture_neuron(mg):
    """The lecture's 2-input tanh neuron: o = tanh(x1·w1 + x2·w2 + b), every node labelled."""
    x1, x2 = mg.Value(2.0, label="x1"), mg.Value(0.0, label="x2")
    w1, w2 = mg.Value(-3.0, label="w1"), mg.Value(1.0, label="w2")
    b = mg.Value(6.8813735870195432, label="b")
    x1w1 = x1 * w1; x1w1.label = "x1*w1"
    x2w2 = x2 * w2; x2w2.label = "x2*w2"
    x1w1x2w2 = x1w1 + x2w2; x1w1x2w2.label = "x1*w1 + x2*w2"
    n = x1w1x2w2 + b; n.label = "n"
    return dict(x1=x1, x2=x2, w1=w1, w2=w2, b=b, x1w1=x1w1, x2w2=x2w2, x1w1x2w2=x1w1x2w2, n=n)


def flow_lecture_first_half(mg) -> Rows:
    """The first lecture, step by step: forward, backward, one nudge, a numerical slope, a neuron by hand."""
    a, b, c = mg.Value(2.0, label="a"), mg.Value(-3.0, label="b"), mg.Value(10.0, label="c")
    e = a * b; e.label = "e"
    d = e + c; d.label = "d"
    f = mg.Value(-2.0, label="f")
    L = d * f; L.label = "L"
    rows: Rows = [("L", L.data)]
    L.backward()
    rows.append(("dL/d a b c d e f", [v.grad for v in (a, b, c, d, e, f)]))
    for leaf in (a, b, c, f):                    # one step along the gradient
        leaf.data += 0.01 * leaf.grad
    rows.append(("L after one nudge", (((a * b) + c) * f).data))

    def L_of(db: float) -> float:
        a, b, c, f = mg.Value(2.0), mg.Value(-3.0 + db), mg.Value(10.0), mg.Value(-2.0)
        return ((a * b + c) * f).data
    h = 0.001
    rows.append(("numerical dL/db", (L_of(h) - L_of(0.0)) / h))

    # the neuron, backpropagated by hand: seed o.grad = 1, then each node's _backward in reverse topological order
    g = _lecture_neuron(mg)
    o = g["n"].tanh(); o.label = "o"
    rows.append(("o", o.data))
    rows.append(("topo data", sorted(v.data for v in _build_topo(o))))
    o.grad = 1.0
    for name in ("o", "n", "b", "x1w1x2w2", "x2w2", "x1w1"):
        (o if name == "o" else g[name])._backward()
    by_hand = [g[k].grad for k in ("n", "x1w1x2w2", "b", "x1w1", "x2w2", "x1", "w1", "x2", "w2")]
    rows += [("grads by hand", by_hand), ("1 - o**2", 1 - o.data ** 2)]

    g = _lecture_neuron(mg)                       # the same neuron, with backward()
    o = g["n"].tanh()
    o.backward()
    rows.append(("grads by backward", [g[k].grad for k in ("n", "x1w1x2w2", "b", "x1w1", "x2w2", "x1", "w1",
                                                         "x2", "w2")]))

    a = mg.Value(3.0, label="a")                  # a node used twice: its gradients add up
    twice = a + a
    twice.backward()
    rows.append(("d(a + a)/da", a.grad))
    a = mg.Value(3.0, label="a")                  # ... also when the step is taken by hand
    twice = a + a
    twice.grad = 1.0
    twice._backward()
    rows.append(("d(a + a)/da by hand", a.grad))

    a, b = mg.Value(-2.0, label="a"), mg.Value(3.0, label="b")
    d = a * b
    e = a + b
    f = d * e
    f.backward()
    return rows + [("f = ab(a + b)", f.data), ("df/da, df/db", [a.grad, b.grad])]


# ---------------------------------------------------------------------------
# The second lecture
# ---------------------------------------------------------------------------

def flow_lecture_second_half(mg, trace: Callable, steps: int = 20) -> Rows:
    """tanh as one op, then as exp and division; the lecture's own tanh MLP trained on 4 samples."""
    g = _lecture_neuron(mg)
    o = g["n"].tanh()
    o.backward()
    leaves = ("x1", "w1", "x2", "w2", "b")
    rows: Rows = [("tanh: o", o.data), ("tanh: grads", [g[k].grad for k in leaves])]

    g = _lecture_neuron(mg)
    e = (2 * g["n"]).exp()
    o = (e - 1) / (e + 1)
    o.backward()
    nodes, edges = trace(o)
    rows += [("exp/div: o", o.data), ("exp/div: grads", [g[k].grad for k in leaves]),
             ("exp/div: nodes", len(nodes)), ("exp/div: edges", len(edges)),
             ("exp/div: ops", sorted(n._op for n in nodes if n._op))]

    return rows + _lecture_mlp(mg, steps)


def _lecture_mlp(mg, steps: int) -> Rows:
    """The MLP the lecture writes itself: tanh neurons whose bias is drawn too, squared-error loss, lr 0.1."""
    Value = mg.Value

    class Neuron:
        def __init__(self, nin):
            self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
            self.b = Value(random.uniform(-1, 1))

        def __call__(self, x):
            return sum((wi * xi for wi, xi in zip(self.w, x)), self.b).tanh()

        def parameters(self):
            return self.w + [self.b]

    class Layer:
        def __init__(self, nin, nout):
            self.neurons = [Neuron(nin) for _ in range(nout)]

        def __call__(self, x):
            outs = [n(x) for n in self.neurons]
            return outs[0] if len(outs) == 1 else outs

        def parameters(self):
            return [p for n in self.neurons for p in n.parameters()]

    class MLP:
        def __init__(self, nin, nouts):
            sizes = [nin] + nouts
            self.layers = [Layer(sizes[i], sizes[i + 1]) for i in range(len(nouts))]

        def __call__(self, x):
            for layer in self.layers:
                x = layer(x)
            return x

        def parameters(self):
            return [p for layer in self.layers for p in layer.parameters()]

    random.seed(42)
    net = MLP(3, [4, 4, 1])
    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    ys = [1.0, -1.0, -1.0, 1.0]
    rows: Rows = [("n(x)", net(xs[0]).data)]
    for k in range(steps):
        ypred = [net(x) for x in xs]
        loss = sum((yout - ygt) ** 2 for ygt, yout in zip(ys, ypred))
        for p in net.parameters():
            p.grad = 0.0
        loss.backward()
        for p in net.parameters():
            p.data += -0.1 * p.grad
        rows.append((f"{k} loss", loss.data))
    return rows + [("ypred", [v.data for v in ypred])]


# ---------------------------------------------------------------------------
# The LLM101n micrograd script
# ---------------------------------------------------------------------------

class XorShiftRNG:
    """A 64-bit xorshift* generator (Marsaglia; Vigna's multiplier) with 24-bit floats, as LLM101n seeds it."""

    MASK = (1 << 64) - 1

    def __init__(self, seed: int) -> None:
        self.state = seed

    def u32(self) -> int:
        s = self.state
        s ^= s >> 12
        s ^= (s << 25) & self.MASK
        s ^= s >> 27
        self.state = s
        return ((s * 0x2545F4914F6CDD1D) >> 32) & 0xFFFFFFFF

    def random(self) -> float:
        return (self.u32() >> 8) / 16777216.0

    def uniform(self, a: float = 0.0, b: float = 1.0) -> float:
        return a + (b - a) * self.random()


def yin_yang(rng: XorShiftRNG, n: int, r_small: float = 0.1, r_big: float = 0.5) -> tuple[list, list, list]:
    """n points of the yin-yang data set (3 classes, in turn), scaled to [-2, 2]², split 80/10/10."""
    def dist(x, y, cx, cy):
        return ((x - cx) ** 2 + (y - cy) ** 2) ** 0.5

    def label(x, y):
        d_right, d_left = dist(x, y, 1.5 * r_big, r_big), dist(x, y, 0.5 * r_big, r_big)
        if d_right < r_small or d_left < r_small:
            return 2                                                  # the two dots
        yin = (d_right <= r_small or r_small < d_left <= 0.5 * r_big
               or (y > r_big and d_right > 0.5 * r_big))
        return 0 if yin else 1

    points = []
    for i in range(n):
        while True:                                                   # rejection sampling in the disc
            x, y = rng.uniform(0, 2 * r_big), rng.uniform(0, 2 * r_big)
            if dist(x, y, r_big, r_big) > r_big:
                continue
            c = label(x, y)
            if c == i % 3:
                points.append([[(x / r_big - 1) * 2, (y / r_big - 1) * 2], c])
                break
    return points[:int(0.8 * n)], points[int(0.8 * n):int(0.9 * n)], points[int(0.9 * n):]


def flow_llm101n(mg, steps: int = 100) -> Rows:
    """The LLM101n script: its own MLP(2, [8, 3]), cross-entropy, AdamW, val loss every 10 steps, the final graph."""
    Value = mg.Value
    rng = XorShiftRNG(42)
    train, val, _test = yin_yang(rng, n=100)

    class Neuron:
        def __init__(self, nin, nonlin=True):
            self.w = [Value(rng.uniform(-1, 1) * nin ** -0.5) for _ in range(nin)]
            self.b = Value(0)
            self.nonlin = nonlin
            for p in [self.b] + self.w:
                p._vis_color = "lightgreen"

        def __call__(self, x):
            act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
            return act.tanh() if self.nonlin else act

        def parameters(self):
            return self.w + [self.b]

    class MLP:
        def __init__(self, nin, nouts):
            sizes = [nin] + nouts
            self.layers = [[Neuron(sizes[i], nonlin=i != len(nouts) - 1) for _ in range(sizes[i + 1])]
                           for i in range(len(nouts))]

        def __call__(self, x):
            for layer in self.layers:
                x = [n(x) for n in layer]
            return x

        def parameters(self):
            return [p for layer in self.layers for n in layer for p in n.parameters()]

    def cross_entropy(logits, target):
        ex = [v.exp() for v in logits]
        denom = sum(ex)
        probs = [v / denom for v in ex]
        return -probs[target].log()

    class AdamW:
        def __init__(self, params, lr=1e-1, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.0):
            self.params, self.lr, self.eps, self.weight_decay = params, lr, eps, weight_decay
            self.beta1, self.beta2 = betas
            self.t = 0
            for p in params:
                p.m, p.v = 0, 0                                       # moments kept on the parameters

        def step(self):
            self.t += 1
            for p in self.params:
                if p.grad is None:
                    continue
                p.m = self.beta1 * p.m + (1 - self.beta1) * p.grad
                p.v = self.beta2 * p.v + (1 - self.beta2) * p.grad ** 2
                m_hat = p.m / (1 - self.beta1 ** self.t)
                v_hat = p.v / (1 - self.beta2 ** self.t)
                p.data -= self.lr * (m_hat / (v_hat ** 0.5 + 1e-8) + self.weight_decay * p.data)

        def zero_grad(self):
            for p in self.params:
                p.grad = 0

    def mean_loss(model, split):
        total = Value(0.0)
        for x, label in split:
            total = total + cross_entropy(model(x), label)
        return total * (1.0 / len(split))

    model = MLP(2, [8, 3])
    optimizer = AdamW(model.parameters(), lr=1e-1, weight_decay=1e-4)
    rows: Rows = [("splits", [len(train), len(val), len(_test)]), ("first point", train[0])]
    for step in range(steps):
        if step % 10 == 0:
            rows.append((f"step {step + 1} val loss", round(mean_loss(model, val).data, 6)))
        loss = mean_loss(model, train)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        rows.append((f"step {step + 1} train loss", loss.data))

    origin = (Value(0.0), Value(0.0))                                 # the one-sample graph the script draws
    loss = mean_loss(model, [(origin, 0)])
    loss.backward()
    for v in origin:
        v._vis_color = "lightblue"
    nodes, edges = _script_trace(loss)
    return rows + [("graph nodes", len(nodes)), ("graph edges", len(edges)),
                   ("origin grads", [v.grad for v in origin])]


def _script_trace(root) -> tuple[list, list]:
    """The script's own trace helper: nodes and (child, parent) edges in lists, each edge once, via `_prev`."""
    nodes, edges = [], []
    stack = [root]
    while stack:
        v = stack.pop()
        if v in nodes:
            continue
        nodes.append(v)
        for child in v._prev:
            if (child, v) not in edges:
                edges.append((child, v))
            stack.append(child)
    return nodes, edges
