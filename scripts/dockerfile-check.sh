#!/usr/bin/env bash
# Checks the Dockerfile without a Docker engine: replays its builder stage on this host and checks what the
# runtime stage takes from it.
#
#   1. the builder stage's COPY instructions are replayed into a copy of the build context, so a file the build
#      needs but the Dockerfile does not copy fails here;
#   2. its apt-get packages must be installed (installed when missing and running as root);
#   3. its other RUN steps run as written, in that copy, except that `swift build`/`swift package` get a scratch
#      path and the paths /out and the WORKDIR point into the check directory;
#   4. the runtime stage's COPY sources must exist; the binaries must run (`--help`, the CMD's subcommand),
#      link no libswift*.so and need no shared library the runtime image lacks; the shipped configuration must
#      pass `turnout check`.
#
# Everything lives in .build-docker (override with DOCKER_CHECK_DIR); a second run is incremental.
set -euo pipefail
# Bash 5.2 would otherwise read "&" in ${var//pattern/replacement} as the matched text.
shopt -u patsub_replacement 2>/dev/null || true

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dockerfile=${DOCKERFILE:-$repo_root/Dockerfile}
check_dir=${DOCKER_CHECK_DIR:-$repo_root/.build-docker}
context_copy=$check_dir/context
scratch=$check_dir/scratch
out_dir=$check_dir/out
started=$SECONDS

# Shared libraries a debian:bookworm-slim image with libssl3, ca-certificates and curl provides.
runtime_libraries_pattern='^(linux-vdso|ld-linux[^ ]*|libc|libm|libpthread|libdl|librt|libutil|libresolv|libstdc\+\+|libgcc_s|libssl|libcrypto|libz)\.so'

fail() {
    echo "dockerfile-check: FAIL: $*" >&2
    exit 1
}
step() { printf '==> %s\n' "$*"; }

[[ -f $dockerfile ]] || fail "no Dockerfile at $dockerfile"

# --- parse --------------------------------------------------------------------------------------------------------
# One line per instruction: stage index (-1 before the first FROM), keyword, arguments; continuation lines joined,
# comment lines dropped (as Docker does, also inside continuations).
instructions=$(awk '
    BEGIN { stage = -1; pending = "" }
    /^[[:space:]]*#/ { next }
    {
        line = pending $0
        if (line ~ /\\[[:space:]]*$/) { sub(/\\[[:space:]]*$/, " ", line); pending = line; next }
        pending = ""
        sub(/^[[:space:]]+/, "", line); sub(/[[:space:]]+$/, "", line)
        if (line == "") next
        keyword = line; sub(/[[:space:]].*$/, "", keyword); keyword = toupper(keyword)
        arguments = line; sub(/^[^[:space:]]+[[:space:]]*/, "", arguments); gsub(/[[:space:]]+/, " ", arguments)
        if (keyword == "FROM") stage++
        printf "%d\t%s\t%s\n", stage, keyword, arguments
    }' "$dockerfile")

declare -A global_args=()
declare -A stage_names=()
builder_stage=""
last_stage=-1
while IFS=$'\t' read -r stage keyword arguments; do
    if [[ $keyword == ARG && $stage == -1 && $arguments == *=* ]]; then
        global_args[${arguments%%=*}]=${arguments#*=}
    elif [[ $keyword == FROM ]]; then
        last_stage=$stage
        if [[ $arguments =~ [[:space:]][Aa][Ss][[:space:]]+([^[:space:]]+)$ ]]; then
            stage_names[$stage]=${BASH_REMATCH[1]}
            [[ ${BASH_REMATCH[1]} == builder ]] && builder_stage=$stage
        fi
    fi
done <<<"$instructions"
[[ -n $builder_stage ]] || fail "the Dockerfile has no stage named 'builder'"
((last_stage > builder_stage)) || fail "the Dockerfile has no runtime stage after 'builder'"

# Instructions of one stage: "keyword<TAB>arguments" lines.
stage_instructions() {
    awk -F'\t' -v stage="$1" '$1 == stage { print $2 "\t" $3 }' <<<"$instructions"
}

# Expands ${NAME} / $NAME of the global ARGs.
expand_args() {
    local text=$1 name
    for name in "${!global_args[@]}"; do
        text=${text//\$\{$name\}/${global_args[$name]}}
        text=${text//\$$name/${global_args[$name]}}
    done
    printf '%s' "$text"
}

# --- toolchain ----------------------------------------------------------------------------------------------------
builder_image=$(expand_args "$(stage_instructions "$builder_stage" | awk -F'\t' '$1 == "FROM" { split($2, a, " "); print a[1] }')")
image_swift=$(sed -n 's/^swift:\([0-9][0-9]*\.[0-9][0-9]*\).*/\1/p' <<<"$builder_image")
host_swift=$(swift --version 2>&1 | sed -n 's/.*Swift version \([0-9][0-9]*\.[0-9][0-9]*\).*/\1/p' | head -n 1)
step "builder image $builder_image; host toolchain Swift $host_swift"
if [[ -n $image_swift && $image_swift != "$host_swift" ]]; then
    echo "dockerfile-check: warning: the image builds with Swift $image_swift, this host has Swift $host_swift;" \
        "this check cannot see differences between the two" >&2
fi

# --- builder stage ------------------------------------------------------------------------------------------------
# Makes $2 a copy of $1 that keeps unchanged files as they are, so the build in the copy stays incremental.
sync_tree() {
    local source=$1 target=$2
    if [[ -d $source ]]; then
        mkdir -p "$target"
        cp -a -u "$source/." "$target/"
        (cd "$target" && find . -depth -mindepth 1) | while IFS= read -r entry; do
            [[ -e $source/$entry || -L $source/$entry ]] || rm -rf "${target:?}/$entry"
        done
    else
        mkdir -p "$(dirname "$target")"
        cp -a -u "$source" "$target"
    fi
}

workdir=/
declare -A copied=()
apt_packages=()
run_steps=()
while IFS=$'\t' read -r keyword arguments; do
    case "$keyword" in
        WORKDIR)
            workdir=$arguments ;;
        COPY|ADD)
            [[ $arguments != *--from=* ]] || fail "builder stage: COPY --from is not replayed: $arguments"
            read -r -a words <<<"$arguments"
            sources=()
            for word in "${words[@]}"; do [[ $word == --* ]] || sources+=("$word"); done
            destination=${sources[-1]}
            unset 'sources[-1]'
            [[ $destination == /* ]] || destination=$workdir/$destination
            [[ $destination == "$workdir" || $destination == "$workdir/"* ]] \
                || fail "builder stage: COPY outside the WORKDIR is not replayed: $arguments"
            relative=${destination#"$workdir"}
            relative=${relative#/}
            relative=${relative#./}
            for pattern in "${sources[@]}"; do
                # Expanded like Docker does: relative to the context; a pattern may match nothing only if another
                # pattern of the same instruction matched something.
                matches=()
                while IFS= read -r match; do matches+=("$match"); done < <(cd "$repo_root" && compgen -G "$pattern" || true)
                for match in "${matches[@]}"; do
                    if [[ $destination == */ || ${#sources[@]} -gt 1 || $relative == "" || $relative == . ]]; then
                        target=$relative/$(basename "$match")
                    else
                        target=$relative
                    fi
                    copied[${target#/}]=$match
                done
            done
            ;;
        RUN)
            [[ $arguments != \[* ]] || fail "builder stage: exec-form RUN is not replayed: $arguments"
            if [[ $arguments == *apt-get* ]]; then
                # Package names: the words after "apt-get install" that are not options, up to the next "&&".
                packages=$(awk '{
                    for (i = 1; i <= NF; i++) {
                        if ($i == "&&" || $i == ";" || $i == "||") { collecting = 0; continue }
                        if (collecting && $i !~ /^-/) print $i
                        if ($i == "install" && i > 1 && $(i - 1) == "apt-get") collecting = 1
                    }
                }' <<<"$arguments")
                while IFS= read -r package; do [[ -n $package ]] && apt_packages+=("$package"); done <<<"$packages"
            else
                run_steps+=("$arguments")
            fi
            ;;
    esac
done < <(stage_instructions "$builder_stage")

((${#copied[@]} > 0)) || fail "builder stage copies nothing into the context"
((${#run_steps[@]} > 0)) || fail "builder stage has no build step"

if ((${#apt_packages[@]} > 0)); then
    missing=()
    for package in "${apt_packages[@]}"; do
        dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
    done
    if ((${#missing[@]} > 0)); then
        ((EUID == 0)) || fail "builder packages missing on this host: ${missing[*]} (install them or run as root)"
        step "installing builder packages ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    step "builder packages present: ${apt_packages[*]}"
fi

step "replaying COPY into ${context_copy#"$repo_root"/}: ${!copied[*]}"
mkdir -p "$context_copy"
# Drop top-level entries the Dockerfile no longer copies.
for entry in "$context_copy"/* "$context_copy"/.[!.]*; do
    [[ -e $entry ]] || continue
    name=$(basename "$entry")
    [[ -n ${copied[$name]+set} ]] || rm -rf "${entry:?}"
done
for target in "${!copied[@]}"; do
    sync_tree "$repo_root/${copied[$target]}" "$context_copy/$target"
done

# `swift build` and `swift package` in RUN steps use the check's scratch path instead of the copy's .build.
swift_with_scratch() {
    if [[ ${1:-} == build || ${1:-} == package ]]; then
        local subcommand=$1
        shift
        command swift "$subcommand" --scratch-path "$DOCKER_CHECK_SCRATCH" "$@"
    else
        command swift "$@"
    fi
}
export DOCKER_CHECK_SCRATCH=$scratch

# Points the container paths /out and the WORKDIR in $1 into the check directory (through placeholders, so
# neither replacement touches the other's result).
map_container_paths() {
    local text=$1
    text=${text//\/out/$'\001'OUT}
    [[ $workdir == / ]] || text=${text//$workdir/$'\001'WORKDIR}
    text=${text//$'\001'OUT/$out_dir}
    text=${text//$'\001'WORKDIR/$context_copy}
    printf '%s' "$text"
}

# A fresh /out: a file the builder no longer produces must not linger from an earlier run.
rm -rf "$out_dir"
mkdir -p "$out_dir"
for run_step in "${run_steps[@]}"; do
    command_text=$(map_container_paths "$run_step")
    step "RUN $run_step"
    step_started=$SECONDS
    (cd "$context_copy" && swift() { swift_with_scratch "$@"; } && eval "$command_text") \
        || fail "builder step failed: $run_step"
    echo "    ($((SECONDS - step_started)) s)"
done

# --- runtime stage ------------------------------------------------------------------------------------------------
builder_name=${stage_names[$builder_stage]}
runtime_binaries=()
entrypoint=""
cmd_subcommand=""
shipped_config=""
while IFS=$'\t' read -r keyword arguments; do
    case "$keyword" in
        COPY)
            read -r -a words <<<"$arguments"
            sources=()
            from=""
            for word in "${words[@]}"; do
                case "$word" in
                    --from=*) from=${word#--from=} ;;
                    --*) ;;
                    *) sources+=("$word") ;;
                esac
            done
            destination=${sources[-1]}
            unset 'sources[-1]'
            for source in "${sources[@]}"; do
                if [[ $from == "$builder_name" ]]; then
                    local_path=$(map_container_paths "$source")
                    [[ -e $local_path ]] || fail "runtime COPY --from=$from $source: the builder produced no such file"
                    runtime_binaries+=("$local_path")
                elif [[ -z $from ]]; then
                    [[ -e $repo_root/$source ]] || fail "runtime COPY $source: no such file in the build context"
                    [[ $destination == *.yaml ]] && shipped_config=$repo_root/$source
                else
                    fail "runtime COPY --from=$from is not checked: $arguments"
                fi
            done
            ;;
        ENTRYPOINT)
            entrypoint=$(sed -n 's/^\[ *"\([^"]*\)".*/\1/p' <<<"$arguments") ;;
        CMD)
            cmd_subcommand=$(sed -n 's/^\[ *"\([^"]*\)".*/\1/p' <<<"$arguments") ;;
    esac
done < <(stage_instructions "$last_stage")

((${#runtime_binaries[@]} > 0)) || fail "the runtime stage copies nothing from the builder"

for binary in "${runtime_binaries[@]}"; do
    name=$(basename "$binary")
    "$binary" --help >/dev/null 2>&1 || fail "$name --help failed"
    libraries=$(ldd "$binary" 2>&1) || fail "ldd $name failed: $libraries"
    if grep -q 'not found' <<<"$libraries"; then
        fail "$name has unresolved libraries:"$'\n'"$(grep 'not found' <<<"$libraries")"
    fi
    if grep -q 'libswift' <<<"$libraries"; then
        fail "$name links the Swift runtime dynamically:"$'\n'"$(grep libswift <<<"$libraries")"
    fi
    unexpected=$(awk '{ print $1 }' <<<"$libraries" | sed 's#.*/##' | grep -Ev "$runtime_libraries_pattern" || true)
    [[ -z $unexpected ]] || fail "$name needs libraries the runtime image does not install: $unexpected"
    step "$name: runs, $(wc -c <"$binary" | awk '{ printf "%.1f MB", $1 / 1048576 }'), links $(awk '{ print $1 }' <<<"$libraries" | sed 's#.*/##' | tr '\n' ' ')"
done

if [[ -n $entrypoint ]]; then
    entry_binary=$out_dir/$entrypoint
    [[ -x $entry_binary ]] || fail "ENTRYPOINT $entrypoint is not among the binaries the builder produced"
    if [[ -n $cmd_subcommand ]]; then
        "$entry_binary" "$cmd_subcommand" --help >/dev/null 2>&1 || fail "$entrypoint $cmd_subcommand --help failed (CMD)"
        step "ENTRYPOINT $entrypoint, CMD subcommand '$cmd_subcommand' exists"
    fi
    if [[ -n $shipped_config ]]; then
        check_output=$("$entry_binary" check --config "$shipped_config" 2>&1) \
            || fail "$entrypoint check --config ${shipped_config#"$repo_root"/} failed:"$'\n'"$check_output"
        step "shipped configuration ${shipped_config#"$repo_root"/} passes '$entrypoint check'"
    fi
fi

echo "dockerfile-check: OK ($((SECONDS - started)) s)"
