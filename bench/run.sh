#!/usr/bin/env bash
# Runs kefu's benchmarks and writes their figures to bench/results/.
# Server benchmarks use the release build; crate micro-benchmarks use criterion
# (`cargo bench -p kefu-media` etc., not run here); the ACD at scale is the
# `scale` bench of kefu-acd, which prints its own table.
#
#   bench/run.sh                  modest sizes (a few minutes): startup, registrations,
#                                 relay at 100 and 500 pairs, calls at 10, 25 and 50 per second,
#                                 the ACD with 2,000 agents and 20,000 waiting contacts,
#                                 chat with 1,000 visitors at 1,000 messages/s,
#                                 WebRTC with 50 and 200 browser legs for 5 s,
#                                 the wallboard with 100 and 500 agents going ready in a burst
#   bench/run.sh --full           the sizes of issues 5 to 9: relay at 100, 500, 1000, 2000
#                                 pairs for 10 s, calls ramping 50 ... 500 per second, the ACD
#                                 with 10,000 agents and 100,000 waiting contacts; issue 8's
#                                 chat: 1,000, 5,000 and 10,000 visitors at 5,000 messages/s;
#                                 issue 9's WebRTC: 50, 200 and 500 browser legs for 10 s, and
#                                 wallboard: 500 and 2,000 agents, 20 viewers
#   bench/run.sh --only NAME      one of startup, register, relay, calls, acd, chat, webrtc, wallboard
# Sizes can also be set one by one: RELAY_PAIRS=100,1000 RELAY_SECONDS=10
# CALL_RATES=50,100 CALL_STEP=20 CALL_SECONDS=10 RUNS=20 REGISTER_CALLS=20000
# ACD_AGENTS=10000 ACD_CONTACTS=100000 ACD_EVENTS=200000 ACD_NAIVE_EVENTS=10000
# CHAT_VISITORS=1000,5000 CHAT_RATE=5000 CHAT_SECONDS=10 WEBRTC_LEGS=50,200,500 WEBRTC_SECONDS=10
# WALLBOARD_AGENTS=500,2000 WALLBOARD_VIEWERS=20;
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
        --only) only="${2:?--only needs startup, register, relay, calls, acd, chat, webrtc or wallboard}"; shift ;;
        *) echo "bench/run.sh: unknown option $1 (--full, --only NAME)" >&2; exit 2 ;;
    esac
    shift
done
if $full; then
    : "${RELAY_PAIRS:=100,500,1000,2000}" "${RELAY_SECONDS:=10}"
    : "${CALL_RATES:=50,100,200,300,400,500}" "${CALL_STEP:=20}"
    : "${ACD_AGENTS:=10000}" "${ACD_CONTACTS:=100000}" "${ACD_EVENTS:=200000}"
    : "${CHAT_VISITORS:=1000,5000,10000}" "${CHAT_RATE:=5000}"
    : "${WEBRTC_LEGS:=50,200,500}" "${WEBRTC_SECONDS:=10}"
    : "${WALLBOARD_AGENTS:=500,2000}"
else
    : "${RELAY_PAIRS:=100,500}" "${RELAY_SECONDS:=5}"
    : "${CALL_RATES:=10,25,50}" "${CALL_STEP:=10}"
    : "${ACD_AGENTS:=2000}" "${ACD_CONTACTS:=20000}" "${ACD_EVENTS:=50000}"
    : "${CHAT_VISITORS:=1000}" "${CHAT_RATE:=1000}"
    : "${WEBRTC_LEGS:=50,200}" "${WEBRTC_SECONDS:=5}"
    : "${WALLBOARD_AGENTS:=100,500}"
fi
: "${CALL_SECONDS:=10}" "${RUNS:=20}" "${REGISTER_CALLS:=20000}" "${ACD_NAIVE_EVENTS:=10000}"
: "${CHAT_SECONDS:=10}" "${WALLBOARD_VIEWERS:=20}"
# Absolute: the load generators start kefu from directories of their own.
target_dir="$(realpath -m "${CARGO_TARGET_DIR:-target}")"
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
if runs acd; then
    # cargo runs a bench binary in its package's directory: the JSON path is absolute.
    cargo bench -p kefu-acd --bench scale -- --agents "$ACD_AGENTS" --contacts "$ACD_CONTACTS" \
        --events "$ACD_EVENTS" --naive-events "$ACD_NAIVE_EVENTS" --json "$PWD/bench/results/acd.json"
fi
if runs chat; then
    cargo build --release --bin kefu --example chat_load
    # Every visitor is a socket on both sides.
    ulimit -n "$(ulimit -Hn)"
    "$target_dir/release/examples/chat_load" --kefu "$target_dir/release/kefu" \
        --visitors "$CHAT_VISITORS" --rate "$CHAT_RATE" --seconds "$CHAT_SECONDS" \
        --json bench/results/chat.json
fi
if runs webrtc; then
    cargo build --release -p kefu-media --example webrtc_load
    # Six sockets per leg: four of its gateway, two of its browser.
    ulimit -n "$(ulimit -Hn)"
    "$target_dir/release/examples/webrtc_load" --legs "$WEBRTC_LEGS" --seconds "$WEBRTC_SECONDS" \
        --json bench/results/webrtc.json
fi
if runs wallboard; then
    cargo build --release --bin kefu --example wallboard_load
    "$target_dir/release/examples/wallboard_load" --kefu "$target_dir/release/kefu" \
        --agents "$WALLBOARD_AGENTS" --viewers "$WALLBOARD_VIEWERS" --json bench/results/wallboard.json
fi
echo "bench: done, $(uptime)"
