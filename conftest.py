"""Sybil: the Python examples in docs/**/*.md and the doctests in equidocs/ docstrings are tests."""

import torch

from sybil import Sybil
from sybil.parsers.markdown import PythonCodeBlockParser, SkipParser
from sybil.parsers.rest import DocTestParser

markdown_examples = Sybil(
    parsers=[PythonCodeBlockParser(), SkipParser()],
    patterns=["*.md"],
    path="docs",
    name="docs",
)
docstring_examples = Sybil(
    parsers=[DocTestParser()],
    patterns=["*.py"],
    excludes=["__main__.py"],  # importing it would run the CLI
    path="equidocs",
    name="docstrings",
)

pytest_collect_file = (markdown_examples + docstring_examples).pytest()

# The tests' models are tiny: one thread each. Two threads on two busy cores spin-wait (OpenMP) and
# make small ops tens of times slower.
torch.set_num_threads(1)
