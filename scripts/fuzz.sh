#!/usr/bin/env bash
# Runs every cargo-fuzz target of every crate (`*/fuzz/`) for N seconds each
# (default 60; `make test` runs each for 10 s, `make fuzz` for 60 s). No nightly toolchain is needed: RUSTC_BOOTSTRAP=1 lets the stable
# one build with the sanitizer flags cargo-fuzz passes.
#   scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz"
    cargo install --locked cargo-fuzz
fi
export RUSTC_BOOTSTRAP=1
# One target dir for every fuzz project, so that their common dependencies
# (libFuzzer, rsip, ...) are built once; `cargo clean` removes it.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target/fuzz}"

for dir in */fuzz; do
    [[ -f "$dir/Cargo.toml" ]] || continue
    crate="${dir%/fuzz}"
    for target in $(cd "$crate" && cargo fuzz list); do
        corpus="$dir/corpus/$target"
        mkdir -p "$corpus"
        # Seeds of the target's own (seeds/TARGET/), else the crate's (seeds/).
        seeds=()
        if [[ -d "$dir/seeds/$target" ]]; then
            seeds=("$dir/seeds/$target")
        elif [[ -d "$dir/seeds" ]]; then
            seeds=("$dir/seeds")
        fi
        echo "== fuzz $crate/$target for ${seconds}s"
        (cd "$crate" && cargo fuzz run "$target" "../$corpus" "${seeds[@]/#/../}" -- \
            -max_total_time="$seconds" -print_final_stats=1 2>&1 | grep -E "^(stat::number_of_executed_units|stat::new_units_added|==|SUMMARY|Done)" || true)
        if ls "$dir/artifacts/$target"/crash-* >/dev/null 2>&1; then
            echo "fuzz: $crate/$target found a crash: $(ls "$dir/artifacts/$target"/crash-*)" >&2
            exit 1
        fi
    done
done
