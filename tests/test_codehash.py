"""The code hashes read the same code the same under every Python (equidocs.codehash).

The study accumulates across machines and the frozen results are checked on readers' machines,
whose Pythons differ (a GPU machine's is 3.12): ``ast.unparse``'s text differs between versions,
the canonical dump of the syntax tree does not. Oracle: every other CPython 3.10+ found on this
machine, running ``equidocs/codehash.py`` (standard library only) on every module of equidocs.
"""

from __future__ import annotations

import ast
import glob
import json
import subprocess
import sys
from pathlib import Path

import pytest

from equidocs import cache, codehash, runstore

PACKAGE = Path(codehash.__file__).parent


def other_pythons() -> list[str]:
    """Interpreters of CPython 3.10 or later other than this one's version."""
    found = sorted({p for p in glob.glob("/root/.pyenv/versions/3.*/bin/python3") + glob.glob("/usr/bin/python3.*")
                    if not p.endswith("-config")})
    keep = []
    for exe in found:
        out = subprocess.run([exe, "-c", "import sys; print(sys.version_info[:2] >= (3, 10), sys.version.split()[0])"],
                             capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.startswith("True") and out.stdout.split()[1] != sys.version.split()[0]:
            keep.append(exe)
    return keep


def test_every_python_writes_every_module_alike():
    files = sorted(str(p) for p in PACKAGE.rglob("*.py"))
    ours = {f: [codehash.code_text(Path(f).read_text()), codehash.result_text(Path(f).read_text())] for f in files}
    pythons = other_pythons()
    if not pythons:
        pytest.skip("no other CPython 3.10+ on this machine to compare with")
    for exe in pythons:
        out = subprocess.run([exe, codehash.__file__, *files], capture_output=True, text=True)
        assert out.returncode == 0, (exe, out.stderr[-500:])
        theirs = json.loads(out.stdout)
        assert [f for f in files if theirs[f] != ours[f]] == [], f"{exe} writes these modules differently"


def test_a_field_a_later_python_adds_left_empty_changes_nothing():
    tree = ast.parse("def f(x):\n    return f'{x:{x}}'")
    tree.body[0].type_params = []  # 3.12's new field
    assert codehash.canonical_dump(tree) == codehash.canonical_dump(ast.parse("def f(x):\n    return f'{x:{x}}'"))


def test_comments_docstrings_figures_and_profiles_do_not_count_but_code_does():
    base = "import matplotlib.pyplot as plt\nclass Config:\n    n: int = 1\n    def profile(cls):\n        return 2\n" \
           "def run(cfg):\n    return cfg.n\ndef figure(r):\n    plt.plot(r)\n"
    same = '"""Doc."""\n' + base.replace("return 2", "return 3").replace("plt.plot(r)", "plt.bar(r)  # bars")
    assert codehash.result_text(same) == codehash.result_text(base)
    assert codehash.result_text(base.replace("return cfg.n", "return cfg.n + 1")) != codehash.result_text(base)
    assert codehash.code_text(base.replace("plt.plot(r)", "plt.bar(r)")) != codehash.code_text(base)  # the study's: all code


def test_the_hashes_read_codehash_texts():
    """What the frozen results and the study's log compare is exactly these texts' hash."""
    assert cache._result_source("equidocs.params") == codehash.result_text((PACKAGE / "params.py").read_text()).encode()
    assert runstore.code_source(PACKAGE / "nets.py") == codehash.code_text((PACKAGE / "nets.py").read_text())
