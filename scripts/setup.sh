#!/usr/bin/env bash
# Idempotent setup: a local virtual environment in .venv with equidocs (editable) and the extras
# named in $1 (default: docs), plus MathJax served from the site itself (no CDN at view time).
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-docs}"
# Python 3.10 or later ($PYTHON to choose one); python3.11 first where there is one, the version of
# the torch wheel that CI's machine keeps on disk.
python="${PYTHON:-$(command -v python3.11 || echo python3)}"
[ -x .venv/bin/python ] || "$python" -m venv .venv
stamp=".venv/.equidocs-$extras-$(cat pyproject.toml requirements/constraints.txt | sha1sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  # constraints.txt pins torch's CPU wheel: an unpinned torch would pull a multi-GB CUDA build.
  .venv/bin/python -m pip install --quiet --disable-pip-version-check \
    -c requirements/constraints.txt -e ".[$extras]"
  touch "$stamp"
fi
# MathJax (npm package, a single self-contained file) is copied into the site at build time.
mathjax=build/vendor/node_modules/mathjax/es5/tex-svg-full.js
if [ ! -f "$mathjax" ]; then
  npm install --silent --no-audit --no-fund --no-save --prefix build/vendor mathjax@3.2.2 >/dev/null
fi
