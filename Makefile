# Turnout: the two commands a newcomer needs are `make run` and `make test`.
SWIFT ?= swift
PYTHON ?= python3
CONFIG ?= config/turnout.yaml
BLUE_PORT ?= 3000
GREEN_PORT ?= 3001
SPARE_PORT ?= 3002

.PHONY: run test deps test-deps build release unit-test integration-test sanitize-thread sanitize-address fuzz \
	bench bench-deploy bench-fleet bench-dashboard docker-check install uninstall clean

# Debian packages the build needs, and those only the tests need; installed only when missing (unshare and mount
# run the proxy with a resolv.conf of the tests' own in the tests of targets by name, and the README's tour in a
# network namespace; strace and systemd-analyze check the systemd unit's sandbox; tmux gives `turnout deploy --watch`
# a terminal whose screen the tests read back; chromium is the browser the dashboard's tests drive with Playwright, which
# is told where it is and downloads no browser of its own; etcd-server is the etcd a fleet shares, which the fleet
# tests start themselves on loopback ports with data directories of their own, whatever the package's service does).
APT_PACKAGES := libssl-dev pkg-config curl
APT_TEST_PACKAGES := python3-venv util-linux mount strace systemd iproute2 tmux chromium etcd-server

# The test tools (Tests/integration/requirements.txt) live in a virtual environment of the project's own, never in
# the system's Python; running the proxy needs none of them.
VENV := .venv
VENV_PYTHON := $(VENV)/bin/python

# Installs the Debian packages named in $(1) that are missing.
apt_install = missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

deps:
	@$(call apt_install,$(APT_PACKAGES))

test-deps: deps $(VENV)/.requirements

# Made again when the requirements change (the stamp is older than the file).
$(VENV)/.requirements: Tests/integration/requirements.txt
	@$(call apt_install,$(APT_TEST_PACKAGES))
	@[ -x $(VENV_PYTHON) ] || $(PYTHON) -m venv $(VENV)
	$(VENV_PYTHON) -m pip install --quiet --disable-pip-version-check -r Tests/integration/requirements.txt
	@touch $@

# The dashboard's files (dashboard/) compiled into the binary as Swift text; the script rewrites the file only when
# what it makes differs, and DashboardAssetsTests fails when the committed file is not what dashboard/ makes.
DASHBOARD_ASSETS := Sources/TurnoutControl/DashboardAssets.swift
$(DASHBOARD_ASSETS): $(wildcard dashboard/*) scripts/embed-dashboard.py
	$(PYTHON) scripts/embed-dashboard.py

build: deps $(DASHBOARD_ASSETS)
	$(SWIFT) build

release: deps $(DASHBOARD_ASSETS)
	$(SWIFT) build -c release

# Builds release, starts the blue and green demo backends, a spare one in no group (blue-2) and the proxy in the
# foreground.
run: release
	@scripts/run-demo.sh "$(CONFIG)" $(BLUE_PORT) $(GREEN_PORT) $(SPARE_PORT)

unit-test: build
	$(SWIFT) test

integration-test: build test-deps
	TURNOUT_BIN_DIR=$$($(SWIFT) build --show-bin-path) $(VENV_PYTHON) -m pytest Tests/integration -q

test: unit-test integration-test

# The unit tests under ThreadSanitizer and AddressSanitizer (CI runs both after `make test`), each build in a
# scratch path of its own. The Swift backtracer is off: the sanitizer prints the stacks, and the backtracer
# trips AddressSanitizer itself. The suppressions in .ci/ name reports that are not about the project's code.
sanitize-thread: deps
	SWIFT_BACKTRACE=enable=no TSAN_OPTIONS=suppressions=$(CURDIR)/.ci/tsan-suppressions.txt \
		$(SWIFT) test --sanitize=thread --scratch-path .build-tsan

sanitize-address: deps
	SWIFT_BACKTRACE=enable=no LSAN_OPTIONS=suppressions=$(CURDIR)/.ci/lsan-suppressions.txt \
		$(SWIFT) test --sanitize=address --scratch-path .build-asan

# libFuzzer on the request head parser, the response head parser and the chunked decoder, FUZZ_SECONDS each
# (FUZZ_TARGETS to pick some): see Fuzz/run.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
fuzz: deps
	SWIFT=$(SWIFT) Fuzz/run $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# benchmarks/run (Turnout against HAProxy and nginx), then benchmarks/deploy (a canary release through Turnout under
# load, and its automatic rollback), then benchmarks/fleet (switches through one of three instances sharing a
# 3-member etcd cluster, under load on all three). BENCH_ARGS go to the first; the others take DEPLOY_BENCH_ARGS and
# FLEET_BENCH_ARGS, by default the options of BENCH_ARGS they share (--save, --quick, --no-build). `make bench-deploy`
# and `make bench-fleet` run one alone.
DEPLOY_BENCH_ARGS ?= $(filter --save --quick --no-build,$(BENCH_ARGS))
FLEET_BENCH_ARGS ?= $(filter --save --quick --no-build,$(BENCH_ARGS))

bench:
	benchmarks/run $(BENCH_ARGS)
	benchmarks/deploy $(DEPLOY_BENCH_ARGS)
	benchmarks/fleet $(FLEET_BENCH_ARGS)

bench-deploy:
	benchmarks/deploy $(DEPLOY_BENCH_ARGS)

bench-fleet:
	benchmarks/fleet $(FLEET_BENCH_ARGS)

# The dashboard's weight and its first render in headless chromium (benchmarks/dashboard; DASHBOARD_BENCH_ARGS).
DASHBOARD_BENCH_ARGS ?=
bench-dashboard:
	benchmarks/dashboard $(DASHBOARD_BENCH_ARGS)

docker-check:
	scripts/dockerfile-check.sh

# `make install`: the release binary, the systemd unit and a default configuration (kept when one is there already),
# under DESTDIR (for packaging; empty installs for real). BIN_DIR=<dir> installs binaries built elsewhere instead of
# building the release first.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= /etc
STATEDIR ?= /var/lib/turnout
CONFIG_INSTALLED := $(SYSCONFDIR)/turnout/turnout.yaml
BIN_DIR ?=

install: $(if $(BIN_DIR),,release)
	install -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(UNITDIR)" "$(DESTDIR)$(SYSCONFDIR)/turnout"
	install -m 0755 "$(or $(BIN_DIR),$$($(SWIFT) build -c release --show-bin-path))/turnout" "$(DESTDIR)$(BINDIR)/turnout"
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@CONFIG@|$(CONFIG_INSTALLED)|g' dist/systemd/turnout.service.in \
		> "$(DESTDIR)$(UNITDIR)/turnout.service"
	chmod 0644 "$(DESTDIR)$(UNITDIR)/turnout.service"
	@if [ -e "$(DESTDIR)$(CONFIG_INSTALLED)" ]; then \
		echo "kept $(DESTDIR)$(CONFIG_INSTALLED)"; \
	else \
		sed -e 's|^state_dir: .*|state_dir: $(STATEDIR)|' config/turnout.yaml > "$(DESTDIR)$(CONFIG_INSTALLED)" && \
		chmod 0644 "$(DESTDIR)$(CONFIG_INSTALLED)" && echo "installed $(DESTDIR)$(CONFIG_INSTALLED)"; \
	fi

# Removes the binary and the unit; the configuration and the state stay.
uninstall:
	rm -f "$(DESTDIR)$(BINDIR)/turnout" "$(DESTDIR)$(UNITDIR)/turnout.service"

clean:
	rm -rf .build .build-*
