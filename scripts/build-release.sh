#!/usr/bin/env bash
# The release build the container image ships, run by the Dockerfile's build stage and by CI
# (scripts/dockerfile-check.sh): turnout and turnout-demo-backend linked with the static Swift standard
# library, so the runtime image needs no Swift toolchain; stripped; copied into OUT_DIR.
#
#   scripts/build-release.sh OUT_DIR
#
# SCRATCH_PATH is swift build's scratch path (default .build, as for any swift build).
set -euo pipefail

[[ $# -eq 1 ]] || { echo "usage: scripts/build-release.sh OUT_DIR" >&2; exit 2; }
mkdir -p "$1"
out=$(cd "$1" && pwd)
cd "$(dirname "${BASH_SOURCE[0]}")/.."

products=(turnout turnout-demo-backend)
build=(swift build -c release --static-swift-stdlib --scratch-path "${SCRATCH_PATH:-.build}")
for product in "${products[@]}"; do
    "${build[@]}" --product "$product"
done
bin=$("${build[@]}" --show-bin-path)
for product in "${products[@]}"; do
    cp "$bin/$product" "$out/$product"
    strip "$out/$product"
done
