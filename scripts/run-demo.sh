#!/usr/bin/env bash
# Starts the blue and green demo backends, a spare one (blue-2, in no group, for the README's
# `targets add`), and the proxy (release build, or the binaries in TURNOUT_BIN_DIR), and stops
# them all on Ctrl-C. Used by `make run`.
set -euo pipefail
config="${1:-config/turnout.yaml}"
blue_port="${2:-3000}"
green_port="${3:-3001}"
spare_port="${4:-3002}"
bin="${TURNOUT_BIN_DIR:-$(swift build -c release --show-bin-path)}"

pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

"$bin/turnout-demo-backend" --port "$blue_port" --name blue & pids+=($!)
"$bin/turnout-demo-backend" --port "$green_port" --name green & pids+=($!)
"$bin/turnout-demo-backend" --port "$spare_port" --name blue-2 & pids+=($!)
"$bin/turnout" check --config "$config"

cat <<MSG

  Turnout is starting. In another terminal:
    curl -i http://127.0.0.1:8080/      # production listener -> blue
    curl -i http://127.0.0.1:8081/      # test listener       -> green
  Shift traffic:
    $bin/turnout weights production blue=90 green=10
    $bin/turnout switch green --swap-test
    $bin/turnout status
  A spare backend, blue-2 on 127.0.0.1:$spare_port, is in no group yet:
    $bin/turnout targets add blue 127.0.0.1:$spare_port
  Ctrl-C stops everything.

MSG
"$bin/turnout" serve --config "$config" & pids+=($!)
wait "${pids[3]}"
