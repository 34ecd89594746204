# Turnout: the two commands a newcomer needs are `make run` and `make test`.
SWIFT ?= swift
PYTHON ?= python3
CONFIG ?= config/turnout.yaml
BLUE_PORT ?= 3000
GREEN_PORT ?= 3001

.PHONY: run test deps test-deps build release unit-test integration-test sanitize-thread sanitize-address fuzz \
	bench docker-check clean

# Debian packages the build needs, and those only the tests need; installed only when missing (unshare and mount
# run the proxy with a resolv.conf of the tests' own in the tests of targets by name).
APT_PACKAGES := libssl-dev pkg-config curl
APT_TEST_PACKAGES := python3-venv util-linux mount

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

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# Builds release, starts the blue and green demo backends and the proxy in the foreground.
run: release
	@scripts/run-demo.sh "$(CONFIG)" $(BLUE_PORT) $(GREEN_PORT)

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

bench:
	benchmarks/run $(BENCH_ARGS)

docker-check:
	scripts/dockerfile-check.sh

clean:
	rm -rf .build .build-*
