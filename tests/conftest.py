"""Fixtures for the site tests: one strict build per session, served on 127.0.0.1, and the nav;
the slow checks that run in the background; the quick mechanism study, trained once.

``built_site`` is the published site, built with ``mkdocs build --strict`` once per session, in the
background from the session's start (a warning or an error fails every test that needs it, showing
the warnings and the end of the build's output); ``site_url`` serves it with a threaded
``http.server`` on a free port. The audits and the cold smoke build also start with the session and
are read by tests/test_background_checks.py at the end. Under pytest-xdist (scripts/test.sh) each
runs once for all workers (tests/background.py). Tests that take a ``nav_page`` argument are
parametrized over the pages of the ``nav`` in mkdocs.yml (read at collection, no build needed).
"""

from __future__ import annotations

import functools
import http.server
import os
import sys
import threading
import time
import types
from pathlib import Path

import background
import pytest
import yaml

from equidocs import cache

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "build" / "screenshots"


class _TolerantLoader(yaml.SafeLoader):
    """SafeLoader that maps unknown tags (``!!python/name:``, ``!ENV``, ...) to None."""


_TolerantLoader.add_multi_constructor("", lambda loader, suffix, node: None)


def mkdocs_config() -> dict:
    return yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=_TolerantLoader)


def _walk_nav(items) -> list[str]:
    sources = []
    for item in items or []:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        if isinstance(value, list):
            sources += _walk_nav(value)
        elif isinstance(value, str) and "://" not in value:
            sources.append(value)
    return sources


def page_path(src: str) -> str:
    """The built file of a source page (``use_directory_urls``): a.md -> a/index.html."""
    parent, _, name = src.rsplit(".", 1)[0].rpartition("/")
    folder = f"{parent}/" if parent else ""
    return f"{folder}index.html" if name in ("index", "README") else f"{folder}{name}/index.html"


def nav_sources() -> list[str]:
    """Source paths (relative to docs/) of every page in the nav of mkdocs.yml."""
    return _walk_nav(mkdocs_config().get("nav"))


@pytest.fixture(scope="session")
def mkdocs_yml() -> dict:
    """mkdocs.yml as a dict (unknown tags such as ``!!python/name:`` read as None)."""
    return mkdocs_config()


@pytest.fixture(scope="session")
def nav_pages() -> dict[str, str]:
    """{source page: its built file}, e.g. {"index.md": "index.html", "a/b.md": "a/b/index.html"}."""
    return {src: page_path(src) for src in nav_sources()}


def pytest_collection_modifyitems(config, items):
    """Modules with tests of the built site run after the others, so that its build (started with
    the session) runs alongside them; tests marked ``last`` run at the end: they read checks started
    in the background early on (the audits, the cold smoke build), which by then have finished.
    pytest-xdist sends whole modules out in this order (see the root conftest.py)."""
    def module(item) -> str:
        return item.nodeid.split("::")[0]

    site = {module(item) for item in items if "built_site" in getattr(item, "fixturenames", ())}
    items.sort(key=lambda item: (item.get_closest_marker("last") is not None, module(item) in site))


def pytest_generate_tests(metafunc):
    if "nav_page" in metafunc.fixturenames:
        sources = nav_sources()
        metafunc.parametrize("nav_page", [page_path(s) for s in sources], ids=sources)


def _build_env(out: Path, **env_overrides: str) -> dict[str, str]:
    """A build's environment: unless told otherwise, its generated files go to a folder of its own
    beside ``out``, so builds running at the same time never share ``build/generated``."""
    return {"NO_MKDOCS_2_WARNING": "1", "EQUIDOCS_GENERATED": str(out.parent / f"generated-{out.name}"),
            **env_overrides}


def _mkdocs(out: Path) -> list[str]:
    return [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)]


def _check_build(out: Path, code: int, output: str, seconds: float, profile: str) -> float:
    """Fail the test on a failed build or any warning; else print and return its wall time."""
    lines = output.splitlines()
    warnings = [line for line in lines if line.startswith(("WARNING", "ERROR"))]
    if code != 0 or warnings:
        log = out.parent / f"mkdocs-build-{out.name}.log"
        log.write_text(output, encoding="utf-8")
        pytest.fail(f"`mkdocs build --strict` failed (exit {code}; profile {profile}); "
                    f"warnings and errors:\n" + "\n".join(warnings)
                    + f"\n--- last 60 lines of the output (all of it: {log}) ---\n"
                    + "\n".join(lines[-60:]), pytrace=False)
    sys.__stdout__.write(f"\n[site] built ({profile}) in {seconds:.0f} s into {out}\n")
    return seconds


class SiteBuild:
    """A strict build running in the background (one per session, whichever worker started it)."""

    def __init__(self, folder: Path, name: str, **env_overrides: str) -> None:
        self.out = folder / name
        self.profile = env_overrides.get("EQUIDOCS_PROFILE", os.environ.get("EQUIDOCS_PROFILE", "published"))
        self.job, self.proc = background.start(folder, f"build-{name}", _mkdocs(self.out),
                                               _build_env(self.out, **env_overrides))

    def finish(self) -> float:
        """Wait for the build; fail the test on any warning. Returns its wall time in seconds."""
        code, out, err, seconds = self.job.wait()
        return _check_build(self.out, code, out + err, seconds, self.profile)

    def reap(self) -> None:
        background.reap(self.proc)


COLD_TEST = "test_smoke_profile_builds_every_page_from_an_empty_cache"


def _selected(request, test_name: str) -> bool:
    return any(item.name == test_name for item in request.session.items)


def _uses(request, fixture: str) -> bool:
    """Whether any selected test needs ``fixture`` (directly or through another fixture)."""
    return any(fixture in getattr(item, "fixturenames", ()) for item in request.session.items)


@pytest.fixture(scope="session")
def shared(tmp_path_factory) -> Path:
    """A folder shared by every pytest-xdist worker of this session (see background.py)."""
    return background.shared_dir(tmp_path_factory)


@pytest.fixture(scope="session", autouse=True)
def cold_build(request, shared):
    """The whole site from a cold ``smoke`` run (equidocs.smoke: every experiment trained from an
    empty cache, at tiny sizes), started with the session when its test is selected, so it runs
    alongside the other tests; its test is marked ``last`` and collects it."""
    if not _selected(request, COLD_TEST):
        yield None
        return
    build = SiteBuild(shared, "smoke-site", EQUIDOCS_PROFILE="smoke", EQUIDOCS_CACHE=str(shared / "empty-cache"))
    yield build
    build.reap()


def _lower_cpu_env() -> dict[str, str]:
    """Environment that makes this machine compute like a CPU one capability below its own
    (AVX-512 -> AVX2, AVX2 -> SSE4): torch, oneDNN and numpy all take the narrower code paths."""
    if cache.cpu_capability().startswith("AVX512"):
        return {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2",
                "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR"}
    return {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41",
            "NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR"}


def _audit_env(env: dict | None = None) -> dict[str, str]:
    threads = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    return {**os.environ, **threads, "EQUIDOCS_RESULTS": str(ROOT / "results"), **(env or {})}


AUDIT_TEST = "test_the_audit_passes_on_this_cpu_and_on_a_narrower_one"


@pytest.fixture(scope="session", autouse=True)
def audits(request, shared):
    """Both audits (``audit --runs 3``, on this CPU and on a narrower one), started with the session
    when their test is selected (in whichever pytest-xdist worker gets there first); they finish
    while the rest of the suite runs, and their test, marked ``last``, reads them."""
    if not _selected(request, AUDIT_TEST):
        yield None
        return
    argv = [sys.executable, "-m", "equidocs", "audit", "--runs", "3"]
    started = {"native": background.start(shared, "audit-native", argv, _audit_env()),
               "one capability lower": background.start(shared, "audit-lower", argv, _audit_env(_lower_cpu_env()))}
    yield {cpu: job for cpu, (job, _) in started.items()}
    for _, proc in started.values():
        background.reap(proc)


RESEALED_TEST = "test_html_in_a_resealed_result_is_escaped_in_the_built_page"
ATTACK = '<img src=x onerror="window.pwned=1">'


@pytest.fixture(scope="session", autouse=True)
def resealed_build(request, shared):
    """The site built from a copy of results/ whose sample_efficiency.json holds HTML in its caption
    and was sealed again (a valid checksum: the build must escape it, not refuse it); started with
    the session when its test is selected, read by that test (marked ``last``)."""
    if not _selected(request, RESEALED_TEST):
        yield None
        return
    import shutil

    from equidocs import frozen

    copy = shared / "resealed-results"
    with background.session_lock(shared):
        if not copy.exists():
            shutil.copytree(ROOT / "results", copy)
            record = frozen.read("sample_efficiency", copy)
            record["result"]["caption"] = f"Caption {ATTACK}"
            frozen.write(record, copy)  # sealed again
    build = SiteBuild(shared, "resealed-site", EQUIDOCS_RESULTS=str(copy))
    yield build
    build.reap()


@pytest.fixture(scope="session", autouse=True)
def published_build(request, shared):
    """The published site's build, started with the session when a selected test needs
    ``built_site``, so it runs alongside the tests that do not; ``built_site`` waits for it."""
    if not _uses(request, "built_site"):
        yield None
        return
    build = SiteBuild(shared, "published-site")
    yield build
    build.reap()


@pytest.fixture(scope="session")
def built_site(published_build) -> Path:
    """The site, built once per session with ``mkdocs build --strict`` (cwd = repo root).

    By default it is the published site, built from the frozen results in ``results/`` (nothing is
    trained); set ``EQUIDOCS_PROFILE=quick`` to test against a quick run instead.
    """
    published_build.finish()
    return published_build.out


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (signature of the base class)
        pass


@pytest.fixture(scope="session")
def site_url(built_site) -> str:
    """Base URL (ending in /) of the built site served on 127.0.0.1 from a background thread."""
    handler = functools.partial(_QuietHandler, directory=str(built_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def screenshot_dir(shared) -> Path:
    """build/screenshots/, emptied once per session (by the first worker to ask); the terminal
    summary counts what this session wrote there."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with background.session_lock(shared):
        marker = shared / "screenshots.emptied"
        if not marker.exists():
            for old in SCREENSHOTS.glob("*.png"):
                old.unlink()
            marker.touch()
    return SCREENSHOTS


_STARTED = time.time()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    shots = [p for p in SCREENSHOTS.glob("*.png") if p.stat().st_mtime >= _STARTED] if SCREENSHOTS.exists() else []
    if shots:
        terminalreporter.write_sep("-", "site screenshots")
        terminalreporter.write_line(f"{len(shots)} screenshots (light and dark) in {SCREENSHOTS}")


@pytest.fixture(scope="session")
def quick_mechanism_study(tmp_path_factory):
    """The mechanism study's quick profile (equidocs.experiments.resolution_scaling), trained once per
    session (one worker) into an isolated cache (``EQUIDOCS_CACHE``), with a run store recording.

    Attributes: ``cfg``, ``cache`` (its log is ``cache/mechanism/runs-quick.jsonl``), ``store`` and
    ``result``. Shared by test_resolution_scaling and test_mechanism, which must not add to it."""
    from equidocs import runstore
    from equidocs.experiments import RunContext
    from equidocs.experiments import resolution_scaling as rs

    cache = tmp_path_factory.mktemp("quick-mechanism-cache")
    cfg = rs.Config.profile("quick")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EQUIDOCS_CACHE", str(cache))
        store = runstore.RunStore(cache / "runs", "cpu")
        with runstore.recording(store):
            result = rs.run(cfg, RunContext(workers=1))
    return types.SimpleNamespace(cfg=cfg, cache=cache, store=store, result=result)


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium through Playwright, headless and offline, for the whole session."""
    from browsing import ARGS, CHROMIUM
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `bash scripts/test.sh` (it apt-installs Debian's "
                    "chromium); `playwright install` cannot download browsers here.", pytrace=False)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()
