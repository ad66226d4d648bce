#!/usr/bin/env bash
# Installs the Debian packages kefu needs, skipping what is present.
#   scripts/install-deps.sh run    what `make run` needs: build tools, libopus-dev (the Opus
#                                  codec, linked at build time), libssl-dev with pkg-config
#                                  (OpenSSL for the WebRTC gateway's DTLS) and espeak-ng
#                                  (IVR `say` nodes)
#   scripts/install-deps.sh test   plus the test peers (sipp, baresip, PostgreSQL, sox,
#                                  headless Chromium for the WebRTC gateway's browser test and,
#                                  with playwright-core in tests/web, the web chat's; Firefox ESR
#                                  for the softphone's Firefox test, driven by puppeteer-core,
#                                  which downloads no browser of its own)
#                                  and graphviz (`kefu ivr render --format svg`)
#   scripts/install-deps.sh bench  what `make bench` needs beyond `run`: sipp (sip-tester), and the
#                                  reference peers Kamailio (stateful proxy; its rtpengine, tm, rr
#                                  modules are in the base package) and rtpengine's userspace daemon
#                                  (Debian 12: `rtpengine-daemon`; its service is never started here)
# Idempotent: runs `apt-get update` once, and only when something is missing.
set -euo pipefail

profile="${1:-run}"
packages=(build-essential pkg-config ca-certificates curl libopus-dev libssl-dev espeak-ng)
if [[ "$profile" == "test" ]]; then
    packages+=(postgresql sip-tester baresip-core sox chromium firefox-esr graphviz)
elif [[ "$profile" == "bench" ]]; then
    packages+=(sip-tester kamailio rtpengine-daemon)
fi

missing=()
for pkg in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done

if ((${#missing[@]})); then
    if [[ $(id -u) -eq 0 ]]; then sudo=(); else sudo=(sudo); fi
    echo "install-deps: installing ${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
else
    echo "install-deps: all ${#packages[@]} packages present"
fi

if ! command -v cargo >/dev/null; then
    echo "install-deps: cargo not found; install Rust from https://rustup.rs" >&2
    exit 1
fi
web_tests="$(dirname "$0")/../tests/web"
if [[ "$profile" == "test" ]] && { [[ ! -d "$web_tests/node_modules/playwright-core" ]] ||
    [[ ! -d "$web_tests/node_modules/puppeteer-core" ]]; }; then
    if ! command -v npm >/dev/null; then
        echo "install-deps: npm not found; install Node.js 18 or later (e.g. apt-get install nodejs npm)" >&2
        exit 1
    fi
    echo "install-deps: installing playwright-core and puppeteer-core into tests/web (from package-lock.json)"
    npm ci --prefix "$web_tests" --no-audit --no-fund
fi
if [[ "$profile" == "test" ]] && ! cargo nextest --version >/dev/null 2>&1; then
    echo "install-deps: installing cargo-nextest"
    cargo install --locked cargo-nextest
fi
