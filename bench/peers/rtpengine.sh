#!/usr/bin/env bash
# Runs rtpengine in the foreground as the benches' media reference: userspace
# only (--table=-1, no kernel forwarding), RTP on loopback, controlled over the
# ng protocol, no config file (Debian's /etc/rtpengine/rtpengine.conf is for the
# service, which the benches never start).
#   bench/peers/rtpengine.sh NG_PORT PORT_MIN PORT_MAX [THREADS]
# e.g. bench/peers/rtpengine.sh 2223 30000 39999 2
set -euo pipefail
if ! command -v rtpengine >/dev/null; then
    echo "rtpengine not found: scripts/install-deps.sh bench (Debian 12: rtpengine-daemon)" >&2
    exit 1
fi
ng_port="${1:?NG_PORT}"
port_min="${2:?PORT_MIN}"
port_max="${3:?PORT_MAX}"
threads="${4:-$(nproc)}"
exec rtpengine --config-file=none --foreground --log-stderr --log-level=4 \
    --table=-1 --interface=127.0.0.1 --listen-ng="127.0.0.1:$ng_port" \
    --port-min="$port_min" --port-max="$port_max" --num-threads="$threads" \
    --timeout=60 --delete-delay=0
