"""Run a function in several threads at once: how tests see that shared state survives concurrent use."""

from __future__ import annotations

import threading
from typing import Callable


def run_together(work: Callable[[], None], threads: int) -> list[BaseException]:
    """Start `threads` threads running work(), wait for them all; the errors they raised (none: [])."""
    errors: list[BaseException] = []

    def guarded() -> None:
        try:
            work()
        except BaseException as e:      # a failure in a thread must fail the test that reads the list
            errors.append(e)
    started = [threading.Thread(target=guarded) for _ in range(threads)]
    for t in started:
        t.start()
    for t in started:
        t.join()
    return errors
