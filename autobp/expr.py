"""A safe expression language for the command line: `ast` trees turned into Value graphs.

    >>> e = parse("tanh(a*b + c)")
    >>> e.names
    ('a', 'b', 'c')
    >>> out, leaves = e.evaluate({"a": 2, "b": -3, "c": 10})
    >>> round(out.data, 6), leaves["a"].label
    (0.999329, 'a')

The grammar is: names, int and float literals, `+ - * / **`, unary `-` and
`+`, and calls of the named ops of the op table (`exp log tanh sigmoid
relu sqrt abs softplus`, the n-ary `sum(a, b, …)`, and ops a user added with
`define_op`), each with its number of arguments.  The source
goes through `ast.parse` and is then *walked*, node by node, building Values
with `engine.apply` — it is never passed to `eval`, `exec` or `compile`.
Anything else (attribute access, subscripts, other calls, lambdas, keywords,
strings…) is refused with a ValueError that shows the expression with a caret
under the offending part.  Every literal becomes a float, so `2**99999` is
the engine's OverflowError naming '**', never a huge integer.
"""

from __future__ import annotations

import ast
import math
from typing import Mapping

from autobp.engine import Value, apply, topo_order
from autobp.ops import OPS

__all__ = ["Expression", "parse", "parse_at", "legend", "functions", "MAX_LENGTH", "MAX_DEPTH"]

MAX_LENGTH = 1000   # characters in one expression
MAX_DEPTH = 100     # nesting of operators and calls
_SHOWN = 70         # characters of the source shown above an error's caret

_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_SYMBOLS = frozenset(_BINARY.values())
_REFUSED_OPERATORS = {ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.LShift: "<<",
                      ast.RShift: ">>", ast.BitOr: "|", ast.BitXor: "^", ast.BitAnd: "&"}
_WHAT = {  # how to name a refused node in an error message
    ast.Subscript: "subscripts", ast.Lambda: "lambdas",
    ast.IfExp: "conditional expressions", ast.Compare: "comparisons", ast.BoolOp: "'and'/'or'",
    ast.ListComp: "comprehensions", ast.SetComp: "comprehensions", ast.DictComp: "comprehensions",
    ast.GeneratorExp: "generator expressions", ast.Tuple: "tuples", ast.List: "lists",
    ast.Dict: "dicts", ast.Set: "sets", ast.NamedExpr: "assignments (':=')",
    ast.JoinedStr: "strings", ast.Starred: "'*' unpacking", ast.Slice: "slices",
}


def functions() -> list[str]:
    """Names callable in an expression: the identifier-named ops of the table."""
    return sorted(name for name in OPS if name.isidentifier())


def _point(source: str, message: str, start: int, end: int | None = None) -> str:
    """`message`, then the source with carets under characters start..end (like SyntaxError)."""
    end = max(start + 1, end if end is not None else start + 1)
    # a long source is shown as a window of _SHOWN characters around the caret
    left = max(0, min(start - 10, len(source) - _SHOWN))
    shown = source[left:left + _SHOWN]
    end = min(end, left + _SHOWN)
    marks = "..." if left else ""
    return (f"{message} (column {start + 1})\n  {marks}{shown}{'...' if left + _SHOWN < len(source) else ''}"
            f"\n  {' ' * (len(marks) + start - left)}{'^' * (end - start)}")


def _columns(source: str, node: ast.AST) -> tuple[int, int]:
    """The node's character columns; ast counts UTF-8 bytes."""
    raw = source.encode()

    def col(offset: int) -> int:
        return len(raw[:offset].decode(errors="replace"))

    start = col(getattr(node, "col_offset", 0))
    end_offset = getattr(node, "end_col_offset", None)
    end = col(end_offset) if end_offset is not None else start + 1
    return start, end


class Expression:
    """A checked expression: its source, its tree and its free names.

    Call it with one number or Value per name (in `names` order) to build a
    fresh graph; `evaluate` does that with labelled leaves from a mapping.
    """

    def __init__(self, source: str, tree: ast.Expression, names: tuple[str, ...]) -> None:
        self.source = source
        self.tree = tree
        self.names = names

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"

    def __call__(self, *values: float | Value) -> Value:
        if len(values) != len(self.names):
            raise TypeError(f"{self.source!r} takes {len(self.names)} value(s) "
                            f"({', '.join(self.names)}), got {len(values)}")
        out = self._build(self.tree.body, dict(zip(self.names, values)))
        return out if isinstance(out, Value) else Value(out)

    def evaluate(self, at: Mapping[str, float], name_steps: bool = False) -> tuple[Value, dict[str, Value]]:
        """The output Value and the leaves (one Value per name, labelled with it).

        Every name of the expression must be in `at`, and every key of `at`
        must be a name of the expression (a typo should not pass silently).
        With `name_steps`, the intermediate nodes are labelled n1, n2, … in
        the order they are computed and the output L, so diagrams and
        `explain` show every step (`legend` writes out what each one is).
        """
        missing = [n for n in self.names if n not in at]
        if missing:
            raise ValueError(f"no value for {', '.join(missing)} in {self.source!r}; "
                             f"give them with --at, e.g. --at {','.join(f'{n}=1.0' for n in missing)}")
        unused = [n for n in at if n not in self.names]
        if unused:
            raise ValueError(f"{', '.join(unused)} given a value but not used in {self.source!r} "
                             f"(its names: {', '.join(self.names) or 'none'})")
        leaves = {n: Value(at[n], n) for n in self.names}
        out = self(*leaves.values())
        if name_steps:
            steps = [v for v in topo_order(out) if v.op and not v.label]
            for k, v in enumerate(steps, 1):
                v.label = "L" if v is out else f"n{k}"
        return out, leaves

    def _build(self, node: ast.AST, env: dict[str, float | Value]) -> float | Value:
        """Walk the (already checked) tree; errors of the engine point at their node."""
        if isinstance(node, ast.Constant):
            value = node.value
            assert isinstance(value, (int, float)), value       # _Checker.children refused any other constant
            return float(value)
        if isinstance(node, ast.Name):
            return env[node.id]
        if isinstance(node, ast.BinOp):
            op = OPS[_BINARY[type(node.op)]]
            values = [self._build(node.left, env), self._build(node.right, env)]
        elif isinstance(node, ast.UnaryOp):
            operand = self._build(node.operand, env)
            if isinstance(node.op, ast.UAdd):
                return operand
            op, values = OPS["neg"], [operand]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):   # checked to name a table op
            op, values = OPS[node.func.id], [self._build(a, env) for a in node.args]
        else:
            raise TypeError(f"unchecked expression node {type(node).__name__}")
        try:
            return apply(op, *values)
        except (ValueError, ZeroDivisionError, OverflowError) as e:
            start, end = _columns(self.source, node)
            raise type(e)(_point(self.source, str(e), start, end)) from None


def legend(output: Value) -> list[str]:
    """One line per computed node of `output`'s graph, from its op and operands: 'n1 = a * b'.

    >>> out, _ = parse("tanh(a*b + 1)").evaluate({"a": 2, "b": -3}, name_steps=True)
    >>> legend(out)
    ['n1 = a * b', 'n2 = n1 + 1', 'L = tanh(n2)']
    """
    def shown(x: float | Value) -> str:
        return x.label or "?" if isinstance(x, Value) else f"{x:g}"

    lines = []
    for v in topo_order(output):
        if not v.op:
            continue
        args = [shown(x) for x in v.operands]
        if v.op in _SYMBOLS and len(args) == 2:
            text = f"{args[0]} {v.op} {args[1]}"
        elif v.op == "neg":
            text = f"-{args[0]}"
        else:
            text = f"{v.op}({', '.join(args)})"
        lines.append(f"{shown(v)} = {text}")
    return lines


_LEVELS = ({ast.Add, ast.Sub}, {ast.Mult, ast.Div}, {ast.Pow})    # operators of one precedence


def _continues_chain(node: ast.AST, parent: ast.AST | None) -> bool:
    """`node` is the operand through which `parent`'s chain of one precedence continues: the left one
    (a + b + c is (a + b) + c), or for ** the right one (2 ** 2 ** a is 2 ** (2 ** a))."""
    if not (isinstance(node, ast.BinOp) and isinstance(parent, ast.BinOp)):
        return False
    same = any(type(node.op) in level and type(parent.op) in level for level in _LEVELS)
    return same and (parent.right is node if isinstance(parent.op, ast.Pow) else parent.left is node)


class _Checker:
    """Collects the free names of a tree, refusing every node outside the grammar."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.names: dict[str, None] = {}   # ordered set, first appearance first

    def refuse(self, node: ast.AST, message: str) -> ValueError:
        start, end = _columns(self.source, node)
        return ValueError(_point(self.source, message, start, end))

    def check(self, node: ast.AST) -> None:
        """Visit the whole tree with an explicit stack (a deep tree cannot overflow Python's), counting depth:
        the calls and operators a node sits in, where a flat chain (a + b − c, a * b / c, 2 ** 2 ** a) is
        one level however many terms it has, as a reader counts it."""
        stack: list[tuple[ast.AST, int, ast.AST | None]] = [(node, 0, None)]
        while stack:
            node, depth, parent = stack.pop()
            if not isinstance(node, (ast.Constant, ast.Name)) and not _continues_chain(node, parent):
                depth += 1
            if depth > MAX_DEPTH:
                raise self.refuse(node, f"expression is nested too deeply (more than {MAX_DEPTH} levels)")
            stack.extend((child, depth, node) for child in reversed(self.children(node)))

    def children(self, node: ast.AST) -> list[ast.AST]:
        """The sub-expressions of an allowed node; any other node raises a ValueError pointing at it."""
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise self.refuse(node, f"only numbers are allowed as constants, got {type(value).__name__} "
                                        f"{value!r}")
            try:
                f = float(value)
            except OverflowError:
                f = math.inf
            if not math.isfinite(f):
                raise self.refuse(node, "number too large for a float")
            return []
        if isinstance(node, ast.Name):
            self.names.setdefault(node.id, None)
            return []
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _BINARY:
                symbol = _REFUSED_OPERATORS.get(type(node.op), type(node.op).__name__)
                raise self._refuse_operator(node, symbol)
            return [node.left, node.right]
        if isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                raise self.refuse(node, f"unary {'not' if isinstance(node.op, ast.Not) else '~'} is not "
                                        "allowed; only - and +")
            return [node.operand]
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Attribute):   # point at '.name', not at what comes before it
            _, value_end = _columns(self.source, node.value)
            _, end = _columns(self.source, node)
            raise ValueError(_point(self.source, f"attribute access ('.{node.attr}') is not allowed",
                                    value_end, end))
        what = _WHAT.get(type(node), f"{type(node).__name__} expressions")
        raise self.refuse(node, f"{what} are not allowed; use names, numbers, + - * / ** and "
                                f"{', '.join(functions())}")

    def call(self, node: ast.Call) -> list[ast.AST]:
        """The arguments of a call of a table function with its op's number of positional arguments."""
        known = functions()
        if not isinstance(node.func, ast.Name) or node.func.id not in known:
            shown = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
            raise self.refuse(node.func, f"cannot call {shown!r}; the functions are {', '.join(known)}")
        if node.keywords:
            raise self.refuse(node.keywords[0].value, f"{node.func.id}() takes no keyword arguments")
        op = OPS[node.func.id]
        if op.arity is None and not node.args:          # a variadic op such as sum(a, b, c)
            raise self.refuse(node, f"{node.func.id}() takes at least 1 argument, got 0")
        if op.arity is not None and len(node.args) != op.arity:
            raise self.refuse(node, f"{node.func.id}() takes {op.arity} argument(s), got {len(node.args)}")
        return list(node.args)

    def _refuse_operator(self, node: ast.BinOp, symbol: str) -> ValueError:
        """Point at the operator itself, between the two operands."""
        _, left_end = _columns(self.source, node.left)
        right_start, _ = _columns(self.source, node.right)
        at = self.source.find(symbol, left_end, right_start)
        at = at if at >= 0 else left_end
        return ValueError(_point(self.source, f"operator {symbol!r} is not allowed; use + - * / **",
                               at, at + len(symbol)))


def parse(source: str) -> Expression:
    """Check `source` against the grammar and return it as an `Expression`.

    Raises ValueError with a caret under the offending part for anything
    outside the grammar, and for sources that are too long or nested too deeply.
    """
    if not isinstance(source, str):
        raise TypeError(f"expression must be a str, got {type(source).__name__}")
    if len(source) > MAX_LENGTH:
        raise ValueError(f"expression is too long ({len(source)} characters, at most {MAX_LENGTH})")
    if "\n" in source or "\r" in source:
        raise ValueError("expression must be one line")
    if not source.strip():
        raise ValueError("expression is empty")
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as e:
        column = (e.offset or 1) - 1
        raise ValueError(_point(source, f"invalid syntax: {e.msg}", column)) from None
    except (RecursionError, MemoryError):
        raise ValueError(f"expression is nested too deeply (more than {MAX_DEPTH} levels)") from None
    checker = _Checker(source)
    checker.check(tree.body)
    return Expression(source, tree, tuple(checker.names))


def parse_at(text: str) -> dict[str, float]:
    """Values for names from 'a=2,b=-3' (the --at option).

    >>> parse_at("a=2, b=-3.5")
    {'a': 2.0, 'b': -3.5}
    """
    values: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, number = (s.strip() for s in item.partition("="))
        if not sep or not name.isidentifier():
            raise ValueError(f"--at: expected name=number such as a=2, got {item!r}")
        if name in values:
            raise ValueError(f"--at: {name!r} is given twice")
        try:
            value = float(number)
        except ValueError:
            raise ValueError(f"--at: {name} needs a number, got {number!r}") from None
        if not math.isfinite(value):
            raise ValueError(f"--at: {name} needs a finite number, got {number!r}")
        values[name] = value
    return values
