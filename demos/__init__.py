"""Runnable worked examples: `python demos/<name>.py` or `autobp demo <name>`."""
