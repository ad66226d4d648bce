#!/usr/bin/env bash
# Runs kefu's benchmarks and writes their figures to bench/results/.
# Server benchmarks use the release build; crate benchmarks use criterion.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --bin kefu
python3 bench/startup.py --binary target/release/kefu --runs "${RUNS:-20}"
