# Turnout: the two commands a newcomer needs are `make run` and `make test`.
SWIFT ?= swift
PYTHON ?= python3
CONFIG ?= config/turnout.yaml
BLUE_PORT ?= 3000
GREEN_PORT ?= 3001

.PHONY: run test deps build release unit-test integration-test sanitize-thread sanitize-address fuzz bench \
	docker-check clean

# Debian packages the build and the tests need; installed only when missing (unshare and mount run the proxy
# with a resolv.conf of the tests' own in the tests of targets by name).
APT_PACKAGES := libssl-dev pkg-config curl util-linux mount

deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	@$(PYTHON) -c "import pytest, requests, schemathesis, prometheus_client, yaml, dnslib" 2>/dev/null || \
		$(PYTHON) -m pip install --quiet -r Tests/integration/requirements.txt || \
		$(PYTHON) -m pip install --quiet --break-system-packages -r Tests/integration/requirements.txt

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# Builds release, starts the blue and green demo backends and the proxy in the foreground.
run: release
	@scripts/run-demo.sh "$(CONFIG)" $(BLUE_PORT) $(GREEN_PORT)

unit-test: build
	$(SWIFT) test

integration-test: build
	TURNOUT_BIN_DIR=$$($(SWIFT) build --show-bin-path) $(PYTHON) -m pytest Tests/integration -q

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
