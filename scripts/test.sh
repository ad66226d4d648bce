#!/usr/bin/env bash
# The whole test suite, as `make test` runs it: install the peers, check
# formatting and lints, start a throwaway PostgreSQL, run every test, then
# every fuzz target for TEST_FUZZ_SECONDS (default 10) each.
set -euo pipefail
cd "$(dirname "$0")/.."
TEST_FUZZ_SECONDS="${TEST_FUZZ_SECONDS:-10}"
# The suite builds everything once: incremental-compilation caches would only
# double the target dir's size on disk (a full one has filled a CI disk).
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

scripts/install-deps.sh test

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

pgdir=$(mktemp -d /tmp/kefu-test-pg.XXXXXX)
trap 'scripts/test-postgres.sh stop "$pgdir"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
KEFU_TEST_DATABASE_URL=$(scripts/test-postgres.sh start "$pgdir" "$port")
export KEFU_TEST_DATABASE_URL
echo "== PostgreSQL for tests at $KEFU_TEST_DATABASE_URL"

echo "== cargo nextest run --workspace"
cargo nextest run --workspace --no-fail-fast

echo "== fuzz: every cargo-fuzz target for ${TEST_FUZZ_SECONDS}s"
scripts/fuzz.sh "$TEST_FUZZ_SECONDS"
