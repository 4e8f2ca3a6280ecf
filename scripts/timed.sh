#!/usr/bin/env bash
# Usage: scripts/timed.sh NAME COMMAND [ARG…]
# Runs COMMAND, then prints "[time] NAME: <seconds>s" (also when it fails) and
# exits with COMMAND's status.
set -uo pipefail
if [ "$#" -lt 2 ]; then
  echo "usage: $0 NAME COMMAND [ARG...]" >&2
  exit 2
fi
name=$1
shift
start=$(date +%s)
"$@"
status=$?
end=$(date +%s)
if [ "$status" -eq 0 ]; then
  echo "[time] $name: $((end - start))s"
else
  echo "[time] $name: $((end - start))s (failed with exit code $status)"
fi
exit "$status"
