"""Running a command-line program to its exit code, ending quietly when a reader such as `head` closes stdout early.

Python ignores SIGPIPE, so writing into a pipe whose reader has gone raises
BrokenPipeError — at any print, or at the interpreter's last flush of a
buffered stdout.  `run_main` flushes stdout itself, inside its guard, and
on a closed pipe points stdout at os.devnull (so the last flush cannot fail
again) and returns 141, the code a shell reports for `yes | head -1`.
The `autobp` command and every demo script end this way.
"""

from __future__ import annotations

import os
import sys
from typing import Callable

__all__ = ["run_main", "CLOSED_PIPE"]

CLOSED_PIPE = 128 + 13      # 128 + SIGPIPE, as for a program the pipe's signal ended


def run_main(main: Callable[[], int | None]) -> int:
    """main()'s exit code (0 when it returns None), or CLOSED_PIPE, silently, when stdout's reader went away."""
    try:
        try:
            code = main()
        finally:
            sys.stdout.flush()      # here, not at interpreter exit, so a closed pipe is caught below
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return CLOSED_PIPE
    return code or 0
