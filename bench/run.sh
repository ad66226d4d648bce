#!/usr/bin/env bash
# Runs kefu's benchmarks and writes their figures to bench/results/.
# Server benchmarks use the release build; crate benchmarks use criterion.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --bin kefu
kefu="${CARGO_TARGET_DIR:-target}/release/kefu"
python3 bench/startup.py --binary "$kefu" --runs "${RUNS:-20}"
command -v sipp >/dev/null || { echo "bench: sipp is missing; run scripts/install-deps.sh test" >&2; exit 1; }
python3 bench/register.py --binary "$kefu" --calls "${REGISTER_CALLS:-20000}"
