"""expr: the allowed grammar against math closed forms; hostile input refused with a caret."""

import math

import pytest

from autobp import Value, define_op
from autobp.expr import MAX_DEPTH, MAX_LENGTH, legend, parse, parse_at


AT = {"a": 2.0, "b": -3.0, "c": 10.0}


def _value(source, at=AT):
    e = parse(source)
    return e.evaluate({n: at[n] for n in e.names})[0].data


@pytest.mark.parametrize("source, want", [
    ("tanh(a*b + c)", math.tanh(2 * -3 + 10)),
    ("a + b - c", 2 - 3 - 10),
    ("a / b * c", 2 / -3 * 10),
    ("a ** 2 + c ** 0.5", 4 + math.sqrt(10)),
    ("-a + +b", -2 - 3),
    ("--a", 2.0),
    ("2 ** a", 4.0),
    ("1e-3 * c", 0.01),
    ("exp(a) + log(c) + sqrt(c)", math.exp(2) + math.log(10) + math.sqrt(10)),
    ("sigmoid(b)", 1 / (1 + math.exp(3))),
    ("relu(b) + relu(a) + abs(b)", 0 + 2 + 3),
    ("softplus(a)", math.log1p(math.exp(2))),
    ("neg(c)", -10.0),
    ("(a - b) ** 2 / 2", 12.5),
])
def test_expr_values_match_math(source, want):
    assert _value(source) == pytest.approx(want, rel=1e-15)


def test_expr_names_in_order_of_appearance_and_labelled_leaves():
    e = parse("c * tanh(a) + a * b")
    assert e.names == ("c", "a", "b")
    out, leaves = e.evaluate(AT)
    assert {n: v.label for n, v in leaves.items()} == {"c": "c", "a": "a", "b": "b"}
    out.backward()
    # ∂/∂a = c(1 - tanh²a) + b, using one leaf for both uses of a
    assert leaves["a"].grad == pytest.approx(10 * (1 - math.tanh(2) ** 2) - 3, rel=1e-14)


def test_expr_name_steps_labels_intermediates_and_legend_reads_them_back():
    out, leaves = parse("(a - b) ** 2 / 2 + exp(-a)").evaluate({"a": 1.0, "b": 2.0}, name_steps=True)
    assert legend(out) == ["n1 = a - b", "n2 = n1 ** 2", "n3 = n2 / 2", "n4 = -a", "n5 = exp(n4)", "L = n3 + n5"]
    assert out.label == "L" and leaves["a"].label == "a"
    assert out.data == pytest.approx(0.5 + math.exp(-1), rel=1e-15)


def test_expr_numbers_become_float_constants_not_values():
    out, _ = parse("a * 3").evaluate({"a": 2.0})
    assert out.operands[1] == 3.0 and type(out.operands[1]) is float


def test_expr_is_callable_with_values_for_gradcheck():
    e = parse("a * b")
    x, y = Value(4.0), Value(5.0)
    assert e(x, y).data == 20.0
    with pytest.raises(TypeError, match="takes 2 value"):
        e(x)


def test_expr_calls_user_defined_ops():
    define_op("expr_cube", lambda x: x ** 3, lambda out, x: (3 * x * x,), ["3*x^2"])
    assert _value("expr_cube(a)") == 8.0


def test_expr_calls_the_variadic_sum():
    out, leaves = parse("sum(a, b*c, 2)").evaluate({"a": 1, "b": 2, "c": 3})
    assert (out.op, out.data, len(out.operands)) == ("sum", 9.0, 3)
    out.backward()
    assert [leaves[n].grad for n in "abc"] == [1.0, 3.0, 2.0]


@pytest.mark.parametrize("source, message, caret", [
    ("__import__('os')", "cannot call '__import__'", "^^^^^^^^^^"),
    ("a.__class__", "attribute access ('.__class__')", " ^^^^^^^^^^"),
    ("().__class__", "attribute access", "  ^^^^^^^^^^"),
    ("[x for x in ()]", "comprehensions are not allowed", "^" * 15),
    ("lambda: 1", "lambdas are not allowed", "^" * 9),
    ("a if b else c", "conditional expressions are not allowed", "^" * 13),
    ("open('f')", "cannot call 'open'", "^^^^"),
    ("a[0]", "subscripts are not allowed", "^^^^"),
    ("exp(a, b)", "takes 1 argument", "^" * 9),
    ("exp(x=a)", "no keyword arguments", "      ^"),
    ("sum()", "takes at least 1 argument", "^" * 5),
    ("'abc'", "only numbers", "^^^^^"),
    ("True + a", "only numbers", "^^^^"),
    ("a // b", "operator '//'", "  ^^"),
    ("a < b", "comparisons are not allowed", "^^^^^"),
    ("(a := 2)", "assignments", " ^^^^^^"),
    ("a +", "invalid syntax", None),
    ("1e999", "too large", "^^^^^"),
])
def test_expr_refuses_hostile_input_with_a_caret(source, message, caret):
    with pytest.raises(ValueError) as info:
        parse(source)
    first, shown, marks = str(info.value).splitlines()
    assert message in first
    assert shown == f"  {source}"
    if caret is not None:
        assert marks == f"  {caret}"


@pytest.mark.parametrize("source", ["2**99999", "a**1e9", "exp(a*1000)"])
def test_expr_huge_results_are_a_clear_overflow_naming_the_op(source):
    e = parse(source)                       # no constant folding: parsing alone is instant
    with pytest.raises(OverflowError, match=r"\*\*|exp") as info:
        e.evaluate({n: 2.0 for n in e.names})
    assert "^" in str(info.value)


def test_expr_domain_error_points_at_the_call():
    with pytest.raises(ValueError, match="log: input must be > 0") as info:
        parse("a + log(b)").evaluate({"a": 1.0, "b": -1.0})
    assert str(info.value).splitlines()[-1] == "      ^^^^^^"


def test_expr_unknown_and_unused_names_are_listed():
    with pytest.raises(ValueError, match="no value for b, c") as info:
        parse("a * b + c").evaluate({"a": 1.0})
    assert "--at" in str(info.value)
    with pytest.raises(ValueError, match="d given a value but not used"):
        parse("a").evaluate({"a": 1.0, "d": 2.0})


def test_expr_limits_length_and_depth():
    with pytest.raises(ValueError, match="too long"):
        parse("a+" * MAX_LENGTH + "a")
    with pytest.raises(ValueError, match="nested too deeply"):
        parse("-" * (MAX_DEPTH + 1) + "a")
    with pytest.raises(ValueError, match="nested too deeply|invalid syntax"):
        parse("(" * 300 + "a" + ")" * 300)
    deep = parse("-" * (MAX_DEPTH - 1) + "a")       # each level built once: linear, not 2^depth
    out, _ = deep.evaluate({"a": 1.5})
    assert out.data == -1.5


def test_expr_depth_counts_nesting_not_the_terms_of_a_flat_chain():
    """At most MAX_DEPTH levels of calls and operators: exactly 100 nested calls pass, and a flat sum or
    product of any number of terms (within MAX_LENGTH) is one level, as a reader sees it."""
    want = 0.5
    for _ in range(MAX_DEPTH):
        want = math.tanh(want)
    assert parse("tanh(" * MAX_DEPTH + "a" + ")" * MAX_DEPTH).evaluate({"a": 0.5})[0].data == want
    with pytest.raises(ValueError, match="nested too deeply"):
        parse("tanh(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1))
    flat = "a+" * 300 + "a"
    assert parse(flat).evaluate({"a": 1.0})[0].data == 301.0
    chain = "a*b-" * 150 + "a/b"
    assert parse(chain).evaluate({"a": 2.0, "b": 4.0})[0].data == eval(chain, {}, {"a": 2.0, "b": 4.0})
    assert parse("2**" * 3 + "a").evaluate({"a": 1.0})[0].data == 16.0       # right-associative chain


@pytest.mark.parametrize("source, message", [("", "is empty"), ("   ", "is empty"), ("a\nb", "one line")])
def test_expr_refuses_empty_or_multiline(source, message):
    with pytest.raises(ValueError, match=message):
        parse(source)


def test_parse_at_reads_names_and_numbers():
    assert parse_at("a=2,b=-3") == {"a": 2.0, "b": -3.0}
    assert parse_at(" x = 1e-3 , ") == {"x": 0.001}


@pytest.mark.parametrize("text, message", [
    ("a", "name=number"), ("a=b", "needs a number"), ("a=1,a=2", "twice"),
    ("1a=2", "name=number"), ("a=inf", "finite"), ("a=nan", "finite"),
])
def test_parse_at_refuses_bad_items(text, message):
    with pytest.raises(ValueError, match=message):
        parse_at(text)
