"""The `autobp` command line: a thin argparse front end over the library.

Results go to stdout, diagnostics to stderr.  Exit codes: 0 success,
1 a check failed, 2 a usage error.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from autobp.examples import EXAMPLES


def _cmd_demo(args: argparse.Namespace) -> int:
    if args.name is None or args.list:
        width = max(map(len, EXAMPLES))
        for name, description in EXAMPLES.items():
            print(f"{name:<{width}}  {description}")
        return 0
    importlib.import_module(f"autobp.demos.{args.name}").main()
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autobp", description="A scalar autograd engine that shows its work.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    demo = sub.add_parser("demo", help="run a worked example (no NAME lists them)",
                          description="Run a worked example; without NAME, list them.")
    demo.add_argument("name", nargs="?", choices=list(EXAMPLES), metavar="NAME", help=", ".join(EXAMPLES))
    demo.add_argument("--list", action="store_true", help="list the demos")
    demo.set_defaults(run=_cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
