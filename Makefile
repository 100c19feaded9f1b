# Two commands do all the set-up on a machine that has only Swift:
#   make run    builds in release mode and runs overlay-sim's main job
#   make test   runs the whole test suite (tshark comparisons included), then each fuzz target for 60 s
#   make fuzz   runs each fuzz target for FUZZ_SECONDS (default 600; Fuzz/README.md)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_INSTALL = $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends

.PHONY: run test deps test-deps bench fuzz

FUZZ_SECONDS ?= 600

deps:
	@pkg-config --exists libpcap 2>/dev/null || { $(SUDO) apt-get update -qq && $(APT_INSTALL) libpcap-dev pkg-config; }

test-deps: deps
	@command -v tshark >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(APT_INSTALL) tshark; }

run: deps
	swift run -c release overlay-sim run

test: test-deps
	swift test
	Fuzz/fuzz.sh 60

fuzz: deps
	Fuzz/fuzz.sh $(FUZZ_SECONDS)

bench: deps
	swift run -c release overlay-sim bench
