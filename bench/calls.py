#!/usr/bin/env python3
"""Calls per second with media anchored (issue 6), kefu against Kamailio + rtpengine.

A sipp caller (bench/sipp/uac_media.xml: PCMU offer, RTP for the whole call from
sipp's rtp_stream threads) places calls of --call-seconds at each rate of
--rates in turn, one sipp run of --step seconds per rate, against:

  kefu       `kefu serve --demo`, DID 4002: the B2BUA out through the demo's
             trunk `loopback` to a sipp UAS on 127.0.0.1:5070 that echoes the
             media (-rtp_echo); both legs' media relayed by kefu. Unrecorded,
             like the reference, unless --record.
  kefu-echo  `kefu serve --demo`, DID 4001: the echo test, media anchored in
             kefu's endpoint (kefu answers and echoes every packet; no UAS).
  kamailio   Kamailio as a stateful record-routing proxy (bench/peers/kamailio.cfg)
             with rtpengine (userspace) relaying the media to the same echoing
             sipp UAS: the reference for `kefu`.

Per step: calls attempted, failed, setup time (INVITE to 200) p50/p99 from
sipp's -trace_rtt, peak concurrent calls, CPU of the server side (kefu, or
Kamailio's processes + rtpengine) and of the sipp processes in % of one core,
and the server's peak RSS. kefu's data dirs (a recording of every bridged
call) are removed at the end; logs and sipp's files stay in the printed dir. A target's ramp stops at its first step with a
failed call or with a p99 setup time over --max-p99-ms (saturated: calls
wait in queues rather than fail). Everything runs on loopback; every process started is stopped at
the end. Figures: printed, and written to --out (default bench/results/calls.json).

  python3 bench/calls.py [--rates 10,25,50] [--step 10] [--call-seconds 10]
                         [--targets kefu,kefu-echo,kamailio] [--kefu PATH] [--out FILE]
                         [--max-p99-ms 2000] [--record]
"""

import argparse
import csv
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Loopback ports; RTP ranges stay clear of each other and of sipp's media ports.
KEFU_SIP = "127.0.0.1:25060"
KEFU_HTTP = "127.0.0.1:28080"
KEFU_RTP = "16000-31999"
KAMAILIO_SIP = "127.0.0.1:25070"
# The demo's trunk `loopback` points at this port.
UAS_SIP_PORT = 5070
UAS_MEDIA_PORT = 7000
UAC_SIP_PORT = 25080
UAC_MEDIA_PORT = 9000
NG_PORT = 22224
RTPENGINE_PORTS = ("36000", "59999")


def fail(message):
    print(f"calls.py: {message}", file=sys.stderr)
    sys.exit(1)


def need(binary, install):
    path = shutil.which(binary)
    if not path:
        fail(f"{binary} not found: {install}")
    return path


class Processes:
    """Every process this bench starts, stopped (TERM, then KILL) at the end."""

    def __init__(self):
        self.started = []

    def start(self, args, log, **kwargs):
        process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, **kwargs
        )
        self.started.append(process)
        return process

    def stop(self, process):
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def stop_all(self):
        for process in reversed(self.started):
            self.stop(process)


def children(pid):
    """The pids whose parent is pid (Kamailio's workers)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    found.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return found


def cpu_seconds(pids):
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / CLK_TCK
        except (OSError, IndexError, ValueError):
            pass
    return total


def rss_mib(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


class Peak(threading.Thread):
    """Samples the peak RSS of a set of processes once a second."""

    def __init__(self, pids):
        super().__init__(daemon=True)
        self.pids = pids
        self.peak = 0.0
        self.done = threading.Event()

    def run(self):
        while not self.done.wait(1.0):
            self.peak = max(self.peak, rss_mib(self.pids()))

    def stop(self):
        self.done.set()
        self.join()
        return max(self.peak, rss_mib(self.pids()))


def loopback_packets():
    """Packets received on `lo` so far (every program's, not only ours)."""
    with open("/proc/net/dev") as f:
        for line in f:
            name, _, counters = line.partition(":")
            if name.strip() == "lo":
                return int(counters.split()[1])
    return 0


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, round((len(values) - 1) * p))]


def read_stats(step_dir):
    """sipp's last statistics line and the setup times (ms) of the step."""
    stats = {}
    for path in step_dir.glob("*.csv"):
        if path.name.endswith("_rtt.csv"):
            continue
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f, delimiter=";"))
        if rows:
            stats = rows[-1]
            stats["PeakCurrentCall"] = max(int(r.get("CurrentCall") or 0) for r in rows)
    times = []
    for path in step_dir.glob("*_rtt.csv"):
        with open(path, newline="") as f:
            for row in csv.reader(f, delimiter=";"):
                try:
                    times.append(float(row[1]))
                except (IndexError, ValueError):
                    pass
    return stats, times


def run_step(sipp, scenario, target, rate, options, server_pids, extra_pids, workdir):
    """One sipp caller run at `rate` calls/s for --step seconds; the figures."""
    step_dir = workdir / f"{target['name']}-{rate}"
    step_dir.mkdir()
    calls = rate * options.step
    limit = rate * options.call_seconds * 2 + 100
    time_limit = options.step + options.call_seconds + 60
    args = [
        sipp, "-sf", str(scenario), "-s", target["service"], target["sip"],
        "-i", "127.0.0.1", "-p", str(UAC_SIP_PORT), "-mi", "127.0.0.1", "-mp", str(UAC_MEDIA_PORT),
        "-r", str(rate), "-m", str(calls), "-l", str(limit),
        "-d", str(options.call_seconds * 1000),
        "-trace_stat", "-fd", "1", "-trace_rtt", "-rtt_freq", "1", "-trace_err",
        "-nostdin", "-timeout", f"{time_limit}s", "-timeout_error",
        "-max_recv_loops", "10000", "-rtp_threadtasks", "50",
    ]
    peak = Peak(lambda: server_pids())
    before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_before = cpu_seconds(server_pids())
    extra_before = cpu_seconds(extra_pids())
    lo_before = loopback_packets()
    started = time.monotonic()
    peak.start()
    with open(step_dir / "sipp.out", "w") as log:
        caller = subprocess.Popen(args, cwd=step_dir, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        try:
            code = caller.wait(timeout=time_limit + 30)
        except subprocess.TimeoutExpired:
            code = None
        finally:
            # Timed out, or this bench was interrupted: the caller stops too.
            if caller.poll() is None:
                caller.kill()
                caller.wait()
        code = caller.returncode if code is None else code
    elapsed = time.monotonic() - started
    lo_packets = loopback_packets() - lo_before
    server_rss = peak.stop()
    server_cpu = cpu_seconds(server_pids()) - server_before
    extra_cpu = cpu_seconds(extra_pids()) - extra_before
    after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    sipp_cpu = (after_children.ru_utime - before_children.ru_utime) + (
        after_children.ru_stime - before_children.ru_stime
    )
    stats, times = read_stats(step_dir)
    successful = int(stats.get("SuccessfulCall(C)") or 0)
    failed = int(stats.get("FailedCall(C)") or 0)
    # Calls sipp never finished (killed at its time limit) count as failed too.
    failed = max(failed, calls - successful)
    p50 = percentile(times, 0.5)
    p99 = percentile(times, 0.99)
    return {
        "target": target["name"],
        "rate": rate,
        "calls": calls,
        "successful": successful,
        "failed": failed,
        "sipp_exit": code,
        "setup_p50_ms": p50,
        "setup_p99_ms": p99,
        "peak_concurrent": stats.get("PeakCurrentCall", 0),
        "seconds": round(elapsed, 1),
        "server_cpu_percent": round(100 * server_cpu / elapsed, 1),
        "server_peak_rss_mib": round(server_rss, 1),
        "sipp_cpu_percent": round(100 * (sipp_cpu + extra_cpu) / elapsed, 1),
        # Media check: RTP is most of the loopback traffic; per call and second
        # about 100 packets for kefu's echo (50 each way) and 200 through a
        # relay (kefu or rtpengine) to the echoing UAS and back.
        "loopback_packets_per_call_second": round(
            lo_packets / max(1, successful * options.call_seconds), 1
        ),
        "load_average": os.getloadavg()[0],
        "artifacts": str(step_dir),
    }


def wait_for_http(url, process, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            fail(f"the server exited at start ({process.returncode}); see its log")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    fail(f"{url} did not answer 200 within {seconds} s")


def start_uas(processes, workdir):
    """sipp answering every call and echoing its RTP, on UAS_SIP_PORT."""
    sipp = need("sipp", "scripts/install-deps.sh bench")
    uas_dir = Path(tempfile.mkdtemp(prefix="uas-", dir=workdir))
    uas = processes.start(
        [sipp, "-sn", "uas", "-rtp_echo", "-i", "127.0.0.1", "-p", str(UAS_SIP_PORT),
         "-mi", "127.0.0.1", "-mp", str(UAS_MEDIA_PORT), "-nostdin",
         "-max_recv_loops", "10000"],
        open(uas_dir / "sipp.out", "w"), cwd=uas_dir,
    )
    return uas


def check_started(workdir, *named):
    time.sleep(2)
    for process, name in named:
        if process.poll() is not None:
            fail(f"{name} exited at start ({process.returncode}; is a port taken?); logs in {workdir}")


def start_kefu(processes, options, workdir, trunk):
    binary = Path(options.kefu)
    if not binary.exists():
        fail(f"{binary} not found: cargo build --release --bin kefu (or --kefu PATH)")
    env = dict(
        os.environ,
        KEFU_SIP_RATE_LIMIT_PER_SECOND="1000000",
        KEFU_SIP_RATE_LIMIT_BURST="1000000",
        KEFU_MEDIA_RTP_PORTS=KEFU_RTP,
        KEFU_MEDIA_ADDRESS="127.0.0.1",
        KEFU_LOG_LEVEL="warn",
        KEFU_RECORDINGS_ENABLED="true" if options.record else "false",
    )
    name = "kefu" if trunk else "kefu-echo"
    log = open(workdir / f"{name}.log", "w")
    kefu = processes.start(
        [str(binary), "serve", "--demo", "--data-dir", str(workdir / f"{name}-data"),
         "--sip-listen", KEFU_SIP, "--http-listen", KEFU_HTTP],
        log, env=env,
    )
    wait_for_http(f"http://{KEFU_HTTP}/healthz", kefu)
    if not trunk:
        return {"name": name, "sip": KEFU_SIP, "service": "4001"}, (lambda: [kefu.pid]), (lambda: [])
    uas = start_uas(processes, workdir)
    check_started(workdir, (uas, "the sipp UAS"))
    return {"name": name, "sip": KEFU_SIP, "service": "4002"}, (lambda: [kefu.pid]), (lambda: [uas.pid])


def wait_for_rtpengine(process, seconds=10):
    """Until rtpengine answers an ng ping, so Kamailio finds it up."""
    deadline = time.monotonic() + seconds
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as ng:
        ng.settimeout(0.5)
        while time.monotonic() < deadline:
            if process.poll() is not None:
                fail(f"rtpengine exited at start ({process.returncode}); is it installed? "
                     "scripts/install-deps.sh bench")
            try:
                ng.sendto(b"1 d7:command4:pinge", ("127.0.0.1", NG_PORT))
                if b"pong" in ng.recv(1000):
                    return
            except OSError:
                time.sleep(0.2)
    fail(f"rtpengine did not answer ng pings on 127.0.0.1:{NG_PORT}")


def start_kamailio(processes, options, workdir):
    kamailio = need("kamailio", "scripts/install-deps.sh bench")
    rtpengine_log = open(workdir / "rtpengine.log", "w")
    rtpengine = processes.start(
        [str(ROOT / "bench/peers/rtpengine.sh"), str(NG_PORT), *RTPENGINE_PORTS],
        rtpengine_log,
    )
    wait_for_rtpengine(rtpengine)
    uas = start_uas(processes, workdir)
    config = (ROOT / "bench/peers/kamailio.cfg").read_text()
    for placeholder, value in {
        "@LISTEN@": KAMAILIO_SIP,
        "@UAS@": f"sip:127.0.0.1:{UAS_SIP_PORT}",
        "@NG@": f"udp:127.0.0.1:{NG_PORT}",
        "@CHILDREN@": str(os.cpu_count() or 2),
    }.items():
        config = config.replace(placeholder, value)
    run_dir = workdir / "kamailio"
    run_dir.mkdir()
    (run_dir / "kamailio.cfg").write_text(config)
    kamailio_log = open(workdir / "kamailio.log", "w")
    proxy = processes.start(
        [kamailio, "-f", str(run_dir / "kamailio.cfg"), "-DD", "-E", "-m", "512", "-M", "16",
         "-Y", str(run_dir), "-P", str(run_dir / "kamailio.pid")],
        kamailio_log,
    )
    check_started(workdir, (rtpengine, "rtpengine"), (uas, "the sipp UAS"), (proxy, "kamailio"))
    server = lambda: [proxy.pid, *children(proxy.pid), rtpengine.pid]  # noqa: E731
    return {"name": "kamailio", "sip": KAMAILIO_SIP, "service": "4002"}, server, (lambda: [uas.pid])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", default="10,25,50", help="calls per second, one step each")
    parser.add_argument("--step", type=int, default=10, help="seconds of new calls per step")
    parser.add_argument("--call-seconds", type=int, default=10)
    parser.add_argument("--targets", default="kefu,kamailio,kefu-echo")
    target_dir = os.environ.get("CARGO_TARGET_DIR", str(ROOT / "target"))
    parser.add_argument("--kefu", default=f"{target_dir}/release/kefu")
    parser.add_argument("--out", default=str(ROOT / "bench/results/calls.json"))
    parser.add_argument("--max-p99-ms", type=float, default=2000.0,
                        help="a step whose p99 setup time is over this ends the ramp")
    parser.add_argument("--record", action="store_true",
                        help="kefu records every bridged call (a stereo WAV each), as by default")
    options = parser.parse_args()
    rates = [int(r) for r in options.rates.split(",")]
    targets = options.targets.split(",")
    if any(r <= 0 or r > 2000 for r in rates) or options.step > 600 or options.call_seconds > 120:
        fail("rates 1-2000, --step at most 600 s, --call-seconds at most 120")
    sipp = need("sipp", "scripts/install-deps.sh bench")

    workdir = Path(tempfile.mkdtemp(prefix="kefu-calls-"))
    rtp_file = workdir / "caller.ulaw"
    rtp_file.write_bytes(b"\xff" * (8000 * options.call_seconds))
    scenario = workdir / "uac_media.xml"
    scenario.write_text((ROOT / "bench/sipp/uac_media.xml").read_text().replace("@RTP_FILE@", str(rtp_file)))

    print(f"calls bench: {options.call_seconds} s calls with RTP, {options.step} s per rate, "
          f"kefu's bridged calls {'recorded' if options.record else 'not recorded'}; "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; artifacts in {workdir}")
    print(f"{'target':<9} {'cps':>5} {'calls':>6} {'failed':>6} {'peak':>5} {'p50ms':>7} {'p99ms':>7} "
          f"{'srv cpu%':>8} {'srv MiB':>8} {'sipp cpu%':>9} {'lo pkt/call/s':>13} {'load':>5}")
    results = []
    processes = Processes()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        for name in targets:
            if name in ("kefu", "kefu-echo"):
                target, server, extra = start_kefu(processes, options, workdir, name == "kefu")
            elif name == "kamailio":
                target, server, extra = start_kamailio(processes, options, workdir)
            else:
                fail(f"unknown target {name!r} (kefu, kefu-echo, kamailio)")
            for rate in rates:
                result = run_step(sipp, scenario, target, rate, options, server, extra, workdir)
                results.append(result)
                fmt = lambda v: "-" if v is None else f"{v:.1f}"  # noqa: E731
                print(f"{name:<9} {rate:>5} {result['calls']:>6} {result['failed']:>6} "
                      f"{result['peak_concurrent']:>5} {fmt(result['setup_p50_ms']):>7} "
                      f"{fmt(result['setup_p99_ms']):>7} {result['server_cpu_percent']:>8} "
                      f"{result['server_peak_rss_mib']:>8} {result['sipp_cpu_percent']:>9} "
                      f"{result['loopback_packets_per_call_second']:>13} "
                      f"{result['load_average']:>5.2f}", flush=True)
                if result["failed"] or (result["setup_p99_ms"] or 0) > options.max_p99_ms:
                    break
            processes.stop_all()
            processes.started.clear()
    finally:
        processes.stop_all()
        # kefu's data dirs hold a recording of every bridged call (GBs at
        # high rates); sipp's statistics and the logs stay.
        for data in workdir.glob("*-data"):
            shutil.rmtree(data, ignore_errors=True)

    summary, prompt = {}, {}
    for name in targets:
        clean = [r for r in results if r["target"] == name and not r["failed"]]
        summary[name] = max((r["rate"] for r in clean), default=0)
        prompt[name] = max(
            (r["rate"] for r in clean if (r["setup_p99_ms"] or 0) <= options.max_p99_ms), default=0
        )
    print("\nhighest rate with 0 failed calls: "
          + ", ".join(f"{name} {rate} cps" for name, rate in summary.items()))
    print(f"... and p99 setup within {options.max_p99_ms:.0f} ms: "
          + ", ".join(f"{name} {rate} cps" for name, rate in prompt.items()))
    if prompt.get("kefu") and prompt.get("kamailio"):
        print(f"ratio kefu / kamailio+rtpengine (0 failed, p99 within the limit): "
              f"{prompt['kefu'] / prompt['kamailio']:.2f}"
              + (" (capped by the highest rate tried)"
                 if max(rates) in (prompt["kefu"], prompt["kamailio"]) else ""))
    Path(options.out).parent.mkdir(parents=True, exist_ok=True)
    Path(options.out).write_text(json.dumps({
        "steps": results,
        "highest_cps_without_failures": summary,
        "highest_cps_without_failures_within_p99": prompt,
        "max_p99_ms": options.max_p99_ms,
        "kefu_records_calls": options.record,
    }, indent=2) + "\n")


if __name__ == "__main__":
    main()
