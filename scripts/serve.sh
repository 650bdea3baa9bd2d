#!/usr/bin/env bash
# Install what the site needs (idempotent), run the experiments that are stale, build and serve.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh docs
export NO_MKDOCS_2_WARNING=1
exec .venv/bin/mkdocs serve --livereload --dev-addr "${EQUIDOCS_ADDR:-127.0.0.1:8000}" "$@"
