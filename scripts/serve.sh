#!/usr/bin/env bash
# Install what the site needs (idempotent), build the site from the frozen results in results/ and
# serve it (nothing is trained). EQUIDOCS_PROFILE=quick builds from a fresh quick run instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh docs
export NO_MKDOCS_2_WARNING=1
exec .venv/bin/mkdocs serve --livereload --dev-addr "${EQUIDOCS_ADDR:-127.0.0.1:8000}" "$@"
