#!/usr/bin/env bash
# The first benchmark, kept as a shortcut: GET / with keep-alive through Turnout, HAProxy and nginx, one worker each,
# in interleaved rounds. It is the `get-keepalive` workload of benchmarks/run (see benchmarks/README.md) and takes
# the same environment settings (DURATION, ROUNDS, CONNECTIONS, WARMUP, TURNOUT_BIN).
set -euo pipefail

usage() {
    cat <<'USAGE'
usage: benchmarks/compare.sh [--no-build] [--only LIST] [--keep] [--output FILE]

  --no-build      use the existing TURNOUT_BIN (default .build-bench/release/turnout) instead of building it
  --only LIST     comma-separated subset of: turnout,haproxy,nginx (default: all three)
  --keep          keep the work directory (configs, logs) and print its path
  --output FILE   also write the markdown report to FILE
USAGE
}

arguments=(--only get-keepalive --no-save)
while (($# > 0)); do
    case "$1" in
        --no-build|--keep) arguments+=("$1") ;;
        --only|--output)
            [[ $# -ge 2 ]] || { usage >&2; exit 2; }
            if [[ $1 == --only ]]; then arguments+=(--proxies "$2"); else arguments+=(--output "$2"); fi
            shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "compare.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
exec "$(dirname "${BASH_SOURCE[0]}")/run" "${arguments[@]}"
