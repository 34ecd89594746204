#!/usr/bin/env bash
# Checks what the container image needs without a Docker engine: CI machines have at most the Docker client, so
# the image itself is never built here. What can be checked without it:
#
#   1. every COPY source exists in the build context and .dockerignore does not leave it out;
#   2. scripts/build-release.sh, the build stage's own build, succeeds from a copy of only what the build stage
#      COPYs (less what .dockerignore leaves out), so a file the build needs but the image lacks fails here;
#   3. the binaries the runtime stage takes from the build stage exist, carry the Swift standard library
#      statically, and need (ldd) only libraries of debian:bookworm-slim itself or of the packages the runtime
#      stage installs;
#   4. they start (`--help`, and the CMD's subcommand `--help`), and the configuration the image ships passes
#      `turnout check`.
#
# Not checked: the base images and the build image's Swift version (this host's toolchain builds), the runtime
# stage's user, ports and HEALTHCHECK. Work files go to .build-docker (DOCKER_CHECK_DIR); reruns are incremental.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
check_dir=${DOCKER_CHECK_DIR:-$PWD/.build-docker}
context=$check_dir/context
out=$check_dir/out
# Packages of debian:bookworm-slim that binaries may link: the C and C++ runtimes and zlib.
base_packages="libc6 libgcc-s1 libstdc++6 zlib1g"

fail() { echo "dockerfile-check: FAIL: $*" >&2; exit 1; }
step() { echo "==> $*"; }

# The Dockerfile's instructions, one a line (continuations joined, comments dropped); its first stage builds,
# its last one is the image.
instructions=$(sed -e '/^[[:space:]]*#/d' Dockerfile | sed -e ':join' -e '/\\$/{N;s/\\\n//;b join}')
build_stage=$(awk '/^FROM /{n++} n == 1' <<<"$instructions")
runtime=$(awk -v last="$(grep -c '^FROM ' <<<"$instructions")" '/^FROM /{n++} n == last' <<<"$instructions")
ignored=$(sed -e '/^[[:space:]]*#/d' -e '/^[[:space:]]*$/d' .dockerignore)

# The sources of COPY lines from the build context (not --from another stage), as written.
copy_sources() {
    grep '^COPY ' | grep -v -e '--from=' | while read -r -a words; do
        sources=("${words[@]:1:${#words[@]}-2}")
        printf '%s\n' "${sources[@]}" | grep -v '^--' || true
    done
}

# --- 1. COPY sources ------------------------------------------------------------------------------------------
while read -r pattern; do
    matches=$(compgen -G "$pattern" || true)
    [[ -n $matches ]] || fail "COPY $pattern: nothing in the build context matches"
    while read -r source; do
        while read -r excluded; do
            # shellcheck disable=SC2053 # .dockerignore lines are patterns
            [[ $source == $excluded || $source == $excluded/* ]] \
                && fail "COPY $source: .dockerignore leaves it out ($excluded)"
        done <<<"$ignored"
    done <<<"$matches"
done < <(copy_sources <<<"$instructions")
step "COPY sources present, none left out by .dockerignore"

# --- 2. the build, from what the build stage copies --------------------------------------------------------------
# The build stage's COPYs keep the context's layout under its WORKDIR, so a copy of those paths is its /src.
rm -rf "$context" "$out"
mkdir -p "$context"
build_sources=$(copy_sources <<<"$build_stage" | paste -sd' ')
# shellcheck disable=SC2086 # the patterns expand here, as Docker expands them
tar -c --exclude-from=<(printf '%s\n' "$ignored") $build_sources | tar -x -C "$context"
step "building in a copy of $build_sources: scripts/build-release.sh"
SCRATCH_PATH=$check_dir/scratch "$context/scripts/build-release.sh" "$out" || fail "scripts/build-release.sh failed"

# --- 3. what the runtime stage takes and links ---------------------------------------------------------------------
runtime_packages=$(grep -o 'apt-get install[^&;]*' <<<"$runtime" | tr ' ' '\n' \
    | grep -v -e '^-' -e '^$' -e '^apt-get$' -e '^install$' || true)
binaries=$(grep '^COPY --from=' <<<"$runtime" | tr ' ' '\n' | grep '^/out/' | sed "s#^/out/#$out/#")
[[ -n $binaries ]] || fail "the runtime stage copies nothing from the build stage's /out"
for binary in $binaries; do
    name=$(basename "$binary")
    [[ -x $binary ]] || fail "the runtime stage copies $name, which scripts/build-release.sh does not produce"
    libraries=$(ldd "$binary") || fail "ldd $name failed"
    ! grep -q 'libswift' <<<"$libraries" || fail "$name links the Swift runtime dynamically:"$'\n'"$libraries"
    ! grep -q 'not found' <<<"$libraries" || fail "$name has unresolved libraries:"$'\n'"$libraries"
    for library in $(awk '$2 == "=>" { print $3 }' <<<"$libraries"); do
        package=$(dpkg -S "*/$(basename "$library")" 2>/dev/null | awk -F: 'NR == 1 { print $1 }') \
            || fail "$name links $library, which no Debian package provides"
        tr ' ' '\n' <<<"$base_packages $runtime_packages" | grep -qxF "$package" \
            || fail "$name links $(basename "$library") of $package, which the runtime stage does not install"
    done
    "$binary" --help >/dev/null || fail "$name --help failed"
    step "$name: static Swift stdlib, links $(awk '{ print $1 }' <<<"$libraries" | sed 's#.*/##' | tr '\n' ' ')"
done

# --- 4. the command the image runs, with the configuration it ships -------------------------------------------
entrypoint=$(sed -n 's/^ENTRYPOINT \[ *"\([^"]*\)".*/\1/p' <<<"$runtime")
subcommand=$(sed -n 's/^CMD \[ *"\([^"]*\)".*/\1/p' <<<"$runtime")
[[ -x $out/$entrypoint ]] || fail "ENTRYPOINT $entrypoint is not among the binaries built"
"$out/$entrypoint" "$subcommand" --help >/dev/null || fail "$entrypoint $subcommand --help failed (CMD)"
cmd_config=$(sed -n 's/^CMD .*"--config", *"\([^"]*\)".*/\1/p' <<<"$runtime")
config=$(awk -v path="$cmd_config" '$1 == "COPY" && $NF == path { print $2 }' <<<"$runtime")
[[ -n $config ]] || fail "no COPY puts the CMD's configuration ${cmd_config:-(none)} into the image"
"$out/$entrypoint" check --config "$config" >/dev/null || fail "$entrypoint check --config $config failed"
step "$entrypoint $subcommand starts; the shipped $config passes '$entrypoint check'"
echo "dockerfile-check: OK"
