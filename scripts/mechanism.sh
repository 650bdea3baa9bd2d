#!/usr/bin/env bash
# Start (or resume) the mechanism study's full profile in the background (one worker by default:
# WORKERS=2 to use both cores). Finished runs go to studies/mechanism/runs-full.jsonl; a resumed
# study loses only the runs that were in flight. Progress: build/mechanism-full.log. Arguments go to
# `python -m equidocs.mechanism run`, e.g. `--hours 2` (start no run after two hours; those in
# flight finish): a stop that loses nothing, ahead of a deadline.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build
nohup nice -n 10 .venv/bin/python -m equidocs.mechanism run --profile full --workers "${WORKERS:-1}" "$@" \
  >> build/mechanism-full.log 2>&1 &
echo "pid $!; log build/mechanism-full.log; table: .venv/bin/python -m equidocs.mechanism status --profile full"
