"""Sybil: the Python examples in docs/**/*.md and the doctests in equidocs/ docstrings are tests."""

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
