#!/usr/bin/env bash
# Benchmarks: `scripts/bench.sh NAME` runs scripts/bench/NAME.sh and prints key=value figures.
# Names: startup, apply, demo-app, up-sim, config, bundle (each prints its goal beside the figures).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ $# -eq 0 ] || [ ! -f "$here/bench/$1.sh" ]; then
  echo "usage: scripts/bench.sh NAME   (one of: $(cd "$here/bench" && ls *.sh | sed 's/\.sh$//' | tr '\n' ' '))" >&2
  exit 2
fi
name=$1; shift
exec bash "$here/bench/$name.sh" "$@"
