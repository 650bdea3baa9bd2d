"""Fixtures for the site tests: one strict build per session, served on 127.0.0.1, and the nav.

``built_site`` runs ``mkdocs build --strict`` once into a temporary folder (a warning or an error
fails every test that needs it, showing the warnings and the end of the build's output).
``site_url`` serves that folder with a threaded ``http.server`` on a free port. Tests that take a
``nav_page`` argument are parametrized over the pages of the ``nav`` in mkdocs.yml (read at
collection, no build needed).
"""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import sys
import threading
import time
import types
from pathlib import Path

import pytest
import yaml

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
    """Tests of the built site run after the others, so that its build (started with the session)
    runs alongside them; tests marked ``last`` run at the end: they read checks started in the
    background early on (the audits, the cold quick build), which by then have finished."""
    items.sort(key=lambda item: (item.get_closest_marker("last") is not None,
                                 "built_site" in getattr(item, "fixturenames", ())))


def pytest_generate_tests(metafunc):
    if "nav_page" in metafunc.fixturenames:
        sources = nav_sources()
        metafunc.parametrize("nav_page", [page_path(s) for s in sources], ids=sources)


class _Build:
    """``mkdocs build --strict`` into ``out`` (cwd = repo root), running in the background. Unless
    told otherwise, its generated files go to a folder of its own beside ``out``, so builds running
    at the same time never share ``build/generated``."""

    def __init__(self, out: Path, **env_overrides: str) -> None:
        generated = str(out.parent / f"generated-{out.name}")
        self.out = out
        self.env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "EQUIDOCS_GENERATED": generated, **env_overrides}
        self.start = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)],
            cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def finish(self) -> float:
        """Wait for the build; fail the test on any warning. Returns its wall time in seconds."""
        output, _ = self.proc.communicate()
        lines = output.splitlines()
        warnings = [line for line in lines if line.startswith(("WARNING", "ERROR"))]
        profile = self.env.get("EQUIDOCS_PROFILE", "published")
        if self.proc.returncode != 0 or warnings:
            log = self.out.parent / f"mkdocs-build-{self.out.name}.log"
            log.write_text(output, encoding="utf-8")
            pytest.fail(f"`mkdocs build --strict` failed (exit {self.proc.returncode}; profile {profile}); "
                        f"warnings and errors:\n" + "\n".join(warnings)
                        + f"\n--- last 60 lines of the output (all of it: {log}) ---\n"
                        + "\n".join(lines[-60:]), pytrace=False)
        seconds = time.perf_counter() - self.start
        sys.__stdout__.write(f"\n[site] built ({profile}) in {seconds:.0f} s into {self.out}\n")
        return seconds


def _build_site(out: Path, **env_overrides: str) -> float:
    """``mkdocs build --strict`` into ``out`` (cwd = repo root); fails the test on any warning.

    Returns the build's wall time in seconds.
    """
    return _Build(out, **env_overrides).finish()


COLD_TEST = "test_smoke_profile_builds_every_page_from_an_empty_cache"


@pytest.fixture(scope="session", autouse=True)
def cold_build(request, tmp_path_factory):
    """The whole site from a cold ``smoke`` run (equidocs.smoke: every experiment trained from an
    empty cache, at tiny sizes), started with the session when its test is selected, so it runs
    alongside the other tests; its test is marked ``last`` and collects it."""
    if not any(item.name == COLD_TEST for item in request.session.items):
        yield None
        return
    root = tmp_path_factory.mktemp("cold")
    build = _Build(root / "smoke-site", EQUIDOCS_PROFILE="smoke", EQUIDOCS_CACHE=str(root / "empty-cache"),
                   EQUIDOCS_GENERATED=str(root / "generated"))
    yield build
    build.proc.kill()


def _uses(request, fixture: str) -> bool:
    """Whether any selected test needs ``fixture`` (directly or through another fixture)."""
    return any(fixture in getattr(item, "fixturenames", ()) for item in request.session.items)


@pytest.fixture(scope="session", autouse=True)
def published_build(request, tmp_path_factory):
    """The published site's build, started with the session when a selected test needs
    ``built_site``, so it runs alongside the tests that do not; ``built_site`` waits for it."""
    if not _uses(request, "built_site"):
        yield None
        return
    build = _Build(tmp_path_factory.mktemp("site") / "published")
    yield build
    build.proc.kill()


@pytest.fixture(scope="session")
def built_site(published_build) -> Path:
    """The site, built once per session with ``mkdocs build --strict`` (cwd = repo root).

    By default it is the published site, built from the frozen results in ``results/`` (nothing is
    trained); set ``EQUIDOCS_PROFILE=quick`` to test against a quick run instead.
    """
    published_build.finish()
    return published_build.out


@pytest.fixture(scope="session")
def build_site():
    """``build_site(out, **env) -> seconds``: a strict build with extra environment variables."""
    return _build_site


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
def screenshot_dir(request) -> Path:
    """build/screenshots/, emptied once per session; its path is printed in the terminal summary."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()
    request.config.stash[_SCREENSHOTS_KEY] = SCREENSHOTS
    sys.__stdout__.write(f"\n[site] screenshots go to {SCREENSHOTS}\n")
    return SCREENSHOTS


_SCREENSHOTS_KEY = pytest.StashKey[Path]()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    folder = config.stash.get(_SCREENSHOTS_KEY, None)
    if folder is not None:
        count = len(list(folder.glob("*.png")))
        terminalreporter.write_sep("-", "site screenshots")
        terminalreporter.write_line(f"{count} screenshots (light and dark) in {folder}")


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
