"""Build step for the one C file, autobp/_node.c; everything else is in pyproject.toml.

The extension is optional: without a C compiler the install still succeeds and
autobp runs in pure Python (the same results, slower on large graphs).
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("autobp._node", ["autobp/_node.c"], optional=True)])
