"""A function that counts its calls: how tests see how often something ran (f's evaluations, a hand-back)."""

from __future__ import annotations

from typing import Any, Callable


class Counting:
    """f, counting its calls."""

    def __init__(self, f: Callable[..., Any]) -> None:
        self.f, self.calls = f, 0

    def __call__(self, *args: Any) -> Any:
        self.calls += 1
        return self.f(*args)
