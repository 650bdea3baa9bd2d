#!/usr/bin/env bash
# The mechanism study on a borrowed GPU machine for a set time, for the largest canvases, whose runs
# take a CPU core 10-25 minutes each. Run from the repository root there, with a Python that has torch
# with CUDA (PYTHON, default python3), e.g. through the workplace's device tool:
#   bash scripts/mechanism-device.sh            # SIZES="20 24" MINUTES=8 WORKERS=6 by default
# Runs start for MINUTES minutes; the study then stops cleanly (SIGINT) by MINUTES + GRACE, losing only
# the runs in flight, and its run log is copied to $OUT (default build/). Back on the home machine:
#   .venv/bin/python -m equidocs.mechanism merge <the copied runs-full.jsonl> --profile full
# Stop the study here first (or give the GPU other canvases, SIZES=24), else both run the same jobs;
# EXPECT_CODE (python -c "from equidocs.runstore import code_hash; print(code_hash())" here) makes
# the script refuse to start where the code hashes differently, whose runs would be stale here.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-build}"
mkdir -p "$out"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
code=$("${PYTHON:-python3}" -c "from equidocs.runstore import code_hash; print(code_hash())") || exit 1
if [ -n "${EXPECT_CODE:-}" ] && [ "$code" != "$EXPECT_CODE" ]; then
  echo "code hash $code here, $EXPECT_CODE expected: this machine's runs would be stale there" >&2
  exit 1
fi
minutes="${MINUTES:-8}" grace="${GRACE:-1}"
# shellcheck disable=SC2086  # SIZES is a list of canvases
timeout --preserve-status -s INT "$(( (minutes + grace) * 60 ))" "${PYTHON:-python3}" -m equidocs.mechanism run --profile full \
  --device "${DEVICE:-cuda}" --sizes ${SIZES:-20 24} --hours "$(python3 -c "print($minutes / 60)")" \
  --workers "${WORKERS:-6}" 2>&1 | tee "$out/mechanism-device.log"
status=${PIPESTATUS[0]}
cp studies/mechanism/runs-full.jsonl "$out/runs-full.jsonl"
echo "run log copied to $out/runs-full.jsonl (exit status $status; 130 = stopped at the time limit)"
exit $(( status == 130 ? 0 : status ))
