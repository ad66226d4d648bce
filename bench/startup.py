#!/usr/bin/env python3
"""Startup-to-healthy time of `kefu serve --demo` on SQLite.

Measures, for N runs each, the wall time from spawning the process to the first
200 from GET /healthz: "cold" (empty data dir: migrations, demo provisioning with
password hashing) and "warm" (existing data dir). The target is under 1 s.
Prints a table and writes bench/results/startup.json.
"""

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.request

TARGET_S = 1.0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_once(binary, data_dir):
    port = free_port()
    began = time.perf_counter()
    proc = subprocess.Popen(
        [binary, "serve", "--demo", "--data-dir", data_dir,
         "--sip-listen", "127.0.0.1:0", "--http-listen", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"kefu exited with {proc.returncode}")
            try:
                with urllib.request.urlopen(url, timeout=1) as res:
                    if res.status == 200:
                        return time.perf_counter() - began
            except OSError:
                pass
            if time.perf_counter() - began > 30:
                raise RuntimeError("kefu not healthy within 30 s")
            time.sleep(0.002)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)


def summarize(samples):
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {"median_ms": round(statistics.median(ordered) * 1000, 1),
            "p95_ms": round(p95 * 1000, 1),
            "max_ms": round(ordered[-1] * 1000, 1)}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--binary", default="target/release/kefu")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    cold, warm = [], []
    with tempfile.TemporaryDirectory() as root:
        warm_dir = os.path.join(root, "warm")
        start_once(args.binary, warm_dir)
        for i in range(args.runs):
            cold.append(start_once(args.binary, os.path.join(root, f"cold{i}")))
            warm.append(start_once(args.binary, warm_dir))

    results = {"cold": summarize(cold), "warm": summarize(warm), "runs": args.runs,
               "target_ms": TARGET_S * 1000}
    print(f"startup to healthy, SQLite, --demo, {args.runs} runs each (target < {TARGET_S * 1000:.0f} ms)")
    for name in ("cold", "warm"):
        r = results[name]
        ratio = r["p95_ms"] / (TARGET_S * 1000)
        print(f"  {name:<5} median {r['median_ms']:7.1f} ms   p95 {r['p95_ms']:7.1f} ms   "
              f"max {r['max_ms']:7.1f} ms   p95/target {ratio:.2f}")
    os.makedirs("bench/results", exist_ok=True)
    with open("bench/results/startup.json", "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
