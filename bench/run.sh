#!/usr/bin/env bash
# Runs kefu's benchmarks and writes their figures to bench/results/.
# Server benchmarks use the release build; crate benchmarks use criterion
# (`cargo bench -p kefu-media` etc., not run here).
#
#   bench/run.sh                  modest sizes (a few minutes): startup, registrations,
#                                 relay at 100 and 500 pairs, calls at 10, 25 and 50 per second
#   bench/run.sh --full           the sizes of issues 5 and 6: relay at 100, 500, 1000, 2000
#                                 pairs for 10 s, calls ramping 50 ... 500 per second
#   bench/run.sh --only NAME      one of startup, register, relay, calls
# Sizes can also be set one by one: RELAY_PAIRS=100,1000 RELAY_SECONDS=10
# CALL_RATES=50,100 CALL_STEP=20 CALL_SECONDS=10 RUNS=20 REGISTER_CALLS=20000;
# CALL_RECORD=1 has kefu record its bridged calls (off by default, as the reference).
# Needs the peers of scripts/install-deps.sh bench (sipp, Kamailio, rtpengine).
# Figures are measured on whatever else the machine is doing: the load average
# is printed before and after; compare figures from the same run only.
set -euo pipefail
cd "$(dirname "$0")/.."

only=""
full=false
while (($#)); do
    case "$1" in
        --full) full=true ;;
        --only) only="${2:?--only needs startup, register, relay or calls}"; shift ;;
        *) echo "bench/run.sh: unknown option $1 (--full, --only NAME)" >&2; exit 2 ;;
    esac
    shift
done
if $full; then
    : "${RELAY_PAIRS:=100,500,1000,2000}" "${RELAY_SECONDS:=10}"
    : "${CALL_RATES:=50,100,200,300,400,500}" "${CALL_STEP:=20}"
else
    : "${RELAY_PAIRS:=100,500}" "${RELAY_SECONDS:=5}"
    : "${CALL_RATES:=10,25,50}" "${CALL_STEP:=10}"
fi
: "${CALL_SECONDS:=10}" "${RUNS:=20}" "${REGISTER_CALLS:=20000}"
target_dir="${CARGO_TARGET_DIR:-target}"
mkdir -p bench/results
runs() { [[ -z "$only" || "$only" == "$1" ]]; }

echo "bench: $(nproc) cores, $(uptime)"
if runs startup || runs register || runs calls; then
    cargo build --release --bin kefu
fi
if runs startup; then
    python3 bench/startup.py --binary "$target_dir/release/kefu" --runs "$RUNS"
fi
if runs register; then
    command -v sipp >/dev/null || { echo "bench: sipp is missing; run scripts/install-deps.sh bench" >&2; exit 1; }
    python3 bench/register.py --binary "$target_dir/release/kefu" --calls "$REGISTER_CALLS"
fi
if runs relay; then
    cargo build --release -p kefu-media --example relay_load
    "$target_dir/release/examples/relay_load" --pairs "$RELAY_PAIRS" --seconds "$RELAY_SECONDS" \
        --json bench/results/relay.json
fi
if runs calls; then
    python3 bench/calls.py --kefu "$target_dir/release/kefu" --rates "$CALL_RATES" \
        --step "$CALL_STEP" --call-seconds "$CALL_SECONDS" ${CALL_RECORD:+--record} \
        --out bench/results/calls.json
fi
echo "bench: done, $(uptime)"
