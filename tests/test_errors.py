"""Bad input fails at once, with the op, the value and the label named (API.md, STYLE.md "Errors")."""

from __future__ import annotations

import math

import pytest

from autobp import Value, grad


@pytest.mark.parametrize("bad, type_name", [("3", "str"), (None, "NoneType"), ([1], "list"),
                                            (1 + 2j, "complex"), (Value(1.0), "Value")])
def test_errors_value_of_a_non_number_names_the_type(bad, type_name):
    with pytest.raises(TypeError, match=type_name):
        Value(bad)


def test_errors_label_must_be_a_string():
    with pytest.raises(TypeError, match="int"):
        Value(1.0, label=3)


@pytest.mark.parametrize("make, error, words", [
    (lambda: Value(-2.0).log(), ValueError, ["log", "-2.0"]),
    (lambda: Value(0.0).log(), ValueError, ["log", "0.0"]),
    (lambda: Value(-2.0, "x1").log(), ValueError, ["log", "-2.0", "x1"]),
    (lambda: Value(-1.0).sqrt(), ValueError, ["sqrt", "-1.0"]),
    (lambda: Value(-0.5, "s").sqrt(), ValueError, ["sqrt", "-0.5", "s"]),
    (lambda: Value(0.0) ** -1, (ValueError, ZeroDivisionError), ["**", "0.0", "-1"]),
    (lambda: Value(0.0, "z") ** -1.0, (ValueError, ZeroDivisionError), ["**", "0.0", "z"]),
    (lambda: Value(-8.0) ** (1 / 3), ValueError, ["**", "-8.0"]),
    (lambda: Value(3.0) / 0, ZeroDivisionError, ["/", "3.0"]),
    (lambda: Value(3.0, "x") / Value(0.0, "d"), ZeroDivisionError, ["/", "3.0", "d"]),
    (lambda: 1 / Value(0.0), ZeroDivisionError, ["/", "1.0"]),
    (lambda: Value(800.0).exp(), OverflowError, ["exp", "800.0"]),
    (lambda: Value(710.0, "big").exp(), OverflowError, ["exp", "710.0", "big"]),
    (lambda: Value(1e200) * 1e200, OverflowError, ["*"]),
    (lambda: Value(1e308) + Value(1e308), OverflowError, ["+"]),
    (lambda: Value(2.0) ** 1e6, OverflowError, ["**"]),
], ids=["log-neg", "log-zero", "log-label", "sqrt-neg", "sqrt-label", "pow-zero-neg", "pow-zero-label",
        "pow-neg-frac", "div-zero-const", "div-zero-value-label", "rdiv-zero", "exp-overflow",
        "exp-overflow-label", "mul-overflow", "add-overflow", "pow-overflow"])
def test_errors_domain_errors_name_op_value_and_label(make, error, words):
    with pytest.raises(error) as info:
        make()
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("make", [
    lambda: Value(math.nan), lambda: Value(math.inf), lambda: Value(-math.inf), lambda: Value(10 ** 400),
    lambda: Value(1.0) * math.nan, lambda: math.nan * Value(1.0), lambda: Value(1.0) + math.inf,
    lambda: math.inf + Value(1.0), lambda: Value(1.0) - math.inf, lambda: Value(1.0) / math.inf,
    lambda: Value(2.0) ** math.nan, lambda: math.inf ** Value(2.0),
], ids=["Value(nan)", "Value(inf)", "Value(-inf)", "Value(10**400)", "x*nan", "nan*x", "x+inf", "inf+x",
        "x-inf", "x/inf", "x**nan", "inf**x"])
def test_errors_nan_and_inf_never_enter_a_graph(make):
    with pytest.raises((ValueError, OverflowError)):
        make()


@pytest.mark.parametrize("make", [lambda: Value(1.0) * "a", lambda: "a" * Value(1.0), lambda: Value(1.0) + None,
                                  lambda: Value(1.0) - [1], lambda: Value(2.0) ** "x", lambda: Value(1.0) / {}])
def test_errors_arithmetic_with_a_non_number_is_a_type_error(make):
    with pytest.raises(TypeError):
        make()


@pytest.mark.parametrize("base", [-2.0, 0.0])
def test_errors_value_exponent_needs_a_positive_base(base):
    for make in (lambda: Value(base, "b") ** Value(0.5), lambda: base ** Value(2.0)):
        with pytest.raises(ValueError, match=r"\*\*") as info:
            make()
        assert repr(base) in str(info.value)
    assert "'b'" in str(pytest.raises(ValueError, lambda: Value(base, "b") ** Value(0.5)).value)


def test_errors_in_backward_name_the_op():
    """sqrt'(0) = 1/(2·sqrt 0) divides by zero: the sweep says where, and leaves the graph reusable."""
    x = Value(0.0, "x")
    y = x.sqrt() * 2
    for sweep in (y.backward, lambda: grad(y, [x]), lambda: grad(y, [x], create_graph=True)):
        with pytest.raises(ZeroDivisionError, match="sqrt"):
            sweep()
    z = x * 3.0
    z.backward()
    assert x.grad == 3.0


def test_bools_are_numbers_in_the_constructor_and_as_operands():
    # Python treats True as 1 and False as 0; autobp does the same everywhere.
    assert Value(True).data == 1.0
    x = Value(3.0)
    assert (x * True).data == 3.0 and (False + x).data == 3.0
    assert (x * True).operands == (x, 1.0)


def test_a_gradient_that_overflows_raises_naming_the_node_and_op():
    # d/dx log x = 1/x = 1e320 does not fit in a float: no silent inf in x.grad.
    x = Value(1e-320, "x")
    with pytest.raises(OverflowError, match=r"through 'log'.*label='x'"):
        x.log().backward()
    assert x.grad == 0.0
    with pytest.raises(OverflowError, match="through 'log'"):
        grad(x.log() - x.log(), [x])
    x.log().tanh()          # the graph is still usable: the failed sweep left no state behind
    y = Value(2.0, "y")
    (y.log() - y.log()).backward()
    assert y.grad == 0.0


def test_division_by_zero_names_each_node_once_and_says_which_is_zero():
    """Was "'/': cannot divide 0.0 by zero (node 'x') (node 'x')" for x / x; for a / b the message says
    which operand is which node (x is the dividend, y the divisor, as in the op's formulas)."""
    x = Value(0.0, "x")
    with pytest.raises(ZeroDivisionError) as same:
        x / x
    assert str(same.value).count("'x'") == 1
    a, b = Value(1.0, "a"), Value(0.0, "b")
    with pytest.raises(ZeroDivisionError) as other:
        a / b
    message = str(other.value)
    assert message.count("'a'") <= 1 and message.count("'b'") == 1
    assert "(node 'a') (node 'b')" not in message            # the divisor is named as the zero, not listed
