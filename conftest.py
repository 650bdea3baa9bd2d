"""Sybil: the Python examples in docs/**/*.md and the doctests in equidocs/ docstrings are tests."""

import pytest
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


# Modules that share a session fixture that takes long to compute, kept on one pytest-xdist worker.
SHARED_WORK = {"tests/test_mechanism.py": "quick-mechanism-study",
               "tests/test_resolution_scaling.py": "quick-mechanism-study"}


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """pytest-xdist's work units (scripts/test.sh runs ``-n auto --no-loadscope-reorder``): a whole
    module (its module fixtures are computed once; a document's examples share one namespace), or
    the modules in SHARED_WORK together, sent out in collection order (tests/conftest.py puts the
    modules that need the built site after the others, and the ``last`` tests' module at the end)."""
    from xdist.scheduler import LoadScopeScheduling

    class ByModule(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::")[0]
            return SHARED_WORK.get(module, module)

    return ByModule(config, log)
