#!/usr/bin/env bash
# Compares Turnout with HAProxy and nginx as HTTP/1.1 keep-alive reverse proxies in front of the same backend
# (one nginx serving a small fixed body), one worker each, measured with wrk in interleaved rounds.
# See benchmarks/README.md.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: benchmarks/compare.sh [--no-build] [--only LIST] [--keep] [--output FILE]

  --no-build      use the existing .build/release/turnout instead of building it
  --only LIST     comma-separated subset of: turnout,haproxy,nginx (default: all three)
  --keep          keep the work directory (configs, logs, raw wrk output) and print its path
  --output FILE   also write the markdown report to FILE

environment: DURATION (s per run, 10), ROUNDS (3), CONNECTIONS (64), WARMUP (s, 2),
             TURNOUT_BIN (default .build/release/turnout)
EOF
}

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
duration=${DURATION:-10}
rounds=${ROUNDS:-3}
connections=${CONNECTIONS:-64}
warmup=${WARMUP:-2}
turnout_bin=${TURNOUT_BIN:-$repo_root/.build/release/turnout}
build=1
keep=0
output=""
proxies=(turnout haproxy nginx)

while (($# > 0)); do
    case "$1" in
        --no-build) build=0 ;;
        --keep) keep=1 ;;
        --only)
            [[ $# -ge 2 ]] || { usage >&2; exit 2; }
            IFS=',' read -r -a proxies <<<"$2"
            shift ;;
        --output)
            [[ $# -ge 2 ]] || { usage >&2; exit 2; }
            output=$2
            shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "compare.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
for proxy in "${proxies[@]}"; do
    case "$proxy" in
        turnout|haproxy|nginx) ;;
        *) echo "compare.sh: unknown proxy '$proxy' in --only" >&2; exit 2 ;;
    esac
done

declare -A proxy_port=([turnout]=8180 [haproxy]=8181 [nginx]=8182)
backend_port=3100
turnout_admin_port=9981
backend_body="Hello World! from blue"

log() { printf '==> %s\n' "$*" >&2; }

# --- processes and cleanup ------------------------------------------------------------------------------------

work=$(mktemp -d "${TMPDIR:-/tmp}/turnout-bench.XXXXXX")
declare -A pids=()

cleanup() {
    local name
    for name in "${!pids[@]}"; do
        kill "${pids[$name]}" 2>/dev/null || true
    done
    for name in "${!pids[@]}"; do
        wait "${pids[$name]}" 2>/dev/null || true
    done
    if ((keep)); then
        echo "work directory kept: $work" >&2
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Starts "$@" in the background as process $1 with its output in $work/$1.log.
start_process() {
    local name=$1
    shift
    "$@" >"$work/$name.log" 2>&1 &
    pids[$name]=$!
    echo "$*" >"$work/$name.command"
}

# Waits until 127.0.0.1:$2 accepts connections while process $1 is alive. Fails after 10 s or when it died.
wait_for_port() {
    local name=$1 port=$2 attempt
    for attempt in $(seq 1 100); do
        if ! kill -0 "${pids[$name]}" 2>/dev/null; then
            return 1
        fi
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# Says why process $1 is not usable, with the end of its log.
report_start_failure() {
    local name=$1 what=$2
    {
        echo "compare.sh: $name $what"
        echo "  command: $(cat "$work/$name.command")"
        if ! kill -0 "${pids[$name]}" 2>/dev/null; then
            local status=0
            wait "${pids[$name]}" 2>/dev/null || status=$?
            echo "  exited with status $status"
        fi
        echo "  last lines of its output:"
        tail -n 15 "$work/$name.log" | sed 's/^/    /'
    } >&2
}

# --- tools ----------------------------------------------------------------------------------------------------

export PATH="$PATH:/usr/sbin:/sbin"

ensure_tools() {
    local missing=() tool
    for tool in wrk haproxy nginx curl; do
        command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
    done
    ((${#missing[@]} == 0)) && return 0
    log "installing ${missing[*]}"
    local sudo=()
    if ((EUID != 0)); then
        command -v sudo >/dev/null 2>&1 || { echo "compare.sh: need root or sudo to install ${missing[*]}" >&2; exit 1; }
        sudo=(sudo)
    fi
    # Keep the packages' init scripts from starting system-wide nginx/haproxy daemons during the install.
    local created_policy=0
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee /usr/sbin/policy-rc.d >/dev/null
        "${sudo[@]}" chmod +x /usr/sbin/policy-rc.d
        created_policy=1
    fi
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    if ((created_policy)); then
        "${sudo[@]}" rm -f /usr/sbin/policy-rc.d
    fi
}

ensure_tools

contains() {
    local wanted=$1 item
    shift
    for item in "$@"; do [[ $item == "$wanted" ]] && return 0; done
    return 1
}

if contains turnout "${proxies[@]}" && ((build)); then
    log "building turnout (release)"
    (cd "$repo_root" && swift build -c release --product turnout) >&2
fi

# --- configurations -------------------------------------------------------------------------------------------

mkdir -p "$work/nginx-backend/logs" "$work/nginx-proxy/logs" "$work/turnout-state"

cat >"$work/nginx-backend/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $work/nginx-backend/nginx.pid;
error_log $work/nginx-backend/logs/error.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
    server {
        listen 127.0.0.1:$backend_port backlog=4096;
        location / {
            default_type text/plain;
            return 200 "$backend_body\n";
        }
    }
}
EOF

cat >"$work/nginx-proxy/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $work/nginx-proxy/nginx.pid;
error_log $work/nginx-proxy/logs/error.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
    upstream blue {
        server 127.0.0.1:$backend_port;
        keepalive 64;
        keepalive_requests 10000000;
    }
    server {
        listen 127.0.0.1:${proxy_port[nginx]} backlog=4096;
        location / {
            proxy_pass http://blue;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF

cat >"$work/haproxy.cfg" <<EOF
global
    nbthread 1
    maxconn 4000

defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 300s

frontend production
    bind 127.0.0.1:${proxy_port[haproxy]}
    default_backend blue

backend blue
    server blue1 127.0.0.1:$backend_port
EOF

cat >"$work/turnout.yaml" <<EOF
workers: 1
state_dir: $work/turnout-state
admin:
  bind: 127.0.0.1:$turnout_admin_port
listeners:
  production: { bind: 127.0.0.1:${proxy_port[turnout]}, forward: { blue: 100 } }
target_groups:
  blue:
    targets: [127.0.0.1:$backend_port]
    health_check: { path: /, interval: 5s }
EOF

# --- start ----------------------------------------------------------------------------------------------------

for port in "$backend_port" "${proxy_port[@]}"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "compare.sh: port $port is already in use; stop whatever listens there first" >&2
        exit 1
    fi
done

log "starting backend nginx on 127.0.0.1:$backend_port"
start_process backend nginx -p "$work/nginx-backend" -e "$work/nginx-backend/logs/error.log" \
    -c "$work/nginx-backend/nginx.conf"
if ! wait_for_port backend "$backend_port"; then
    report_start_failure backend "did not start"
    exit 1
fi

failed=()
active=()
for proxy in "${proxies[@]}"; do
    port=${proxy_port[$proxy]}
    case "$proxy" in
        turnout)
            if [[ ! -x $turnout_bin ]]; then
                echo "compare.sh: turnout binary not found at $turnout_bin (build it or drop --no-build)" >&2
                failed+=(turnout)
                continue
            fi
            start_process turnout "$turnout_bin" serve --config "$work/turnout.yaml" ;;
        haproxy)
            haproxy -c -q -f "$work/haproxy.cfg"
            start_process haproxy haproxy -db -f "$work/haproxy.cfg" ;;
        nginx)
            start_process nginx nginx -p "$work/nginx-proxy" -e "$work/nginx-proxy/logs/error.log" \
                -c "$work/nginx-proxy/nginx.conf" ;;
    esac
    log "starting $proxy on 127.0.0.1:$port"
    if ! wait_for_port "$proxy" "$port"; then
        report_start_failure "$proxy" "did not start listening on 127.0.0.1:$port within 10 s"
        failed+=("$proxy")
        continue
    fi
    # Through the proxy, the backend's body must come back exactly.
    answer=$(curl -sS --max-time 5 "http://127.0.0.1:$port/" 2>&1) || true
    if [[ $answer != "$backend_body" ]]; then
        report_start_failure "$proxy" "listens but does not proxy: GET / answered '$(head -n 1 <<<"$answer" | cut -c1-120)'"
        failed+=("$proxy")
        kill "${pids[$proxy]}" 2>/dev/null || true
        continue
    fi
    active+=("$proxy")
done

if ((${#active[@]} == 0)); then
    echo "compare.sh: no proxy is usable; nothing to measure" >&2
    exit 1
fi

# --- measure --------------------------------------------------------------------------------------------------

wrk_args=(-t1 "-c$connections" "-d${duration}s" --latency)

for proxy in "${active[@]}"; do
    log "warming up $proxy (${warmup}s)"
    wrk -t1 "-c$connections" "-d${warmup}s" "http://127.0.0.1:${proxy_port[$proxy]}/" >/dev/null
done

# Prints a wrk latency figure (e.g. 312.00us, 1.20ms, 1.01s) in milliseconds.
to_ms() {
    awk -v value="$1" 'BEGIN {
        unit = value; sub(/^[0-9.]+/, "", unit); number = substr(value, 1, length(value) - length(unit)) + 0
        if (unit == "us") number /= 1000; else if (unit == "s") number *= 1000; else if (unit == "m") number *= 60000
        printf "%.3f", number
    }'
}

declare -A rps_list=() p50_list=() p99_list=() error_list=()
for round in $(seq 1 "$rounds"); do
    for proxy in "${active[@]}"; do
        result="$work/wrk-$proxy-$round.txt"
        log "round $round/$rounds: $proxy"
        wrk "${wrk_args[@]}" "http://127.0.0.1:${proxy_port[$proxy]}/" >"$result"
        rps=$(awk '/^Requests\/sec:/ { print $2 }' "$result")
        p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$result")")
        p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$result")")
        errors=$(awk '/Non-2xx or 3xx responses:/ { total += $NF }
                      /Socket errors:/ { gsub(/,/, ""); total += $4 + $6 + $8 + $10 }
                      END { print total + 0 }' "$result")
        rps_list[$proxy]+="$rps "
        p50_list[$proxy]+="$p50 "
        p99_list[$proxy]+="$p99 "
        error_list[$proxy]=$(( ${error_list[$proxy]:-0} + errors ))
    done
done

median() {
    tr ' ' '\n' <<<"$1" | awk 'NF' | sort -g | awk '{ v[NR] = $1 } END {
        if (NR % 2) printf "%.3f", v[(NR + 1) / 2]; else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }'; }

# --- report ---------------------------------------------------------------------------------------------------

declare -A rps_median=() p50_median=() p99_median=()
for proxy in "${active[@]}"; do
    rps_median[$proxy]=$(median "${rps_list[$proxy]}")
    p50_median[$proxy]=$(median "${p50_list[$proxy]}")
    p99_median[$proxy]=$(median "${p99_list[$proxy]}")
done

report() {
    echo "## Proxy comparison: GET / through one worker, keep-alive on both sides"
    echo
    echo "$(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), $(uname -sr)," \
        "$rounds interleaved rounds of ${duration}s, $connections connections; medians over the rounds."
    echo
    echo "| proxy | req/s | p50 ms | p99 ms | req/s vs HAProxy | p99 vs HAProxy | errors | req/s per round |"
    echo "|---|---:|---:|---:|---:|---:|---:|---|"
    local proxy base_rps="" base_p99=""
    if contains haproxy "${active[@]}"; then
        base_rps=${rps_median[haproxy]}
        base_p99=${p99_median[haproxy]}
    fi
    for proxy in "${active[@]}"; do
        printf '| %s | %.0f | %s | %s | %s | %s | %s | %s |\n' "$proxy" "${rps_median[$proxy]}" \
            "${p50_median[$proxy]}" "${p99_median[$proxy]}" \
            "$([[ -n $base_rps ]] && ratio "${rps_median[$proxy]}" "$base_rps" || echo -)" \
            "$([[ -n $base_p99 ]] && ratio "${p99_median[$proxy]}" "$base_p99" || echo -)" \
            "${error_list[$proxy]}" "$(echo "${rps_list[$proxy]}" | xargs)"
    done
    for proxy in "${failed[@]}"; do
        echo "| $proxy | failed to start or to proxy (see messages above) | | | | | | |"
    done
    echo
    echo "Versions: $(haproxy -v 2>/dev/null | head -n 1 | awk '{ print $1, $2, $3 }');" \
        "$(nginx -v 2>&1 | sed 's/^nginx version: //'); $(wrk -v 2>&1 | head -n 1 | awk '{ print $1, $2 }')"
    echo
    echo "Commands (configs generated by benchmarks/compare.sh; --keep keeps them):"
    echo
    echo '```'
    echo "backend:  $(cat "$work/backend.command")"
    for proxy in "${active[@]}"; do
        printf '%-9s %s\n' "$proxy:" "$(cat "$work/$proxy.command")"
    done
    echo "client:   wrk ${wrk_args[*]} http://127.0.0.1:<port>/   (turnout 8180, haproxy 8181, nginx 8182)"
    echo "run:      DURATION=$duration ROUNDS=$rounds CONNECTIONS=$connections WARMUP=$warmup" \
        "benchmarks/compare.sh --only $(IFS=,; echo "${proxies[*]}")"
    echo '```'
}

report | tee ${output:+"$output"}

if ((${#failed[@]} > 0)); then
    echo "compare.sh: not measured: ${failed[*]}" >&2
    exit 1
fi
