"""Every example a reader may copy is tested: Sybil collects the pages' `python` blocks and the
docstrings' `>>>` examples, and every snippets/*.py is run as a script in a fresh interpreter."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("sybil_setup", ROOT / "conftest.py")
_sybil_setup = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_sybil_setup)
markdown_examples, docstring_examples = _sybil_setup.markdown_examples, _sybil_setup.docstring_examples
# Python examples per page. A fence Sybil does not collect (```py, a title, a typo) silently stops
# being tested: this count catches it.
EXPECTED_PAGE_EXAMPLES = {
    "index.md": 1,
    "equivariance.md": 2,
    "parameters.md": 1,
    "when-it-breaks.md": 1,
}


def _count(sybil, path: Path) -> int:
    return len(list(sybil.parse(path)))


@pytest.mark.parametrize("page", sorted(p.relative_to(ROOT / "docs").as_posix()
                                        for p in (ROOT / "docs").rglob("*.md")))
def test_each_page_has_the_expected_number_of_examples(page):
    assert _count(markdown_examples, ROOT / "docs" / page) == EXPECTED_PAGE_EXAMPLES.get(page, 0)


def test_every_module_with_a_public_function_has_docstring_examples():
    for module in ("models", "params", "equivariance", "data", "train", "cache"):
        assert _count(docstring_examples, ROOT / "equidocs" / f"{module}.py") >= 2, module


SNIPPETS = sorted((ROOT / "snippets").glob("*.py"))


def test_snippets_exist():
    assert len(SNIPPETS) >= 3


@pytest.mark.parametrize("snippet", SNIPPETS, ids=lambda p: p.name)
def test_snippet_runs_as_a_script(snippet, tmp_path):
    """Each snippet runs as-is when copied: a fresh interpreter, another working directory."""
    done = subprocess.run([sys.executable, str(snippet)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip(), "a snippet should print what it shows"
