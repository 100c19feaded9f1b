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

# The testbed suite (Tests/TestbedTests) builds scenarios in network namespaces: iproute2 (ip, bridge,
# tc), nftables, ethtool, procps (sysctl), iproute2's nstat; tcpdump to look at its captures by hand.
TESTBED_TOOLS = ip:iproute2 nft:nftables ethtool:ethtool sysctl:procps tcpdump:tcpdump

test-deps: deps
	@command -v tshark >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(APT_INSTALL) tshark; }
	@# Tests/ReportHTMLTests opens report.html in headless Chromium.
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(APT_INSTALL) chromium; }
	@missing=""; for pair in $(TESTBED_TOOLS); do command -v $${pair%%:*} >/dev/null 2>&1 || missing="$$missing $${pair##*:}"; done; \
	  [ -z "$$missing" ] || { $(SUDO) apt-get update -qq && $(APT_INSTALL) $$missing; }

run: deps
	swift run -c release overlay-sim run

test: test-deps
	swift test
	Fuzz/fuzz.sh 60

fuzz: deps
	Fuzz/fuzz.sh $(FUZZ_SECONDS)

bench: deps
	swift run -c release overlay-sim bench
