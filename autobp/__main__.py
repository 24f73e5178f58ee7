"""`python -m autobp`: the command line."""

from autobp.cli import main

raise SystemExit(main())
