# kefu — the two commands: `make run` and `make test`. See README.md.

DATA_DIR ?= ./data
CARGO    ?= cargo

.PHONY: run build test bench fuzz deps clean

## run: install what is missing, build release, start kefu with the demo tenant
run:
	scripts/install-deps.sh run
	$(CARGO) build --release --bin kefu
	./target/release/kefu serve --demo --data-dir $(DATA_DIR)

## build: debug build of everything
build:
	$(CARGO) build --workspace

## test: install the test peers, then fmt, clippy, every test (unit + integration)
##       and every fuzz target for TEST_FUZZ_SECONDS (default 10) each
TEST_FUZZ_SECONDS ?= 10
test:
	TEST_FUZZ_SECONDS=$(TEST_FUZZ_SECONDS) scripts/test.sh

## bench: benchmarks in bench/ against Kamailio + rtpengine (figures printed and
##        written to bench/results/); BENCH_FLAGS=--full for the issues' sizes
bench:
	scripts/install-deps.sh bench
	bench/run.sh $(BENCH_FLAGS)

## fuzz: every cargo-fuzz target for FUZZ_SECONDS each (default 60)
FUZZ_SECONDS ?= 60
fuzz:
	scripts/fuzz.sh $(FUZZ_SECONDS)

## deps: install the system packages for tests without running them
deps:
	scripts/install-deps.sh test

clean:
	$(CARGO) clean
