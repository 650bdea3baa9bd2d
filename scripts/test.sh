#!/usr/bin/env bash
# Install what the tests need (idempotent; Debian's chromium for the browser test), run them all.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh docs,test
if [ ! -x /usr/bin/chromium ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi
export NO_MKDOCS_2_WARNING=1
# One worker per core, up to 4 (pytest-xdist; whole modules, in the order tests/conftest.py sets).
exec .venv/bin/python -m pytest -n auto --maxprocesses 4 --no-loadscope-reorder "$@"
