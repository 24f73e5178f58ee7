"""The `autobp` command line: a thin argparse front end over the library.

Results go to stdout, diagnostics and progress to stderr.  Exit codes:
0 success, 1 a check failed (`gradcheck`) or training diverged (`train`),
2 a usage error — bad arguments, or an expression or value the library
refuses (one `autobp: error:` line, never a traceback), 141 when the reader
of stdout (`| head`) went away early, silently.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import math
import sys
from pathlib import Path
from typing import Any, Callable, Iterable, NoReturn

from autobp.examples import EXAMPLES
from autobp.script import run_main

DEFAULT_EXPERIMENT = ("tanh(a*b + c)", "a=2,b=-3,c=10", "a")   # gradcheck (and --sweep) without an expression


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors as one line on stderr (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")

    def parse_known_args(self, args: Iterable[str] | None = None, namespace: Any = None
                         ) -> tuple[Any, list[str]]:
        """argparse's, but an unknown argument is this parser's error, so a subcommand's names its own --help."""
        parsed, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras


class _UsageError(Exception):
    """A combination of arguments argparse cannot express; reported like its own errors."""


# ---------------------------------------------------------------------------
# Subcommands
# ---------------------------------------------------------------------------

def _cmd_demo(args: argparse.Namespace) -> int:
    if args.name is None or args.list:
        width = max(map(len, EXAMPLES))
        for name, description in EXAMPLES.items():
            print(f"{name:<{width}}  {description}")
        return 0
    main = importlib.import_module(f"autobp.demos.{args.name}").main
    if args.traced:
        if "traced" not in inspect.signature(main).parameters:
            raise _UsageError(f"demo {args.name} has no traced mode (moons and digits do)")
        main(traced=True)
    else:
        main()
    return 0


def _expression(args: argparse.Namespace, name_steps: bool = False):
    """(output, leaves) of EXPR at the --at values."""
    from autobp.expr import parse, parse_at

    at = {}
    for text in args.at:
        for name, value in parse_at(text).items():
            if name in at:
                raise ValueError(f"--at: {name!r} is given twice")
            at[name] = value
    return parse(args.expr).evaluate(at, name_steps=name_steps)


def _leaf(leaves: dict, name: str, flag: str = "--wrt"):
    """The leaf a --wrt or --highlight NAME refers to; a name outside the expression is a usage error."""
    if name not in leaves:
        raise ValueError(f"{flag} {name}: not a name of the expression (its names: {', '.join(leaves)})")
    return leaves[name]


def _require_names(leaves: dict, expr: str) -> None:
    """Differentiating needs an input: an expression of numbers alone is a usage error."""
    if not leaves:
        raise _UsageError(f"{expr!r} has no names to differentiate by; write the inputs as names and give "
                          "their values, e.g. 'a + b' --at a=2,b=3")


def _cmd_draw(args: argparse.Namespace) -> int:
    from autobp.viz import FORMATS, render

    out, leaves = _expression(args, name_steps=True)
    if not args.no_grad:
        out.backward()
    options = dict(rankdir=args.rankdir, show_grad=not args.no_grad, edge_derivatives=args.edge_derivatives,
                   visit_order=args.visit_order)
    if args.highlight:
        options["highlight"] = _leaf(leaves, args.highlight, "--highlight")
    if args.output is None:
        args.output = f"graph.{args.format or 'svg'}"
    to_stdout = args.output == "-"
    fmt = args.format or ("svg" if to_stdout else Path(args.output).suffix.lstrip(".").lower() or "svg")
    fmt = "dot" if fmt == "gv" else fmt
    if fmt in ("html", "htm"):
        options.pop("show_grad")
        if not args.visit_order:
            options.pop("visit_order")           # the page numbers its boxes itself, as explain --html's does
        _write_explorer(out, args.output, renderer=args.renderer, **options)
        return 0
    if fmt not in FORMATS:
        source = f"--format {args.format}" if args.format else f"-o {args.output}"
        raise ValueError(f"{source}: unknown format {fmt!r}; use .svg, .html, .dot (or .gv), .png or .pdf, "
                         "or name another Graphviz format with --format")
    result = render(out, None if to_stdout else args.output, format=fmt, renderer=args.renderer, **options)
    if to_stdout:
        if isinstance(result, bytes):
            raise ValueError(f"-o -: {fmt} is binary; write it to a file, e.g. -o graph.{fmt}")
        sys.stdout.write(result if result.endswith("\n") else result + "\n")
    else:
        print(f"wrote {args.output} ({fmt})")
    return 0


def _write_explorer(out, path: str, **options) -> None:
    """The interactive page of `out` (autobp.viz.explore) written to `path` ('-': stdout)."""
    from autobp.viz import explore

    page = explore(out, **options)
    if path == "-":
        sys.stdout.write(page.html())
        return
    page.save(path)
    print(f"wrote {path} (interactive explorer: open it in a browser)")


def _cmd_explain(args: argparse.Namespace) -> int:
    from autobp.explain import backward_steps, explain, forward_steps
    from autobp.expr import legend

    if args.html == "-":
        raise _UsageError("--html -: the page would follow the text on stdout; give it a file name, or use "
                          "'autobp draw EXPR --format html -o -' for the page alone")
    out, leaves = _expression(args, name_steps=True)
    _require_names(leaves, args.expr)
    wrt = [_leaf(leaves, args.wrt)] if args.wrt else list(leaves.values())
    print("where " + "; ".join(legend(out)) if out.op else f"{out.label} is an input")
    if args.steps and args.forward:
        print("\n\n".join(str(forward_steps(out, x)) for x in wrt))
    else:
        mode = "forward" if args.forward else "reverse"
        print(backward_steps(out) if args.steps else "\n\n".join(explain(out, x, mode=mode) for x in wrt))
    if args.html:
        _write_explorer(out, args.html)
    return 0


def _cmd_gradcheck(args: argparse.Namespace) -> int:
    from autobp.expr import parse
    from autobp.gradcheck import gradcheck, sweep

    check = {"--order": args.order, "--eps": args.eps, "--atol": args.atol, "--rtol": args.rtol}
    sweep_only = {"--wrt": args.wrt, "--plot": args.plot}
    misplaced = [flag for flag, value in (check if args.sweep else sweep_only).items() if value is not None]
    if misplaced:
        raise _UsageError(f"{misplaced[0]} sets the gradient check, not the --sweep experiment; leave it out"
                          if args.sweep else f"{misplaced[0]} goes with --sweep (the step-size experiment); "
                                             "add --sweep, or leave it out")
    default = args.expr is None
    if default:
        if args.at:
            raise _UsageError("--at gives the values of EXPR's names; give EXPR too")
        args.expr, args.at = DEFAULT_EXPERIMENT[0], [DEFAULT_EXPERIMENT[1]]
        args.wrt = args.wrt or (DEFAULT_EXPERIMENT[2] if args.sweep else None)
    _, leaves = _expression(args)
    _require_names(leaves, args.expr)
    f, inputs = parse(args.expr), list(leaves.values())
    header = (f"f = {args.expr} at {', '.join(f'{n}={v.data:g}' for n, v in leaves.items())}"
              + (" (the default experiment: no EXPR given)" if default else ""))
    if args.sweep:
        if args.directional:
            raise _UsageError("--directional checks the gradient; the --sweep experiment has no directions")
        wrt = inputs.index(_leaf(leaves, args.wrt)) if args.wrt else 0
        result = sweep(f, inputs, wrt=wrt)
        print(header, result, sep="\n")
        if args.plot:
            result.plot(args.plot)
            print(f"wrote {args.plot}")
        return 0
    report = gradcheck(f, inputs, mode="directional" if args.directional else "full",
                       **{flag[2:]: value for flag, value in check.items() if value is not None})
    if default:
        print(header)
    print(report)
    return 0 if report.passed else 1


# name: (what is trained, default epochs, default learning rate)
TRAIN_RECIPES = {
    "xor": ("2-2-1 sigmoid MLP, ½(a − y)² loss, full batch, best of 4 restarts", 2000, 2.0),
    "moons": ("2-16-16-1 relu MLP, hinge loss + L2 1e-4, full batch, 100 points", 100, 0.1),
    "digits": ("64-30-10 sigmoid network in matrix form (BP1–BP4), batches of 10, 20% held out", 30, 3.0),
}


def _progress_bar(total: int, unit: str):
    """A tqdm bar on stderr, silent when stderr is not a terminal."""
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, file=sys.stderr, disable=not sys.stderr.isatty(), leave=False)


def _cmd_train(args: argparse.Namespace) -> int:
    from autobp import datasets

    what, default_epochs, default_lr = TRAIN_RECIPES[args.dataset]
    epochs, lr = args.epochs or default_epochs, args.lr or default_lr
    if args.traced:
        if args.dataset == "digits":
            what = "64-30-10 sigmoid network as a Value MLP (Network's initial weights), batches of 10, 20% held out"
        what += " — traced: the per-sample loss recorded once, replayed on each batch"
    print(f"{args.dataset}: {what}; {epochs} epochs, learning rate {lr:g}, seed {args.seed}")
    if args.dataset == "digits" and args.traced:
        return _train_digits_traced(args, epochs, lr)
    if args.dataset == "digits":
        from autobp.network import Network

        X, y = datasets.load_digits()
        X_train, y_train, X_test, y_test = datasets.split(X, y, 0.2, seed=args.seed)
        net = Network([64, 30, 10], seed=args.seed)
        with _progress_bar(epochs, "epoch") as bar:
            def on_epoch(epoch: int, correct: int, total: int) -> None:
                bar.set_postfix_str(f"test {correct}/{total}")
                bar.update()

            correct = net.sgd((X_train, y_train), epochs, 10, lr, test_data=(X_test, y_test), on_epoch=on_epoch)
        print(f"test accuracy {correct[-1] / len(y_test):.1%} ({correct[-1]} / {len(y_test)} held-out digits), "
              f"best epoch {max(range(epochs), key=correct.__getitem__) + 1}")
        return 0

    from autobp.nn import MLP
    from autobp.train import Progress, fit

    def xor_net(seed: int) -> MLP:
        return MLP(2, [2, 1], activation="sigmoid", output_activation="sigmoid", seed=seed)

    model: MLP | Callable[[int], MLP]
    if args.dataset == "xor":
        X, y = datasets.xor()
        loss, restarts, l2 = "mse", 4, 0.0
        model = xor_net
    else:
        X, y = datasets.moons(100, noise=0.1, seed=args.seed)
        loss, restarts, l2 = "hinge", 1, 1e-4
        model = MLP(2, [16, 16, 1], activation="relu", seed=args.seed)
    with _progress_bar(epochs * restarts, "epoch") as bar:
        def on_progress(p: Progress) -> None:
            bar.set_postfix_str(f"loss {p.loss:.4f} acc {p.accuracy:.0%}")
            bar.update()

        _, history = fit(model, X, y, loss=loss, epochs=epochs, lr=lr, l2=l2, restarts=restarts, seed=args.seed,
                         callback=on_progress, traced=args.traced)
    best = history.best_epoch
    if not best:
        print(f"training diverged: no epoch improved on the initial loss {history.best_loss:.6g} (the last "
              f"epoch's: {history.loss[-1]:.6g}); the learning rate {lr:g} is probably too large: try a smaller --lr")
        return 1
    print(f"train accuracy {history.accuracy[best - 1]:.1%}, "
          f"loss {history.best_loss:.6g} (epoch {best} of {len(history.loss)} kept"
          f"{f', restart {history.restart + 1} of {len(history.restart_scores)}' if restarts > 1 else ''})")
    return 0


def _train_digits_traced(args: argparse.Namespace, epochs: int, lr: float) -> int:
    """digits --traced: the same network as a Value MLP (Network's initial weights), traced, trained by fit."""
    import numpy as np

    from autobp import datasets, trace
    from autobp.network import Network
    from autobp.nn import MLP
    from autobp.train import Progress, fit

    X, y = datasets.load_digits()
    X_train, y_train, X_test, y_test = datasets.split(X, y, 0.2, seed=args.seed)
    start = Network([64, 30, 10], seed=args.seed)
    mlp = MLP.from_numpy(start.weights, start.biases, activation="sigmoid", output_activation="sigmoid")
    with _progress_bar(epochs, "epoch") as bar:
        def on_progress(p: Progress) -> None:
            bar.set_postfix_str(f"loss {p.loss:.4f} acc {p.accuracy:.0%}")
            bar.update()

        fit(mlp, X_train, y_train, loss="mse", epochs=epochs, lr=lr, batch_size=10, seed=args.seed,
            callback=on_progress, traced=True)
    scores = np.asarray(trace(lambda x: mlp(x), [0.0] * 64)(X_test))
    correct = int((scores.argmax(axis=1) == y_test).sum())
    print(f"test accuracy {correct / len(y_test):.1%} ({correct} / {len(y_test)} held-out digits), "
          f"a traced Value MLP")
    return 0


# ---------------------------------------------------------------------------
# The parser
# ---------------------------------------------------------------------------

def _bounded(kind: type, ok, rule: str):
    """An argparse type: a finite number of `kind` for which ok(value) holds."""
    def convert(text: str):
        value = kind(text)
        if not (math.isfinite(value) and ok(value)):
            raise argparse.ArgumentTypeError(f"must be {'an integer' if kind is int else 'a finite number'} "
                                             f"{rule}, got {text}")
        return value

    convert.__name__ = kind.__name__
    return convert


def _positive(kind: type):
    """An argparse type: a finite number of `kind` that is > 0."""
    return _bounded(kind, lambda v: v > 0, "> 0")


def _non_negative(kind: type):
    """An argparse type: a finite number of `kind` that is >= 0."""
    return _bounded(kind, lambda v: v >= 0, ">= 0")


def _add_expression(p: argparse.ArgumentParser, optional: bool = False) -> None:
    from autobp.expr import MAX_DEPTH, MAX_LENGTH, functions   # the op table's names: a new op shows up here

    p.add_argument("expr", metavar="EXPR", nargs="?" if optional else None,
                   help="an expression such as 'tanh(a*b + c)': names, numbers, + - * / **, and the functions "
                        f"{' '.join(functions())} (quote it; one that starts with '-', such as '-a*b', works "
                        f"too), at most {MAX_LENGTH:,} characters and {MAX_DEPTH} levels of nesting")
    p.add_argument("--at", action="append", default=[], metavar="a=2,b=-3",
                   help="values of the names (repeatable)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="autobp", description="A scalar autograd engine that shows its work.")
    parser.add_argument("--version", action="version", version=_version(),
                        help="print the version and whether nodes are compiled (autobp/_node.c) or pure Python")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = sub.add_parser("demo", help="run a worked example (no NAME lists them)",
                          description="Run a worked example; without NAME, list them.")
    demo.add_argument("name", nargs="?", choices=list(EXAMPLES), metavar="NAME", help=", ".join(EXAMPLES))
    demo.add_argument("--list", action="store_true", help="list the demos")
    demo.add_argument("--traced", action="store_true",
                      help="moons, digits: trace the per-sample loss once and replay it on each batch (autobp.trace)")
    demo.set_defaults(run=_cmd_demo)

    draw = sub.add_parser("draw", help="draw an expression's graph (SVG, DOT, PNG, PDF, interactive HTML)",
                          description="Draw the computational graph of EXPR with its values and gradients. "
                                      "The format follows -o's suffix: .svg (works without Graphviz installed), "
                                      ".dot/.gv (DOT text), .png/.pdf (need Graphviz's `dot`), .html (an "
                                      "interactive page: step through the forward pass and the backward sweep).")
    _add_expression(draw)
    draw.add_argument("-o", "--output", metavar="PATH",
                      help="file to write (default graph.svg, or graph.FORMAT with --format; '-' writes SVG or "
                           "DOT text to stdout)")
    draw.add_argument("--format", help="svg, dot, png, pdf, … (default: from -o's suffix)")
    draw.add_argument("--rankdir", choices=["LR", "TB", "RL", "BT"], default="LR", help="layout direction")
    draw.add_argument("--no-grad", action="store_true", help="draw values only, without running backward()")
    draw.add_argument("--edge-derivatives", action="store_true", help="label edges with local derivatives")
    draw.add_argument("--visit-order", action="store_true", help="number nodes in backward()'s visiting order")
    draw.add_argument("--highlight", metavar="NAME", help="colour the paths from this input to the output")
    draw.add_argument("--renderer", choices=["auto", "dot", "wasm"], default="auto",
                      help="system Graphviz `dot`, the embedded WebAssembly Graphviz, or auto (dot if installed)")
    draw.set_defaults(run=_cmd_draw)

    explain = sub.add_parser("explain", help="write out the chain rule for an expression (--forward: from the "
                                             "input side; --steps: narrate a sweep)",
                             description="Write ∂L/∂x of EXPR out by the chain rule: every path, each local "
                                         "derivative, the products and the sum.  Intermediate results are "
                                         "named n1, n2, … and the output L.")
    _add_expression(explain)
    explain.add_argument("--wrt", metavar="NAME", help="the input to differentiate by (default: each in turn)")
    explain.add_argument("--steps", action="store_true", help="narrate the backward sweep step by step instead")
    explain.add_argument("--forward", action="store_true",
                         help="forward mode: products from the input side (with --steps, narrate the tangent sweep)")
    explain.add_argument("--html", metavar="PATH", help="also write the interactive explorer page to PATH")
    explain.set_defaults(run=_cmd_explain)

    check = sub.add_parser("gradcheck", help="check an expression's gradient against finite differences "
                                             "(--directional: along random directions, forward and reverse mode)",
                           description="Compare the engine's gradient of EXPR with central finite differences "
                                       "(exit 1 when it fails), input by input or with --directional along "
                                       "random directions (forward and reverse sweeps), or with --sweep show "
                                       "how the error of forward and central differences depends on the step "
                                       f"eps.  Without EXPR both run the default experiment, f = "
                                       f"{DEFAULT_EXPERIMENT[0]} at {DEFAULT_EXPERIMENT[1]}.")
    _add_expression(check, optional=True)
    check.add_argument("--order", type=int, choices=[1, 2], help="2 also checks second derivatives (default 1)")
    check.add_argument("--directional", action="store_true",
                       help="check jvp and vjp along 3 random directions (O(1) evaluations of EXPR) "
                            "instead of input by input")
    check.add_argument("--eps", type=_positive(float), help="finite-difference step (default 1e-6)")
    check.add_argument("--atol", type=_non_negative(float), help="absolute tolerance (default 1e-5)")
    check.add_argument("--rtol", type=_non_negative(float), help="relative tolerance (default 1e-3)")
    check.add_argument("--sweep", action="store_true",
                       help="the step-size experiment, eps = 1e-1 … 1e-12, instead of the check")
    check.add_argument("--wrt", metavar="NAME", help="--sweep: the input to vary (default: the first)")
    check.add_argument("--plot", metavar="PNG", help="--sweep: also write a log-log plot (needs matplotlib)")
    check.set_defaults(run=_cmd_gradcheck)

    train = sub.add_parser("train", help="train a network on a bundled data set, with a progress bar",
                           description="Train a small network: " + "; ".join(
                               f"{name}: {recipe[0]}" for name, recipe in TRAIN_RECIPES.items())
                           + ".  Progress goes to stderr (a bar on a terminal), the summary to stdout.")
    train.add_argument("dataset", choices=list(TRAIN_RECIPES), metavar="DATASET", help=", ".join(TRAIN_RECIPES))
    train.add_argument("--epochs", type=_positive(int), help="epochs (default: " + ", ".join(
        f"{name} {recipe[1]}" for name, recipe in TRAIN_RECIPES.items()) + ")")
    train.add_argument("--lr", type=_positive(float), help="learning rate (default: " + ", ".join(
        f"{name} {recipe[2]:g}" for name, recipe in TRAIN_RECIPES.items()) + ")")
    train.add_argument("--seed", type=_non_negative(int), default=0,
                       help="seed of initial weights, data and shuffling (default 0)")
    train.add_argument("--traced", action="store_true",
                       help="train a Value MLP whose per-sample loss is traced once and replayed on each batch "
                            "(autobp.trace); digits: the same network as a Value MLP")
    train.set_defaults(run=_cmd_train)
    return parser


def _version() -> str:
    """'autobp 0.1.0 (compiled nodes)': the version, and which engine mode this copy runs."""
    from autobp import __version__
    from autobp.engine import COMPILED_NODES

    return f"autobp {__version__} ({'compiled nodes' if COMPILED_NODES else 'pure Python'})"


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (141, silently, when stdout's reader went away)."""
    return run_main(lambda: _run(_parser().parse_args(_expressions_first(sys.argv[1:] if argv is None else argv))))


def _number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _expressions_first(argv: list[str]) -> list[str]:
    """argparse takes any argument that starts with '-' for an option, so '-a*b' would be refused: one that
    holds an operator or a bracket (no option does) is passed as ' -a*b', which argparse reads as EXPR."""
    out, rest = [], False
    for arg in argv:
        rest = rest or arg == "--"
        expression = arg[:1] == "-" and arg[1:2] != "-" and any(c in "+-*/()" for c in arg[1:]) and not _number(arg)
        out.append(" " + arg if expression and not rest else arg)
    return out


def _run(args: argparse.Namespace) -> int:
    if getattr(args, "expr", None):
        args.expr = args.expr.strip()              # ' -a*b' from _expressions_first
    try:
        return args.run(args)
    except BrokenPipeError:
        raise                       # run_main ends quietly
    except _UsageError as e:
        print(f"autobp {args.command}: error: {e} (see 'autobp {args.command} --help')", file=sys.stderr)
        return 2
    except (ValueError, ArithmeticError, RuntimeError, OSError, ImportError) as e:
        print(f"autobp: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("autobp: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
