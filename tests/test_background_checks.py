"""The slow checks that run in the background while the rest of the suite runs (started with the
session, see conftest.py and background.py), collected here at the end:

- the audit, as CI and the deploy workflow run it, on this CPU and as a CPU one capability narrower
  computes;
- the whole site built from a cold ``smoke`` run (every experiment trained from an empty cache);
- the site built from a results file with HTML in a string, sealed again: the HTML is escaped.
"""

import json
from dataclasses import asdict

import pytest

from equidocs import experiments, smoke

pytestmark = [pytest.mark.slow, pytest.mark.last]


def test_the_audit_passes_on_this_cpu_and_on_a_narrower_one(audits, capsys):
    """What CI runs, on this CPU and as a CPU one capability narrower computes (results frozen on
    an AVX2 machine audit on AVX-512 and the other way round). The replayed runs are picked anew
    each time; the seed is printed, so a failure can be repeated with ``--seed``."""
    for cpu, job in audits.items():
        code, out, err, _ = job.wait(timeout=1200)
        seed = out.split("--seed ")[1].split()[0] if "--seed " in out else "?"
        with capsys.disabled():  # printed past pytest's capture, so CI's log shows it
            print(f"\n[audit] {cpu} CPU: replayed runs picked with --seed {seed} "
                  f"(repeat: python -m equidocs audit --runs 3 --seed {seed})")
        assert code == 0, f"{cpu} CPU:\n{out}{err}"
        assert "audit passed" in out
        verdicts = [line for line in out.splitlines() if " replayed " in line]
        assert len(verdicts) == 3 and all(": identical" in v or ": within tolerance (" in v for v in verdicts)


def test_smoke_profile_builds_every_page_from_an_empty_cache(cold_build, nav_pages):
    """CI: the whole site from a from-scratch smoke run (every experiment trained at tiny sizes, no
    cache, no results/), started with the session (see conftest.py) and collected here."""
    seconds, out = cold_build.finish(), cold_build.out
    for src, built in nav_pages.items():
        assert (out / built).exists(), f"{src} was not built under the smoke profile"
    for name in experiments.NAMES:
        record = json.loads((out / "results" / f"{name}.json").read_text())
        assert record["profile"] == "smoke" and record["config"] == json.loads(json.dumps(asdict(smoke.config(name)))), name
    print(f"smoke cold build: {seconds:.0f} s")


def test_html_in_a_resealed_result_is_escaped_in_the_built_page(resealed_build):
    resealed_build.finish()
    pages = "".join(p.read_text() for p in resealed_build.out.rglob("*.html"))
    assert "Caption &lt;img src=x onerror=" in pages  # shown as text (quotes need no escape in text)
    assert "<img src=x onerror" not in pages
