#!/usr/bin/env python3
"""Registrations per second through the real server, measured with sipp.

Starts `kefu serve --demo` (release build, SQLite, fresh data dir) and runs
bench/sipp/register_auth.xml in a closed loop: sipp keeps --concurrency
registrations in flight, each a REGISTER, its 401 challenge, the REGISTER with MD5
digest credentials and the 200 (with the binding written to storage), until
--calls have completed. kefu runs with MD5 offered alone (sipp 3.6 gives up on a
SHA-256 challenge) and with the per-address rate limit raised, since every
request comes from one address. Prints the figure and writes
bench/results/register.json.
"""

import argparse
import csv
import json
import os
import socket
import subprocess
import tempfile
import time

READY_PREFIX = "kefu ready in "


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_kefu(binary, data_dir):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
    env.update({
        "KEFU_SIP_DIGEST_ALGORITHMS": "MD5",
        "KEFU_SIP_RATE_LIMIT_PER_SECOND": "1000000",
        "KEFU_SIP_RATE_LIMIT_BURST": "1000000",
        "KEFU_LOG_LEVEL": "warn",
    })
    proc = subprocess.Popen(
        [binary, "serve", "--demo", "--data-dir", data_dir,
         "--sip-listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    for line in proc.stdout:
        if line.startswith(READY_PREFIX):
            sip = line.split(" sip=", 1)[1].split(" ", 1)[0]
            return proc, sip
    raise RuntimeError(f"kefu exited with {proc.wait()} before it was ready")


def last_stats(path):
    with open(path, newline="") as f:
        rows = [row for row in csv.DictReader(f, delimiter=";") if row]
    if not rows:
        raise RuntimeError(f"sipp wrote no statistics to {path}")
    return rows[-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--binary", default="target/release/kefu")
    parser.add_argument("--calls", type=int, default=20000,
                        help="registrations to complete")
    parser.add_argument("--concurrency", type=int, default=50,
                        help="registrations in flight at once")
    args = parser.parse_args()
    scenario = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                            "sipp", "register_auth.xml")

    with tempfile.TemporaryDirectory() as root:
        proc, sip = start_kefu(args.binary, os.path.join(root, "data"))
        try:
            stats_file = os.path.join(root, "stat.csv")
            command = [
                "sipp", "-sf", scenario, "-au", "1001", "-ap", "demo1001",
                "-key", "user", "1001", "-m", str(args.calls),
                "-l", str(args.concurrency), "-r", "1000000", "-rp", "1000",
                "-i", "127.0.0.1", "-p", str(free_udp_port()), "-nostdin",
                "-timeout", "300s", "-trace_stat", "-stf", stats_file,
                "-trace_err", "-error_file", os.path.join(root, "errors.log"), sip]
            began = time.perf_counter()
            done = subprocess.run(command, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True, cwd=root)
            elapsed = time.perf_counter() - began
            stats = last_stats(stats_file)
        finally:
            proc.terminate()
            proc.wait(timeout=10)

    successful = int(stats["SuccessfulCall(C)"])
    failed = int(stats["FailedCall(C)"])
    results = {
        "registrations_per_second": round(successful / elapsed, 1),
        "successful": successful,
        "failed": failed,
        "elapsed_s": round(elapsed, 2),
        "concurrency": args.concurrency,
        "sipp_exit_code": done.returncode,
    }
    print(f"REGISTER + MD5 digest through kefu (UDP, SQLite, {args.concurrency} in flight): "
          f"{results['registrations_per_second']:.0f} registrations/s "
          f"({successful} in {elapsed:.1f} s, {failed} failed; each is 2 REGISTERs)")
    if done.returncode != 0:
        print(f"  sipp exited {done.returncode}: {done.stderr.strip()[:500]}")
    os.makedirs("bench/results", exist_ok=True)
    with open("bench/results/register.json", "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
