#!/usr/bin/env python3
"""The side-by-side benchmark: gRPC Simple against grpc-swift-2 and the raw NIO ceilings.

Run it as `scripts/bench [--quick]` from the repository root. It builds Benchmarks/ in release
and the malloc counter, runs every workload with the servers pinned to core 0 and the load to
core 1 (taskset), servers alternated A B A B, median of the rounds, a warm-up first; then it
rewrites the generated part of docs/BENCHMARKS.md (between `<!-- bench:begin -->` and
`<!-- bench:end -->`) and saves the per-run lines under docs/benchmarks/.

`--only SECTIONS`, `--servers NAMES` and `--clients NAMES` run part of it (printing the tables, leaving the page
alone); `--spike` is the Performance issue's step 1: owned-frame-server against raw-frame-server
and go-server, unary and Echo with h2load, and allocations
(`python3 Benchmarks/scripts/bench.py --spike [--quick] [--no-build]`). `--only observability`
is the Observability issue's comparison: bench-server with metrics and tracing off and on, side by
side (it builds bench-server alone).

Only the standard library; Linux only (/proc, taskset).
"""

import argparse
import datetime
import json
import os
import re
import resource
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, "Benchmarks")
BIN = os.path.join(BENCH, ".build", "release")
MALLOC_SRC = os.path.join(BENCH, "MallocCounter", "malloc_counter.c")
MALLOC_LIB = os.path.join(BENCH, ".build", "libmalloc_counter.so")
DOC = os.path.join(ROOT, "docs", "BENCHMARKS.md")
RAW_DIR = os.path.join(ROOT, "docs", "benchmarks")
SERVER_CORE, LOAD_CORE = "0", "1"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"

# Server under test -> command (the port is appended).
SERVERS = {
    "bench-server": [os.path.join(BIN, "bench-server")],
    "peer-server": [os.path.join(BIN, "peer-server")],
    "raw-frame-server": [os.path.join(BIN, "raw-frame-server")],
    "raw-child-server": [os.path.join(BIN, "raw-child-server")],
    # The Performance issue's step-1 spike: our own HTTP/2 codec (no NIOHTTP2), canned answers.
    "owned-frame-server": [os.path.join(BIN, "owned-frame-server")],
    # raw-frame-server answering Echo calls with a verbatim echo (the streaming table).
    "raw-frame-server-echo": [os.path.join(BIN, "raw-frame-server"), "--echo"],
    # bench-server with observability on (the `observability` section): A66 metrics into
    # swift-prometheus, spans of a tracer that exports nothing, and both.
    "bench-server-metrics": [os.path.join(BIN, "bench-server"), "--metrics"],
    "bench-server-tracing": [os.path.join(BIN, "bench-server"), "--tracing"],
    "bench-server-observed": [os.path.join(BIN, "bench-server"), "--metrics", "--tracing"],
    # Optional: built by Benchmarks/Peers/go/build when Debian's Go packages are installed.
    "go-server": [os.path.join(BENCH, ".build", "go-server")],
}
OPTIONAL_PEERS = []  # the optional servers built for this run
# Load client -> binary. go-client (grpc-go's client) is optional, like go-server: built by
# Benchmarks/Peers/go/build, it drives the same workloads and prints the same JSON line.
CLIENTS = {
    "bench-client": os.path.join(BIN, "bench-client"),
    "peer-client": os.path.join(BIN, "peer-client"),
    "go-client": os.path.join(BENCH, ".build", "go-client"),
}
OPTIONAL_CLIENTS = []  # the optional clients built for this run
CLIENT_FILTER = None  # None: all; else the set of names given to --clients
# Sections of the run (`--only`) and the servers of the h2load tables (`--servers`).
SECTIONS = ["unary-h2load", "stream-h2load", "unary", "unary-payloads", "stream", "pingpong", "idle", "streams",
            "client", "allocations", "observability", "web", "loadbalancing", "backends"]
# The `web` section: unary getInfor on bench-server in each protocol, over HTTP/2 and HTTP/1.1
# (name, content-type, body kind, h1, calls at a time per connection). Body kinds: "envelope"
# (gRPC's framing), "proto" (the message alone), "json". HTTP/1.1 runs one call at a time per
# connection, so it is compared with gRPC run the same way.
WEB_PROTOCOLS = [
    ("gRPC", "application/grpc", "envelope", False, 100),
    ("gRPC-Web", "application/grpc-web+proto", "envelope", False, 100),
    ("Connect proto", "application/proto", "proto", False, 100),
    ("Connect JSON", "application/json", "json", False, 100),
    ("gRPC, one call at a time", "application/grpc", "envelope", False, 1),
    ("gRPC-Web, HTTP/1.1", "application/grpc-web+proto", "envelope", True, 1),
    ("Connect proto, HTTP/1.1", "application/proto", "proto", True, 1),
    ("Connect JSON, HTTP/1.1", "application/json", "json", True, 1),
]
# The servers of the `observability` section, off first.
OBSERVED = ["bench-server", "bench-server-metrics", "bench-server-tracing", "bench-server-observed"]
SERVER_FILTER = None  # None: all; else the set of names given to --servers


def selected(names):
    """`names` restricted to --servers (raw-frame-server-echo goes with raw-frame-server)."""
    if SERVER_FILTER is None:
        return names
    return [n for n in names if n in SERVER_FILTER or (n == "raw-frame-server-echo" and "raw-frame-server" in SERVER_FILTER)]
LABEL = {
    "bench-server": "gRPC Simple (bench-server)",
    "bench-server-metrics": "gRPC Simple, metrics on (bench-server --metrics)",
    "bench-server-tracing": "gRPC Simple, tracing on (bench-server --tracing)",
    "bench-server-observed": "gRPC Simple, both on (bench-server --metrics --tracing)",
    "peer-server": "grpc-swift-2 (peer-server)",
    "raw-frame-server": "raw NIO, frames on the connection (ceiling)",
    "raw-child-server": "raw NIO, child channel per stream (ceiling)",
    "owned-frame-server": "owned HTTP/2 codec, no gRPC layer (spike, owned-frame-server)",
    "raw-frame-server-echo": "raw NIO, frames on the connection, verbatim echo (ceiling)",
    "go-server": "grpc-go, Debian (go-server, optional peer)",
    "bench-client": "gRPC Simple (bench-client)",
    "peer-client": "grpc-swift-2 (peer-client)",
    "go-client": "grpc-go, Debian (go-client, optional)",
}
GETINFOR_PATH = "/AsillaService/getInfor"
ECHO_PATH = "/StreamBench/Echo"
ECHO_MESSAGES = 1000


def echo_body(messages=ECHO_MESSAGES, name=b"abcdefghijklmnop"):
    """`messages` framed Person(name, id = i, married = i is even), as one gRPC request body."""
    def varint(n):
        out = b""
        while True:
            byte, n = n & 0x7F, n >> 7
            if not n:
                return out + bytes([byte])
            out += bytes([byte | 0x80])
    body = b""
    for i in range(messages):
        message = b"\x0a" + varint(len(name)) + name
        if i:
            message += b"\x10" + varint(i)
        if i % 2 == 0:
            message += b"\x18\x01"
        body += b"\x00" + len(message).to_bytes(4, "big") + message
    return body


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# ---------------------------------------------------------------------------------------------
# Processes


class Server:
    """One server process pinned to the server core, listening on 127.0.0.1 with port 0."""

    def __init__(self, name, tmp, preload=None):
        self.name = name
        self.log_path = os.path.join(tmp, f"{name}{'-malloc' if preload else ''}.log")
        self.malloc_file = os.path.join(tmp, f"{name}.malloc") if preload else None
        env = dict(os.environ)
        if preload:
            env["LD_PRELOAD"] = preload
            env["MALLOC_COUNTER_FILE"] = self.malloc_file
        with open(self.log_path, "w") as out:
            self.process = subprocess.Popen(
                ["taskset", "-c", SERVER_CORE] + SERVERS[name] + ["--port", "0"],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        self.pid = self.process.pid  # taskset execs the server: same PID
        self.port = None
        deadline = time.time() + 20
        while time.time() < deadline:
            with open(self.log_path) as f:
                match = re.search(r"listening on 127\.0\.0\.1:(\d+)", f.read())
            if match:
                self.port = int(match.group(1))
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{name} did not start: {open(self.log_path).read()[-500:]}")

    def cpu_seconds(self):
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def status_kib(self, key):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        return None

    def allocations(self):
        """Allocation count so far, from the malloc counter (SIGUSR2, then its report file)."""
        try:
            os.unlink(self.malloc_file)
        except FileNotFoundError:
            pass
        os.kill(self.pid, signal.SIGUSR2)
        for _ in range(2000):
            try:
                with open(self.malloc_file) as f:
                    text = f.read()
                if text.endswith("\n"):
                    return int(text.split()[0])
            except FileNotFoundError:
                pass
            time.sleep(0.001)
        raise RuntimeError(f"no malloc report from {self.name}")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def core_busy_seconds(core=SERVER_CORE):
    """Non-idle time of one core so far (user+nice+system+irq+softirq+steal), from /proc/stat."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith(f"cpu{core} "):
                v = [int(x) for x in line.split()[1:]]
                return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / os.sysconf("SC_CLK_TCK")
    return 0.0


class NoiseMeter:
    """How busy the server core was with anything but the server under test, during a run."""

    def __init__(self, server):
        self.server = server
        self.start = (time.time(), core_busy_seconds(), server.cpu_seconds())

    def other_share(self):
        wall, core, own = time.time() - self.start[0], core_busy_seconds() - self.start[1], \
            self.server.cpu_seconds() - self.start[2]
        return max(0.0, (core - own) / wall) if wall > 0 else None


def run_client(client, workload, server, args, timeout, malloc=False, env=None):
    """Runs a load client (CLIENTS) on the load core; returns its JSON result. `env`
    adds to the environment (bench-client's BENCH_TARGET / BENCH_LB_POLICY)."""
    command = ["taskset", "-c", LOAD_CORE, CLIENTS[client], workload,
               "--port", str(server.port), "--server-pid", str(server.pid)] + [str(a) for a in args]
    if malloc:
        command += ["--malloc-file", server.malloc_file]
    noise = NoiseMeter(server)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              env=dict(os.environ, **env) if env else None)
    except subprocess.TimeoutExpired:
        return {"errors": 1, "first_error": f"timed out after {timeout}s", "command": shlex.join(command)}
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("{"):
            result = json.loads(line)
            result["command"] = shlex.join(command)
            result["other_load_on_server_core"] = noise.other_share()
            if result.get("client_cpu_s") is not None and result.get("seconds"):
                result["client_core_busy"] = result["client_cpu_s"] / result["seconds"]
            return result
    return {"errors": 1, "first_error": f"no result (exit {done.returncode}): {done.stderr[-300:]}",
            "command": shlex.join(command)}


def h2load_command(server, seconds=None, requests=None, log_file=None, body=None, path=GETINFOR_PATH,
                   connections=4, streams=100, headers=None, h1=False):
    headers = headers or ["content-type: application/grpc", "te: trailers"]
    command = ["taskset", "-c", LOAD_CORE, "h2load", "-c", str(connections), "-m", str(streams), "-d", body]
    for header in headers:
        command += ["-H", header]
    if h1:
        command.append("--h1")
    command += ["-D", f"{int(seconds * 1000)}ms"] if seconds else ["-n", str(requests)]
    if log_file:
        command.append(f"--log-file={log_file}")
    return command + [f"http://127.0.0.1:{server.port}{path}"]


def parse_h2load(text):
    result = {}
    match = re.search(r"finished in ([\d.]+)(s|ms|us), ([\d.]+) req/s", text)
    if match:
        result["seconds"] = float(match.group(1)) * {"s": 1, "ms": 1e-3, "us": 1e-6}[match.group(2)]
        result["rate"] = float(match.group(3))
    match = re.search(r"traffic: .*?, ([\d.]+\w*) \((\d+)\) data", text)
    if match:
        result["data_bytes"] = int(match.group(2))
    match = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, "
                      r"(\d+) errored, (\d+) timeout", text)
    if match:
        result["completed"] = int(match.group(4))
        result["errors"] = int(match.group(5)) + int(match.group(6)) + int(match.group(7))
    match = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text)
    if match:
        result["errors"] = result.get("errors", 0) + sum(int(match.group(i)) for i in (2, 3, 4))
    if "rate" not in result or "completed" not in result:
        result["errors"] = max(result.get("errors", 0), 1)
        result["first_error"] = "could not parse h2load output: " + text[-300:]
    return result


def run_h2load(server, seconds, body, tmp, **shape):
    log_file = os.path.join(tmp, "h2load-requests.log")
    command = h2load_command(server, seconds=seconds, log_file=log_file, body=body, **shape)
    noise = NoiseMeter(server)
    cpu0 = server.cpu_seconds()
    started = time.time()
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    wall = time.time() - started
    cpu = server.cpu_seconds() - cpu0
    result = parse_h2load(done.stdout + done.stderr)
    durations = []
    try:
        with open(log_file) as f:
            for line in f:
                parts = line.split("\t")
                if len(parts) >= 3:
                    durations.append(int(parts[2]))
        os.unlink(log_file)
    except FileNotFoundError:
        pass
    durations.sort()
    if durations:
        result["p50_us"] = quantile(durations, 0.50)
        result["p99_us"] = quantile(durations, 0.99)
    if result.get("completed"):
        result["server_cpu_us_per_item"] = cpu / result["completed"] * 1e6
        result["server_cpu_share"] = cpu / wall
    result["command"] = shlex.join(command)
    result["other_load_on_server_core"] = noise.other_share()
    return result


def quantile(sorted_values, q):
    rank = max(0, min(len(sorted_values) - 1, int(-(-q * len(sorted_values) // 1)) - 1))
    return float(sorted_values[rank])


# ---------------------------------------------------------------------------------------------
# The benchmark


class Bench:
    def __init__(self, quick, only=None):
        self.quick = quick
        self.only = only                      # None: every section; else the sections to run
        self.rounds = 3 if quick else 5
        self.seconds = 1.5 if quick else 5    # measured phase of each timed run
        self.warmup = 0.3 if quick else 1     # warm-up inside each client run
        self.results = {}                     # section -> subject -> [run results]
        self.raw = []                         # per-run lines for docs/benchmarks/
        self.commands = []                    # one example command per kind of run
        self.tmp = tempfile.mkdtemp(prefix="grpc-simple-bench-")
        self.body = os.path.join(self.tmp, "getinfor.bin")
        message = b"\x0a\x05trung"            # RequestInforPerson(name: "trung")
        with open(self.body, "wb") as f:
            f.write(b"\x00" + len(message).to_bytes(4, "big") + message)
        # StreamBench.Echo for h2load: one request body of ECHO_MESSAGES framed Person messages.
        self.echo_body = os.path.join(self.tmp, "echo.bin")
        with open(self.echo_body, "wb") as f:
            f.write(echo_body())
        self.echo_body_size = os.path.getsize(self.echo_body)

    def record(self, section, subject, result, round_):
        self.results.setdefault(section, {}).setdefault(subject, []).append(result)
        keys = ("rate", "mb_per_s", "p50_us", "p99_us", "server_cpu_us_per_item", "client_cpu_us_per_item",
                "server_allocs_per_item", "backend_us_per_call", "server_cpu_share", "client_core_busy", "other_load_on_server_core", "rss_per_connection_kib", "peak_rss_kib", "client_rss_kib",
                "backends_connected", "all_echoed_s", "seconds",
                "completed", "errors")
        figures = " ".join(f"{k}={fmt_raw(result[k])}" for k in keys if result.get(k) is not None)
        error = f" first_error={result['first_error']!r}" if result.get("first_error") else ""
        line = f"{section} | {subject} | round {round_} | {figures}{error}"
        self.raw.append(line)
        log(line)

    def record_client_run(self, what, server, section, subject, result, round_):
        """Records a client run against `server`, noting its command (port and PID generic)."""
        self.note_command(what, result["command"].replace(str(server.port), "PORT").replace(str(server.pid), "PID"))
        self.record(section, subject, result, round_)

    def note_command(self, what, command):
        if what not in [w for w, _ in self.commands]:
            self.commands.append((what, command))

    # -- server side -----------------------------------------------------------------------

    def unary_h2load(self):
        names = selected(["bench-server", "peer-server", "raw-frame-server", "owned-frame-server",
                          "raw-child-server"] + OPTIONAL_PEERS)
        servers = {n: Server(n, self.tmp) for n in names}
        try:
            for name in names:  # warm-up
                run_h2load(servers[name], 1, self.body, self.tmp)
            for r in range(1, self.rounds + 1):
                for name in names:
                    result = run_h2load(servers[name], self.seconds, self.body, self.tmp)
                    self.note_command("unary, h2load", result["command"].replace(str(servers[name].port), "PORT"))
                    self.record("unary-h2load", name, result, r)
            for name in names:
                self.results["unary-h2load"][name][-1]["peak_rss_kib"] = servers[name].status_kib("VmHWM")
        finally:
            for server in servers.values():
                server.stop()

    def stream_h2load(self):
        """Echo throughput with h2load: each request carries ECHO_MESSAGES messages, each
        response must carry them all back (checked by the DATA bytes received)."""
        names = selected(["bench-server", "peer-server", "raw-frame-server-echo", "owned-frame-server"] + OPTIONAL_PEERS)
        servers = {n: Server(n, self.tmp) for n in names}
        shape = dict(path=ECHO_PATH, connections=1, streams=1)
        try:
            for name in names:  # warm-up
                run_h2load(servers[name], 1, self.echo_body, self.tmp, **shape)
            for r in range(1, self.rounds + 1):
                for name in names:
                    result = run_h2load(servers[name], self.seconds, self.echo_body, self.tmp, **shape)
                    self.note_command("stream, h2load", result["command"].replace(str(servers[name].port), "PORT"))
                    completed = result.get("completed") or 0
                    expected = completed * self.echo_body_size
                    if completed and not expected <= result.get("data_bytes", 0) <= expected + self.echo_body_size:
                        result["errors"] = result.get("errors", 0) + 1
                        result["first_error"] = (f"echoed {result.get('data_bytes')} bytes for {completed} "
                                                 f"responses of {self.echo_body_size}")
                    if completed:
                        result["messages_per_call"] = ECHO_MESSAGES
                        result["rate"] = result["rate"] * ECHO_MESSAGES
                        result["mb_per_s"] = result.get("data_bytes", 0) / result["seconds"] / 1e6
                        result["server_cpu_us_per_item"] = result["server_cpu_us_per_item"] / ECHO_MESSAGES
                        result.pop("p50_us", None)
                        result.pop("p99_us", None)
                    self.record("stream-h2load", name, result, r)
            for name in names:
                self.results["stream-h2load"][name][-1]["peak_rss_kib"] = servers[name].status_kib("VmHWM")
        finally:
            for server in servers.values():
                server.stop()

    def client_runs(self, section, client, workload, args, names=("bench-server", "peer-server"), timeout=None):
        """Alternates `client workload args` against each named server (one process each)."""
        names = selected(list(names))
        if not names:
            return
        servers = {n: Server(n, self.tmp) for n in names}
        timeout = timeout or self.seconds + self.warmup + 60
        timing = ["--duration", self.seconds, "--warmup", self.warmup]
        try:
            for name in names:  # warm-up run, not recorded
                warm = run_client(client, workload, servers[name], args + ["--duration", 0.5, "--warmup", 0.2], timeout)
                if warm.get("errors"):
                    self.record(section + " (warm-up)", name, warm, 0)
            for r in range(1, self.rounds + 1):
                for name in names:
                    result = run_client(client, workload, servers[name], args + timing, timeout)
                    self.note_command(section, result["command"].replace(str(servers[name].port), "PORT")
                                      .replace(str(servers[name].pid), "PID"))
                    self.record(section, name, result, r)
            for name in names:
                self.results[section][name][-1]["peak_rss_kib"] = servers[name].status_kib("VmHWM")
        finally:
            for server in servers.values():
                server.stop()

    def idle(self, connections=1000, base=100):
        """RSS per idle connection: (RSS at `connections` - RSS at `base`) / the difference."""
        for r in range(1, self.rounds + 1):
            for name in selected(["bench-server", "peer-server"]):
                server = Server(name, self.tmp)
                command = ["taskset", "-c", LOAD_CORE, os.path.join(BIN, "bench-client"), "idle",
                           "--port", str(server.port), "--connections", str(connections), "--base", str(base)]
                self.note_command("idle", shlex.join(command).replace(str(server.port), "PORT"))
                client = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                watchdog = threading.Timer(180, client.kill)  # a stuck client ends the read loop
                watchdog.start()
                samples, result = {}, {}
                try:
                    for line in client.stdout:
                        if line.startswith("ready "):
                            time.sleep(0.5)  # let both sides settle
                            samples[int(line.split()[1])] = server.status_kib("VmRSS")
                            client.stdin.write("\n")
                            client.stdin.flush()
                        elif line.startswith("{"):
                            result = json.loads(line)
                            break
                    client.wait(timeout=60)
                    if not result:
                        result = {"errors": 1, "first_error": f"idle client ended without a result ({client.returncode})"}
                except (subprocess.TimeoutExpired, BrokenPipeError) as error:
                    client.kill()
                    result = {"errors": 1, "first_error": f"idle client: {error}"}
                finally:
                    watchdog.cancel()
                    server.stop()
                if base in samples and connections in samples:
                    result["rss_base_kib"], result["rss_all_kib"] = samples[base], samples[connections]
                    result["rss_per_connection_kib"] = (samples[connections] - samples[base]) / (connections - base)
                elif not result.get("errors"):
                    result = {"errors": 1, "first_error": f"missing RSS samples: {samples}"}
                self.record("idle", name, result, r)

    def many_streams(self, streams=10000, connections=100):
        """10,000 concurrent Echo streams, one fresh server per run: errors, time, peak RSS."""
        for r in range(1, self.rounds + 1):
            for name in selected(["bench-server", "peer-server"]):
                server = Server(name, self.tmp)
                try:
                    result = run_client("bench-client", "streams", server,
                                        ["--streams", streams, "--connections", connections], timeout=180)
                    result["peak_rss_kib"] = server.status_kib("VmHWM")
                finally:
                    server.stop()
                self.note_command("streams", result["command"].replace(str(server.port), "PORT")
                                  .replace(str(server.pid), "PID"))
                self.record("streams", name, result, r)

    def allocations(self):
        """Allocations per RPC / message, in separate runs under the malloc counter."""
        requests = 20000 if self.quick else 50000
        for name in selected(["bench-server", "peer-server", "raw-frame-server", "raw-child-server",
                              "owned-frame-server", "raw-frame-server-echo"]):
            server = Server(name, self.tmp, preload=MALLOC_LIB)
            try:
                if name == "raw-frame-server-echo":
                    self.echo_allocations(server)
                    continue
                subprocess.run(h2load_command(server, requests=5000, body=self.body), capture_output=True, timeout=120)
                before = server.allocations()
                command = h2load_command(server, requests=requests, body=self.body)
                done = subprocess.run(command, capture_output=True, text=True, timeout=300)
                after = server.allocations()
                result = parse_h2load(done.stdout)
                if result.get("completed"):
                    result["server_allocs_per_item"] = (after - before) / result["completed"]
                self.note_command("allocations: the server runs under the malloc counter",
                                  f"MALLOC_COUNTER_FILE=/tmp/counts LD_PRELOAD={os.path.relpath(MALLOC_LIB, ROOT)} "
                                  f"taskset -c {SERVER_CORE} Benchmarks/.build/release/SERVER --port 0")
                self.note_command("allocations: h2load, with `kill -USR2 PID` before and after",
                                  shlex.join(command).replace(str(server.port), "PORT"))
                self.record("allocs-unary-h2load", name, result, 1)
                if name == "owned-frame-server":
                    self.echo_allocations(server)
                if name in ("bench-server", "peer-server"):
                    self.echo_allocations(server)
                    for section, workload, args in (
                            ("allocs-unary-client", "unary", []),
                            ("allocs-stream", "stream", []),
                            ("allocs-pingpong", "pingpong", [])):
                        result = run_client("bench-client", workload, server,
                                            args + ["--duration", 1 if self.quick else 2, "--warmup", 0.3],
                                            timeout=60, malloc=True)
                        self.record(section, name, result, 1)
            finally:
                server.stop()

    def web_protocols(self):
        """What each protocol costs the server: unary getInfor on one bench-server, in gRPC,
        gRPC-Web and Connect (proto and JSON), over HTTP/2 and HTTP/1.1 (h2load --h1, 4
        keep-alive connections, one request at a time each), alternated in every round."""
        bodies = {}
        message = b"\x0a\x05trung"
        for kind, data in [("envelope", b"\x00" + len(message).to_bytes(4, "big") + message), ("proto", message),
                           ("json", b'{"name":"trung"}')]:
            bodies[kind] = os.path.join(self.tmp, f"web-{kind}.bin")
            with open(bodies[kind], "wb") as f:
                f.write(data)
        server = Server("bench-server", self.tmp)
        try:
            def run(content_type, body, h1, streams, seconds):
                headers = [f"content-type: {content_type}"]
                if content_type == "application/grpc":
                    headers.append("te: trailers")
                shape = {"headers": headers, "h1": h1, "streams": streams}
                return run_h2load(server, seconds, bodies[body], self.tmp, **shape)
            for name, content_type, body, h1, streams in WEB_PROTOCOLS:  # warm-up
                run(content_type, body, h1, streams, 1)
            for r in range(1, self.rounds + 1):
                for name, content_type, body, h1, streams in WEB_PROTOCOLS:
                    result = run(content_type, body, h1, streams, self.seconds)
                    self.note_command(f"web: {name}", result["command"].replace(str(server.port), "PORT"))
                    self.record("web", name, result, r)
        finally:
            server.stop()

    def observability(self):
        """What metrics and tracing cost: unary getInfor under h2load, bench-server with
        observability off, metrics on, tracing on and both, alternated; then allocations per
        RPC of each under the malloc counter."""
        names = [n for n in OBSERVED if SERVER_FILTER is None or n in SERVER_FILTER]
        servers = {n: Server(n, self.tmp) for n in names}
        try:
            for name in names:  # warm-up
                run_h2load(servers[name], 1, self.body, self.tmp)
            for r in range(1, self.rounds + 1):
                for name in names:
                    result = run_h2load(servers[name], self.seconds, self.body, self.tmp)
                    self.record("observability", name, result, r)
        finally:
            for server in servers.values():
                server.stop()
        # swift-prometheus' own share: a call's metric records alone, in a loop.
        for r in range(1, self.rounds + 1):
            done = subprocess.run(["taskset", "-c", SERVER_CORE, os.path.join(BIN, "bench-server"), "--backend-cost"],
                                  capture_output=True, text=True, timeout=300)
            try:
                cost = json.loads(done.stdout.strip().splitlines()[-1])["backend_ns_per_call"]
            except (ValueError, KeyError, IndexError):
                cost = None
            self.record("observability-backend", "bench-server", {"backend_us_per_call": cost / 1000 if cost else None}, r)
        requests = 20000 if self.quick else 50000
        for name in names:
            server = Server(name, self.tmp, preload=MALLOC_LIB)
            try:
                subprocess.run(h2load_command(server, requests=5000, body=self.body), capture_output=True, timeout=120)
                before = server.allocations()
                done = subprocess.run(h2load_command(server, requests=requests, body=self.body), capture_output=True,
                                      text=True, timeout=300)
                after = server.allocations()
                result = parse_h2load(done.stdout)
                if result.get("completed"):
                    result["server_allocs_per_item"] = (after - before) / result["completed"]
                self.record("observability-allocs", name, result, 1)
            finally:
                server.stop()

    def echo_allocations(self, server):
        """Allocations per echoed message, h2load Echo (one call per request of ECHO_MESSAGES)."""
        echo_calls = 100 if self.quick else 300
        shape = dict(path=ECHO_PATH, connections=1, streams=1, body=self.echo_body)
        subprocess.run(h2load_command(server, requests=20, **shape), capture_output=True, timeout=120)
        before = server.allocations()
        done = subprocess.run(h2load_command(server, requests=echo_calls, **shape), capture_output=True,
                              text=True, timeout=300)
        after = server.allocations()
        result = parse_h2load(done.stdout)
        if result.get("completed"):
            result["server_allocs_per_item"] = (after - before) / (result["completed"] * ECHO_MESSAGES)
        self.record("allocs-stream-h2load", server.name, result, 1)

    def many_backends(self, count=100):
        """A channel over `count` backends: one bench-client channel, round_robin over that many
        bench-servers (all on the server core), against one channel to one of them, alternated.
        Reports req/s, the client's resident memory with its channel open, and to how many
        backends the client had a connection midway through the run (`ss`)."""
        servers = []
        try:
            for _ in range(count):
                servers.append(Server("bench-server", self.tmp))
            ports = {server.port for server in servers}
            target = "ipv4:" + ",".join(f"127.0.0.1:{server.port}" for server in servers)
            shapes = {"one-address": None,
                      f"round-robin-{count}": {"BENCH_TARGET": target, "BENCH_LB_POLICY": "round_robin"}}
            timing = ["--duration", self.seconds, "--warmup", self.warmup, "--connections", 1]

            def connected_backends(seen):
                done = subprocess.run(["ss", "-tnH", "state", "established"], capture_output=True, text=True)
                for line in done.stdout.splitlines():
                    fields = line.split()
                    if len(fields) >= 4 and fields[-1].startswith("127.0.0.1:"):
                        port = int(fields[-1].rsplit(":", 1)[1])
                        if port in ports:
                            seen.add(port)

            for r in range(1, self.rounds + 1):
                for name, env in shapes.items():
                    seen = set()
                    probe = threading.Timer(self.warmup + self.seconds / 2, connected_backends, args=(seen,))
                    probe.start()
                    result = run_client("bench-client", "unary", servers[0], timing, self.seconds + 120, env=env)
                    probe.join()
                    result["backends_connected"] = len(seen)
                    self.record_client_run(f"client-backends ({name})", servers[0], "client-backends", name, result, r)
        finally:
            for server in servers:
                server.stop()

    def load_balancing(self):
        """Client CPU per unary call: one address against round_robin over three servers
        (three bench-servers on the server core), alternated in one run."""
        servers = [Server("bench-server", self.tmp) for _ in range(3)]
        try:
            target = "ipv4:" + ",".join(f"127.0.0.1:{server.port}" for server in servers)
            # round_robin opens a connection per address on each of the 4 channels: 12 in all,
            # so one address is also measured with 12 channels, to tell the policy's cost from
            # the cost of spreading the same calls over more connections.
            rr = {"BENCH_TARGET": target, "BENCH_LB_POLICY": "round_robin"}
            shapes = {"one-address": (None, []), "one-address-12-connections": (None, ["--connections", 12]),
                      "round-robin-3": (rr, [])}
            timing = ["--duration", self.seconds, "--warmup", self.warmup]
            for env, extra in shapes.values():
                run_client("bench-client", "unary", servers[0], ["--duration", 0.5, "--warmup", 0.2] + extra, 60,
                           env=env)
            for r in range(1, self.rounds + 1):
                for name, (env, extra) in shapes.items():
                    result = run_client("bench-client", "unary", servers[0], timing + extra, self.seconds + 60, env=env)
                    self.record_client_run(f"client-loadbalancing ({name})", servers[0], "client-loadbalancing", name, result, r)
        finally:
            for server in servers:
                server.stop()

    # -- all of it ---------------------------------------------------------------------------

    def run(self):
        started = time.time()
        s = self.seconds
        log(f"{'quick' if self.quick else 'full'} run: {self.rounds} alternated rounds, {s} s measured per run")
        wants = lambda section: self.only is None or section in self.only  # noqa: E731
        if wants("unary-h2load"):
            self.unary_h2load()
        if wants("stream-h2load"):
            self.stream_h2load()
        if wants("unary"):
            self.client_runs("unary", "bench-client", "unary", [])
        payload_shapes = ((1024, 4, 100), (65536, 4, 8), (1048576, 2, 2))
        for payload, connections, concurrency in payload_shapes if wants("unary-payloads") else ():
            self.client_runs(f"unary-{payload_name(payload)}", "bench-client", "unary",
                             ["--payload", payload, "--connections", connections, "--concurrency", concurrency])
        if wants("stream"):
            self.client_runs("stream", "bench-client", "stream", [])
        if wants("pingpong"):
            self.client_runs("pingpong", "bench-client", "pingpong", [])
        if wants("idle"):
            self.idle()
        if wants("streams"):
            self.many_streams()
        # Client side: every client against one bench-server, alternated.
        clients = [c for c in ["bench-client", "peer-client"] + OPTIONAL_CLIENTS
                   if CLIENT_FILTER is None or c in CLIENT_FILTER]
        for workload in ("unary", "stream") if wants("client") and clients else ():
            server = Server("bench-server", self.tmp)
            try:
                section = f"client-{workload}"
                timing = ["--duration", self.seconds, "--warmup", self.warmup]
                for client in clients:
                    warm = run_client(client, workload, server, ["--duration", 0.5, "--warmup", 0.2], 60)
                    if warm.get("errors"):
                        self.record(section + " (warm-up)", client, warm, 0)
                for r in range(1, self.rounds + 1):
                    for client in clients:
                        result = run_client(client, workload, server, timing, self.seconds + 60)
                        self.record_client_run(f"{section} ({client})", server, section, client, result, r)
            finally:
                server.stop()
        if wants("allocations"):
            self.allocations()
        if wants("observability"):
            self.observability()
        if wants("web"):
            self.web_protocols()
        if wants("loadbalancing"):
            self.load_balancing()
        if wants("backends"):
            self.many_backends()
        self.elapsed = time.time() - started
        log(f"benchmark done in {self.elapsed:.0f} s")


def payload_name(n):
    return f"{n // 1048576}MiB" if n >= 1048576 else f"{n // 1024}KiB"


def fmt_raw(value):
    return f"{value:.2f}" if isinstance(value, float) else str(value)


# ---------------------------------------------------------------------------------------------
# Report


def median_of(runs, key):
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def total_errors(runs):
    return sum(r.get("errors", 0) or 0 for r in runs)


def num(value, digits=0):
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def ratio(a, b):
    return a / b if a is not None and b else None


def machine():
    def sh(command):
        try:
            return subprocess.run(command, shell=True, capture_output=True, text=True, timeout=30).stdout.strip()
        except Exception:
            return "?"
    model = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
    pins = {}
    try:
        with open(os.path.join(BENCH, "Package.resolved")) as f:
            for pin in json.load(f)["pins"]:
                pins[pin["identity"]] = pin["state"].get("version") or pin["state"].get("revision", "?")[:8]
    except (OSError, ValueError, KeyError):
        pass
    wanted = ["swift-nio", "swift-nio-http2", "swift-protobuf", "grpc-swift-2", "grpc-swift-nio-transport",
              "grpc-swift-protobuf"]
    commit = sh(f"git -C {ROOT} rev-parse --short HEAD")
    dirty = sh(f"git -C {ROOT} status --porcelain --untracked-files=no")
    return {
        "cores": sh("nproc"),
        "cpu": model,
        "kernel": sh("uname -sr"),
        "os": sh(". /etc/os-release && echo $PRETTY_NAME"),
        "swift": sh("swift --version 2>&1 | head -1"),
        "h2load": sh("h2load --version | head -1"),
        "packages": ", ".join(f"{k} {pins[k]}" for k in wanted if k in pins),
        "commit": commit + (" (with uncommitted changes)" if dirty else ""),
        "branch": sh(f"git -C {ROOT} rev-parse --abbrev-ref HEAD"),
        "load": sh("cut -d' ' -f1-3 /proc/loadavg"),
    }


def render(bench, info, raw_name):
    R = bench.results
    quick = bench.quick
    lines = []
    add = lines.append
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    add(f"## Latest run: {today}{' (--quick)' if quick else ''}")
    add("")
    add("Generated by `scripts/bench" + (" --quick" if quick else "") + "`; everything between the "
        "`bench:begin` / `bench:end` markers is rewritten by each run. "
        f"{bench.rounds} rounds (servers alternated A B A B), medians; {bench.seconds} s measured per run "
        f"after a warm-up; servers on core {SERVER_CORE}, load on core {LOAD_CORE} (`taskset`). "
        f"The whole run took {bench.elapsed / 60:.1f} min.")
    add("")
    add(f"Machine: {info['cores']} cores, {info['cpu']}, {info['os']}, {info['kernel']}; {info['swift']}; "
        f"{info['h2load']}; load average at the start {info['load']}. Packages: {info['packages']}. "
        f"Code: `{info['branch']}` at {info['commit']}.")
    add("")
    others = [r.get("other_load_on_server_core") for section in bench.results.values() for runs in section.values()
              for r in runs if r.get("other_load_on_server_core") is not None]
    if others:
        add(f"Noise: during the timed runs, other processes kept the server core busy {100 * statistics.median(others):.0f} % "
            f"of the time (median; worst run {100 * max(others):.0f} %; per table in the column \"other load on "
            "server core\", from /proc/stat). Where it is above a few percent, absolute figures are low and ratios "
            "uncertain (alternation softens, does not remove it); CPU time per item is the figure least affected.")
        add("")
    add(f"Per-run figures: [benchmarks/{raw_name}](benchmarks/{raw_name}).")
    add("")

    # Targets first.
    def med(section, subject, key):
        return median_of(R.get(section, {}).get(subject, []), key)

    unary_ours, unary_peer = med("unary-h2load", "bench-server", "rate"), med("unary-h2load", "peer-server", "rate")
    frame = med("unary-h2load", "raw-frame-server", "rate")
    stream_ours, stream_peer = med("stream-h2load", "bench-server", "rate"), med("stream-h2load", "peer-server", "rate")
    client_stream = (med("stream", "bench-server", "rate"), med("stream", "peer-server", "rate"))
    pp = {k: (med("pingpong", "bench-server", k), med("pingpong", "peer-server", k)) for k in ("p50_us", "p99_us")}
    allocs = (R.get("allocs-unary-h2load", {}).get("bench-server") or [{}])[0].get("server_allocs_per_item")
    idle_ours = med("idle", "bench-server", "rss_per_connection_kib")
    streams_runs = R.get("streams", {}).get("bench-server", [])
    streams_errors = total_errors(streams_runs)
    client_ours, client_peer = med("client-unary", "bench-client", "rate"), med("client-unary", "peer-client", "rate")

    def verdict(ok):
        return "—" if ok is None else ("**met**" if ok else "**not met**")

    def at_least(value, limit):
        return None if value is None else value >= limit

    def at_most(value, limit):
        return None if value is None else value <= limit

    unary_ratio, stream_ratio = ratio(unary_ours, unary_peer), ratio(stream_ours, stream_peer)

    def noisy(section):
        """A warning when other processes took a noticeable share of the server core."""
        others = [r.get("other_load_on_server_core") for runs in R.get(section, {}).values() for r in runs
                  if r.get("other_load_on_server_core") is not None]
        if not others or statistics.median(others) < 0.10:
            return ""
        return f" — noisy: other processes took {100 * statistics.median(others):.0f} % of the server core"
    client_ratio = ratio(client_ours, client_peer)
    pp_ok = None
    if None not in pp["p50_us"] + pp["p99_us"]:
        pp_ok = pp["p50_us"][0] < pp["p50_us"][1] and pp["p99_us"][0] < pp["p99_us"][1]
    partial = bench.only is not None or SERVER_FILTER is not None or CLIENT_FILTER is not None
    if partial:
        add(f"Partial run (`--only {','.join(bench.only or SECTIONS)}"
            f"{' --servers ' + ','.join(sorted(SERVER_FILTER)) if SERVER_FILTER else ''}"
            f"{' --clients ' + ','.join(sorted(CLIENT_FILTER)) if CLIENT_FILTER else ''}`): the targets are not assessed.")
        add("")
    if not partial:
        add("### Targets of the Performance issue")
        add("")
        add("| target | figure | status |")
        add("|---|---|---|")
        cpu_unary = (med("unary-h2load", "bench-server", "server_cpu_us_per_item"),
                     med("unary-h2load", "peer-server", "server_cpu_us_per_item"))
        add(f"| unary req/s ≥ 3× grpc-swift-2 (h2load) | {num(unary_ours)} vs {num(unary_peer)} req/s = "
            f"{num(unary_ratio, 2)}×{noisy('unary-h2load')} (server CPU per RPC {num(cpu_unary[0], 1)} vs "
            f"{num(cpu_unary[1], 1)} µs = {num(ratio(cpu_unary[1], cpu_unary[0]), 2)}× less) | "
            f"{verdict(at_least(unary_ratio, 3))} |")
        add(f"| goal: unary ≥ 90 % of the raw frame-level server | {num(unary_ours)} vs {num(frame)} req/s = "
            f"{num(100 * ratio(unary_ours, frame) if frame else None, 0)} % | "
            f"{verdict(at_least(ratio(unary_ours, frame), 0.9))} |")
        add(f"| streaming msgs/s ≥ 5× grpc-swift-2 (Echo, h2load) | {num(stream_ours)} vs {num(stream_peer)} msgs/s = "
            f"{num(stream_ratio, 2)}×{noisy('stream-h2load')} (driven by bench-client instead: {num(client_stream[0])} vs "
            f"{num(client_stream[1])} = {num(ratio(*client_stream), 2)}×, client core busy "
            f"{num(med('stream', 'bench-server', 'client_core_busy'), 2)}) | {verdict(at_least(stream_ratio, 5))} |")
        add(f"| ping-pong p50 and p99 below grpc-swift-2 | p50 {num(pp['p50_us'][0])} vs {num(pp['p50_us'][1])} µs, "
            f"p99 {num(pp['p99_us'][0])} vs {num(pp['p99_us'][1])} µs{noisy('pingpong')} | {verdict(pp_ok)} |")
        add(f"| ≤ 40 allocations per unary RPC (server, h2load) | {num(allocs, 1)} | {verdict(at_most(allocs, 40))} |")
        add(f"| ≤ 64 KiB RSS per idle connection (1,000 connections) | {num(idle_ours, 1)} KiB | "
            f"{verdict(at_most(idle_ours, 64))} |")
        add(f"| 10,000 concurrent streams without errors | {len(streams_runs)} runs, {streams_errors} errors | "
            f"{verdict(None if not streams_runs else streams_errors == 0)} |")
        cpu_ours = med("client-unary", "bench-client", "client_cpu_us_per_item")
        cpu_peer = med("client-unary", "peer-client", "client_cpu_us_per_item")
        add(f"| our client ≥ 3× grpc-swift-2's client (unary, against bench-server) | {num(client_ours)} vs "
            f"{num(client_peer)} req/s = {num(client_ratio, 2)}× (client CPU per call {num(cpu_ours, 1)} vs "
            f"{num(cpu_peer, 1)} µs = {num(ratio(cpu_peer, cpu_ours), 2)}× less; the req/s ratio is capped by "
            f"bench-server's own limit on its one core){noisy('client-unary')} | {verdict(at_least(client_ratio, 3))} |")
        add("")

    def table(title, section, subjects, unit, note, reference=None, latency=True, extra=(), cpu_digits=1):
        runs_by = R.get(section, {})
        if not runs_by:
            return
        if reference and reference[0] not in runs_by:  # a partial run without the peer: against the ceiling
            reference = next(((alt, alt) for alt in ("raw-frame-server", "raw-frame-server-echo") if alt in runs_by), None)
        add(f"### {title}")
        add("")
        if note:
            add(note)
            add("")
        head = ["server" if not section.startswith("client") else "client", f"median {unit}", "runs"]
        if reference:
            head.append(f"× {reference[1]}")
        if latency:
            head += ["p50 µs", "p99 µs"]
        head += ["server CPU µs/item", "client CPU µs/item"] + [e[1] for e in extra] + ["other load on server core", "errors"]
        add("| " + " | ".join(head) + " |")
        add("|---|---:|---|" + "---:|" * (len(head) - 3))
        ref_value = median_of(runs_by.get(reference[0], []), "rate") if reference else None
        for subject in subjects:
            runs = runs_by.get(subject)
            if not runs:
                continue
            rate = median_of(runs, "rate")
            row = [LABEL.get(subject, subject), num(rate), " · ".join(num(r.get("rate")) for r in runs)]
            if reference:
                row.append(num(ratio(rate, ref_value), 2))
            if latency:
                row += [num(median_of(runs, "p50_us")), num(median_of(runs, "p99_us"))]
            row += [num(median_of(runs, "server_cpu_us_per_item"), cpu_digits),
                    num(median_of(runs, "client_cpu_us_per_item"), cpu_digits)]
            row += [num(median_of(runs, e[0]), e[2]) for e in extra]
            other = median_of(runs, "other_load_on_server_core")
            row.append("–" if other is None else f"{100 * other:.0f} %")
            row.append(str(total_errors(runs)))
            add("| " + " | ".join(row) + " |")
        add("")

    peak = ("peak_rss_kib", "peak RSS KiB", 0)
    client_busy = ("client_core_busy", "client core busy", 2)
    busy = ("server_cpu_share", "server core busy", 2)
    table("Unary getInfor, h2load (server side)", "unary-h2load",
          ["bench-server", "peer-server", "raw-frame-server", "owned-frame-server", "raw-child-server"]
          + OPTIONAL_PEERS, "req/s",
          "`h2load -c 4 -m 100`, the body a 5-byte gRPC prefix + `RequestInforPerson(name: \"trung\")`; "
          "latency from h2load's per-request log. The raw servers answer a canned response "
          "(no gRPC layer): they are ceilings. \"Server core busy\" is server CPU time / wall time "
          "(1.00: the server core was the limit). Peak RSS is the server's VmHWM after all rounds.",
          reference=("peer-server", "peer"), extra=[busy, peak])
    spike_summary(R, add)
    if R.get("unary-h2load", {}).get("raw-frame-server") and unary_ours:
        add(f"gRPC Simple as a fraction of the ceilings: {num(100 * ratio(unary_ours, frame) if frame else None)} % "
            f"of raw-frame-server, {num(100 * (ratio(unary_ours, med('unary-h2load', 'raw-child-server', 'rate')) or 0))} % "
            "of raw-child-server.")
        add("")
    web = R.get("web", {})
    if web:
        add("### The web protocols: unary getInfor on bench-server, h2load (server side)")
        add("")
        add("One bench-server, the same call in each protocol, alternated in every round: `h2load -c 4 -m 100` "
            "over HTTP/2; over HTTP/1.1 `h2load --h1 -c 4 -m 1` (keep-alive, one request at a time per "
            "connection, as a browser sends them), beside gRPC run one call at a time too. \"× gRPC\" is the "
            "median over rounds of this protocol's CPU per RPC over gRPC's (the same shape of load) in the same "
            "round.")
        add("")
        add("| protocol | median req/s | server CPU µs/RPC | × gRPC CPU | p99 ms | errors |")
        add("|---|---:|---:|---:|---:|---:|")
        for name, _, _, _, streams in WEB_PROTOCOLS:
            runs = web.get(name)
            if not runs:
                continue
            grpc_runs = web.get("gRPC" if streams > 1 else "gRPC, one call at a time", [])
            ratios = [run.get("server_cpu_us_per_item") / base.get("server_cpu_us_per_item")
                      for run, base in zip(runs, grpc_runs)
                      if run.get("server_cpu_us_per_item") and base.get("server_cpu_us_per_item")]
            p99 = median_of(runs, "p99_us")
            add("| " + " | ".join([
                name, num(median_of(runs, "rate")), num(median_of(runs, "server_cpu_us_per_item"), 1),
                f"{statistics.median(ratios):.2f}×" if ratios else "–", num(p99 / 1000 if p99 else None, 1),
                str(total_errors(runs))]) + " |")
        add("")
    observed = R.get("observability", {})
    if observed:
        off_runs = observed.get("bench-server", [])
        add("### The cost of observability: unary getInfor, h2load (server side)")
        add("")
        add("`h2load -c 4 -m 100` as above, against bench-server with observability off and on (`--metrics`: "
            "gRFC A66 metrics into swift-prometheus with A66's buckets; `--tracing`: a span per call with a tracer "
            "that keeps ids, attributes and status and exports nothing), alternated. \"Δ CPU\" is the median over "
            "rounds of (this server's CPU per RPC − the off server's in the same round). Allocations per RPC "
            "come from separate runs under the malloc counter.")
        add("")
        add("| server | median req/s | runs | server CPU µs/item | Δ CPU µs/RPC vs off | allocations/RPC "
            "| other load on server core | errors |")
        add("|---|---:|---|---:|---:|---:|---:|---:|")
        deltas_of = {}
        for name in OBSERVED:
            runs = observed.get(name)
            if not runs:
                continue
            pairs = [(run.get("server_cpu_us_per_item"), off.get("server_cpu_us_per_item"))
                     for run, off in zip(runs, off_runs)]
            deltas = [a - b for a, b in pairs if a is not None and b is not None]
            delta = statistics.median(deltas) if deltas and name != "bench-server" else None
            deltas_of[name] = delta
            allocs = (R.get("observability-allocs", {}).get(name) or [{}])[0].get("server_allocs_per_item")
            other = median_of(runs, "other_load_on_server_core")
            add("| " + " | ".join([
                LABEL.get(name, name), num(median_of(runs, "rate")), " · ".join(num(r.get("rate")) for r in runs),
                num(median_of(runs, "server_cpu_us_per_item"), 1), "–" if delta is None else f"{delta:+.2f}",
                num(allocs, 1), "–" if other is None else f"{100 * other:.0f} %", str(total_errors(runs))]) + " |")
        add("")
        metrics_delta = deltas_of.get("bench-server-metrics")
        backend = median_of(R.get("observability-backend", {}).get("bench-server", []), "backend_us_per_call")
        if backend is not None:
            add(f"swift-prometheus' own share (`bench-server --backend-cost`: the records of one call — the started "
                f"counter, the active-streams gauge up and down, the duration and two size histograms — in a loop, "
                f"median of {bench.rounds} runs): {backend:.2f} µs per call.")
            add("")
        if metrics_delta is not None:
            add(f"Target (Observability issue): metrics on cost ≤ 2 µs of server CPU per unary RPC: "
                f"{metrics_delta:+.2f} µs — **{'met' if metrics_delta <= 2 else 'not met'}**"
                + (f" (of which swift-prometheus {backend:.2f} µs, gRPC Simple {metrics_delta - backend:+.2f} µs)"
                   if backend is not None else "") + ".")
            add("")

    table("Unary getInfor, bench-client (server side)", "unary", ["bench-server", "peer-server"], "req/s",
          "bench-client, 4 connections × 100 calls in flight, 5-byte name. One client core: where \"client core "
          "busy\" nears 1.00 the client, not the server, is the limit.", reference=("peer-server", "peer"),
          extra=[client_busy, peak])
    for payload, connections, concurrency in ((1024, 4, 100), (65536, 4, 8), (1048576, 2, 2)):
        name = payload_name(payload)
        table(f"Unary getInfor with a {name} name (server side)", f"unary-{name}", ["bench-server", "peer-server"],
              "req/s", f"bench-client, {connections} connections × {concurrency} calls in flight; the name is "
              "echoed back, so each call moves the payload both ways.", reference=("peer-server", "peer"),
              extra=[("mb_per_s", "MB/s (one way)", 1), client_busy, peak])
    table("Streaming: StreamBench.Echo throughput with h2load (server side)", "stream-h2load",
          ["bench-server", "peer-server", "raw-frame-server-echo", "owned-frame-server"] + OPTIONAL_PEERS, "msgs/s",
          f"`h2load -c 1 -m 1`, each request one Echo call whose body is {ECHO_MESSAGES} framed `Person` messages "
          f"(16-byte names, {bench.echo_body_size:,} bytes); the server echoes them all, then ends when the "
          "request ends. msgs/s = calls/s × 1000; a run counts as failed unless the DATA bytes received equal "
          "the bytes sent. This is the streaming figure for the targets: h2load costs the load core little. "
          "raw-frame-server (`--echo`) and owned-frame-server echo the DATA verbatim, without reading the "
          "messages: ceilings, not comparable with the gRPC servers' per-message work.",
          reference=("peer-server", "peer"), latency=False,
          extra=[("mb_per_s", "MB/s (one way)", 1), busy, peak], cpu_digits=2)
    table("Streaming: StreamBench.Echo throughput with bench-client (server side)", "stream", ["bench-server", "peer-server"], "msgs/s",
          "bench-client, 1 connection, 1 Echo call keeping 100 messages (16-byte names) in flight; a message "
          "is counted when its echo arrives. Where \"client core busy\" nears 1.00 the client is the limit, "
          "not the server (the h2load table above is the server-side figure).", reference=("peer-server", "peer"),
          latency=False, extra=[("mb_per_s", "MB/s (one way)", 2), client_busy, peak])
    table("Ping-pong: one Echo call, one message in flight (server side)", "pingpong", ["bench-server", "peer-server"],
          "round trips/s", "bench-client; latency is one write and its echo.", reference=("peer-server", "peer"),
          extra=[peak])

    for section, title, note in (
            ("idle", "1,000 idle connections (server RSS)",
             "bench-client opens 100 connections, one getInfor each (the server's RSS is sampled), then 900 more "
             "(sampled again): RSS per connection = difference / 900. A fresh server per run."),
            ("streams", "10,000 concurrent Echo streams",
             "bench-client, 100 connections × 100 streams (the servers' limit of concurrent streams); each stream "
             "sends one message and waits for its echo, all stay open until every echo has arrived, then all end. "
             "A fresh server per run; peak RSS is its VmHWM.")):
        runs_by = R.get(section, {})
        if not runs_by:
            continue
        add(f"### {title}")
        add("")
        add(note)
        add("")
        if section == "idle":
            add("| server | median KiB per connection | runs | RSS at 100 / 1,000 connections (KiB, median) | errors |")
            add("|---|---:|---|---|---:|")
            for subject in ("bench-server", "peer-server"):
                runs = runs_by.get(subject, [])
                add(f"| {LABEL[subject]} | {num(median_of(runs, 'rss_per_connection_kib'), 1)} | "
                    f"{' · '.join(num(r.get('rss_per_connection_kib'), 1) for r in runs)} | "
                    f"{num(median_of(runs, 'rss_base_kib'))} / {num(median_of(runs, 'rss_all_kib'))} | "
                    f"{total_errors(runs)} |")
        else:
            add("| server | median time to all echoes (s) | median total (s) | runs (total s) | median peak RSS KiB | errors |")
            add("|---|---:|---:|---|---:|---:|")
            for subject in ("bench-server", "peer-server"):
                runs = runs_by.get(subject, [])
                add(f"| {LABEL[subject]} | {num(median_of(runs, 'all_echoed_s'), 2)} | {num(median_of(runs, 'seconds'), 2)} | "
                    f"{' · '.join(num(r.get('seconds'), 2) for r in runs)} | {num(median_of(runs, 'peak_rss_kib'))} | "
                    f"{total_errors(runs)} |")
        add("")

    table("Client side: unary getInfor against bench-server", "client-unary", ["bench-client", "peer-client", "go-client"],
          "req/s",
          "Both clients drive the same bench-server (4 connections × 100 calls in flight); client CPU is the client "
          "process's own CPU time per call.", reference=("peer-client", "peer client"), extra=[client_busy])
    table("Client side: load balancing (client CPU per unary call; server CPU counts the first server only)",
          "client-loadbalancing", ["one-address", "one-address-12-connections", "round-robin-3"], "req/s",
          "bench-client against one bench-server, and round_robin over three (`BENCH_TARGET`).", latency=True)
    backends = R.get("client-backends", {})
    if backends:
        add("### Client side: one channel over 100 backends")
        add("")
        add("One bench-client channel (`--connections 1`, 100 calls in flight): to one bench-server, and "
            "round_robin over 100 bench-servers (`BENCH_TARGET=ipv4:127.0.0.1:P1,…,127.0.0.1:P100`), "
            "alternated. Client RSS is read with the channel still open, after the run; the connected "
            "backends are counted with `ss` midway through the run.")
        add("")
        add("| shape | median req/s | runs | client CPU µs/call | client RSS KiB | backends connected | errors |")
        add("|---|---:|---|---:|---:|---:|---:|")
        for shape, runs in backends.items():
            add(f"| {shape} | {num(median_of(runs, 'rate'))} | {' · '.join(num(r.get('rate')) for r in runs)} | "
                f"{num(median_of(runs, 'client_cpu_us_per_item'), 2)} | {num(median_of(runs, 'client_rss_kib'))} | "
                f"{num(median_of(runs, 'backends_connected'))} | {total_errors(runs)} |")
        add("")

    table("Client side: Echo streaming against bench-server", "client-stream", ["bench-client", "peer-client", "go-client"],
          "msgs/s", "1 connection, 1 Echo call, 100 messages in flight.", reference=("peer-client", "peer client"),
          latency=False, extra=[client_busy])
    go_client_summary(R, add)

    alloc_rows = [(s, t) for s, t in (("allocs-unary-h2load", "unary getInfor, h2load (per RPC)"),
                                      ("allocs-unary-client", "unary getInfor, bench-client (per RPC)"),
                                      ("allocs-stream-h2load", "Echo streaming, h2load (per message)"),
                                      ("allocs-stream", "Echo streaming, bench-client (per message)"),
                                      ("allocs-pingpong", "Echo ping-pong (per round trip)")) if s in R]
    if alloc_rows:
        add("### Server allocations")
        add("")
        add("Separate runs with the server under the malloc counter (`LD_PRELOAD` of "
            "`Benchmarks/MallocCounter`): allocations between two reports, divided by the calls or messages "
            "completed in between; one run each.")
        add("")
        subjects = [s for s in ("bench-server", "peer-server", "raw-frame-server", "raw-child-server",
                                "owned-frame-server", "raw-frame-server-echo")
                    if any(s in R[section] for section, _ in alloc_rows)]
        add("| workload | " + " | ".join(LABEL[s] for s in subjects) + " |")
        add("|---|" + "---:|" * len(subjects))
        for section, title in alloc_rows:
            digits = 2 if "per message" in title else 1
            add(f"| {title} | " + " | ".join(
                num(median_of(R[section].get(s, []), "server_allocs_per_item"), digits) for s in subjects) + " |")
        add("")

    add("### Commands")
    add("")
    add("```sh")
    add("scripts/bench" + (" --quick" if quick else "") + "   # all of the below, then this page")
    add("# request bodies: /tmp/getinfor.bin = 00 00000007 0a05 'trung'; /tmp/echo.bin = 1000 framed Person "
        "messages (Benchmarks/scripts/bench.py, echo_body)")
    add("(cd Benchmarks && swift build -c release)")
    add(f"gcc -O2 -shared -fPIC -o Benchmarks/.build/libmalloc_counter.so Benchmarks/MallocCounter/malloc_counter.c")
    add("taskset -c 0 Benchmarks/.build/release/SERVER --port 0   # bench-server, peer-server, raw-frame-server, "
        "raw-child-server, owned-frame-server (raw-frame-server --echo in the streaming table)")
    if OPTIONAL_PEERS:
        add("Benchmarks/Peers/go/build && taskset -c 0 Benchmarks/.build/go-server --port 0   # optional peer "
            "(the build also makes Benchmarks/.build/go-client)")
    for what, command in bench.commands:
        add(f"# {what}")
        add(command.replace(ROOT + "/", "").replace(bench.tmp + "/", "/tmp/"))
    add("```")
    add("")
    all_errors = sum(total_errors(runs) for section in R.values() for runs in section.values())
    add(f"Errors over all runs: {all_errors}." + ("" if not all_errors else
        " See the per-run file for the first error of each failing run."))
    return "\n".join(lines)


def go_client_summary(R, add):
    """Our client against grpc-go's (go-client), both driving the same bench-server: the
    per-round ratios of client CPU per item and of rate, medians over the rounds."""
    lines = []
    for section, item in (("client-unary", "call"), ("client-stream", "streamed message")):
        ours, go = R.get(section, {}).get("bench-client", []), R.get(section, {}).get("go-client", [])
        if not ours or not go:
            continue

        def per_round(key):
            values = [a[key] / b[key] for a, b in zip(ours, go) if a.get(key) and b.get(key)]
            return (statistics.median(values), min(values), max(values)) if values else None
        cpu, rate = per_round("client_cpu_us_per_item"), per_round("rate")
        if cpu is None:
            continue
        lines.append(f"{section}: client CPU per {item} {num(median_of(ours, 'client_cpu_us_per_item'), 2)} vs "
                     f"{num(median_of(go, 'client_cpu_us_per_item'), 2)} µs, bench-client / go-client "
                     f"{cpu[0]:.2f}× (rounds {cpu[1]:.2f}-{cpu[2]:.2f}×)"
                     + (f"; rate {rate[0]:.2f}× (rounds {rate[1]:.2f}-{rate[2]:.2f}×)" if rate else "")
                     + f"; errors {total_errors(ours)} and {total_errors(go)}")
    if lines:
        add("Our client against grpc-go's (go-client, grpc-go's defaults, BDP probing on), per-round ratios, "
            "medians:")
        add("")
        for line in lines:
            add(f"- {line}.")
        add("")


def spike_summary(R, add):
    """The Performance issue's step 1: owned-frame-server against raw-frame-server (and go-server),
    as ratios of medians and round by round (servers alternate within a round, so a round's ratio
    shares its noise)."""
    unary = R.get("unary-h2load", {})
    owned, raw = unary.get("owned-frame-server"), unary.get("raw-frame-server")
    if not owned or not raw:
        return

    def per_round(a, b, key):
        return [ratio(x.get(key), y.get(key)) for x, y in zip(a, b)]

    def describe(a, b, key, digits=2):
        rounds = [r for r in per_round(a, b, key) if r is not None]
        med = ratio(median_of(a, key), median_of(b, key))
        return (f"{num(med, digits)} (median of rounds {num(statistics.median(rounds), digits) if rounds else '–'}; "
                f"rounds {' · '.join(num(r, digits) for r in rounds)})")
    cpu = ratio(median_of(owned, "server_cpu_us_per_item"), median_of(raw, "server_cpu_us_per_item"))
    add("Spike (Performance issue, step 1; adopt the owned codec at ≤ 0.60× raw-frame-server's CPU per RPC): "
        f"owned-frame-server / raw-frame-server, server CPU per RPC {describe(owned, raw, 'server_cpu_us_per_item')}"
        f"{' — **≤ 0.60**' if cpu is not None and cpu <= 0.6 else (' — **> 0.60**' if cpu is not None else '')}; "
        f"req/s {describe(owned, raw, 'rate')}; p99 {describe(owned, raw, 'p99_us')}.")
    go = unary.get("go-server")
    if go:
        add(f"Against go-server: server CPU per RPC {describe(owned, go, 'server_cpu_us_per_item')}; "
            f"req/s {describe(owned, go, 'rate')}.")
    stream = R.get("stream-h2load", {})
    s_owned, s_raw, s_go = stream.get("owned-frame-server"), stream.get("raw-frame-server-echo"), stream.get("go-server")
    if s_owned and s_raw:
        add(f"Streaming (Echo, verbatim): owned / raw-frame-server --echo, server CPU per message "
            f"{describe(s_owned, s_raw, 'server_cpu_us_per_item')}; msgs/s {describe(s_owned, s_raw, 'rate')}"
            + (f"; owned / go-server msgs/s {describe(s_owned, s_go, 'rate')}" if s_go else "") + ".")
    add("")


def rewrite_doc(generated):
    with open(DOC) as f:
        text = f.read()
    block = f"{BEGIN}\n{generated}\n{END}"
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + block + text[text.index(END) + len(END):]
    else:
        # First run: the generated part goes before the hand-written history.
        match = re.search(r"^## ", text, re.M)
        at = match.start() if match else len(text)
        text = text[:at] + block + "\n\n" + text[at:]
    with open(DOC, "w") as f:
        f.write(text)


# ---------------------------------------------------------------------------------------------


def build(only=None):
    if only is not None and set(only) <= {"observability", "web"}:
        # These sections run bench-server alone: no need to build the peers.
        log("building bench-server (release)")
        done = subprocess.run(["swift", "build", "-c", "release", "--product", "bench-server"], cwd=BENCH,
                              capture_output=True, text=True)
        if done.returncode != 0:
            sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
            sys.exit("error: swift build -c release --product bench-server failed in Benchmarks/")
        subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", MALLOC_LIB, MALLOC_SRC], check=True)
        return
    log("building Benchmarks/ (release)")
    done = subprocess.run(["swift", "build", "-c", "release"], cwd=BENCH, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        sys.exit("error: swift build -c release failed in Benchmarks/")
    for binary in list(SERVERS.values()) + [[os.path.join(BIN, "bench-client")], [os.path.join(BIN, "peer-client")]]:
        if not os.access(binary[0], os.X_OK):
            sys.exit(f"error: {binary[0]} was not built")
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", MALLOC_LIB, MALLOC_SRC], check=True)
    if shutil.which("go") and shutil.which("protoc-gen-go"):
        log("building the optional go-server and go-client (Benchmarks/Peers/go/build)")
        done = subprocess.run([os.path.join(BENCH, "Peers", "go", "build")], capture_output=True, text=True)
        if done.returncode == 0:
            OPTIONAL_PEERS.append("go-server")
            OPTIONAL_CLIENTS.append("go-client")
        else:
            log("go-server and go-client did not build; running without them:\n"
                + (done.stdout + done.stderr)[-1500:])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="shorter runs (3 rounds of 2 s), under 5 minutes")
    parser.add_argument("--no-doc", action="store_true", help="do not rewrite docs/BENCHMARKS.md or save the runs")
    parser.add_argument("--no-build", action="store_true", help="use the binaries already built")
    parser.add_argument("--only", metavar="SECTIONS",
                        help=f"run only these sections (comma-separated: {', '.join(SECTIONS)}); implies --no-doc")
    parser.add_argument("--servers", metavar="NAMES",
                        help="only these servers in the tables (comma-separated: " + ", ".join(
                            n for n in SERVERS if n != "raw-frame-server-echo") + "); implies --no-doc")
    parser.add_argument("--clients", metavar="NAMES",
                        help="only these load clients in the `client` section (comma-separated: "
                             + ", ".join(CLIENTS) + "); implies --no-doc")
    parser.add_argument("--spike", action="store_true",
                        help="the Performance issue's step 1: --only unary-h2load,stream-h2load,allocations "
                             "--servers raw-frame-server,owned-frame-server,go-server")
    options = parser.parse_args()
    if options.spike:
        options.only = options.only or "unary-h2load,stream-h2load,allocations"
        options.servers = options.servers or "raw-frame-server,owned-frame-server,go-server"
    only = None
    if options.only:
        only = [x.strip() for x in options.only.split(",") if x.strip()]
        unknown = [x for x in only if x not in SECTIONS]
        if unknown:
            sys.exit(f"error: unknown sections {unknown} (known: {', '.join(SECTIONS)})")
    if options.servers:
        global SERVER_FILTER
        SERVER_FILTER = {x.strip() for x in options.servers.split(",") if x.strip()}
        unknown = SERVER_FILTER - set(SERVERS)
        if unknown:
            sys.exit(f"error: unknown servers {sorted(unknown)} (known: {', '.join(SERVERS)})")
    if options.clients:
        global CLIENT_FILTER
        CLIENT_FILTER = {x.strip() for x in options.clients.split(",") if x.strip()}
        unknown = CLIENT_FILTER - set(CLIENTS)
        if unknown:
            sys.exit(f"error: unknown clients {sorted(unknown)} (known: {', '.join(CLIENTS)})")
    if only is not None or SERVER_FILTER is not None or CLIENT_FILTER is not None:
        options.no_doc = True  # a partial run must not replace the full run's section of the page
    for tool in ("taskset", "h2load", "gcc"):
        if subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode != 0:
            sys.exit(f"error: {tool} not found (apt-get install util-linux nghttp2-client gcc)")
    if os.cpu_count() < 2:
        sys.exit("error: needs 2 cores (server on core 0, load on core 1)")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < 4096:
        sys.exit("error: needs at least 4096 open files (ulimit -n)")
    if not options.no_build:
        build(only)
    else:
        if not os.access(MALLOC_LIB, os.R_OK):
            subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", MALLOC_LIB, MALLOC_SRC], check=True)
        if os.access(SERVERS["go-server"][0], os.X_OK):
            OPTIONAL_PEERS.append("go-server")
        if os.access(CLIENTS["go-client"], os.X_OK):
            OPTIONAL_CLIENTS.append("go-client")
    info = machine()
    bench = Bench(options.quick, only)
    try:
        bench.run()
    finally:
        shutil.rmtree(bench.tmp, ignore_errors=True)
    generated = render(bench, info, "")
    if options.no_doc:
        print(generated)
        return
    day = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    raw_name = f"{day}-bench{'-quick' if options.quick else ''}.txt"
    generated = render(bench, info, raw_name)
    os.makedirs(RAW_DIR, exist_ok=True)
    with open(os.path.join(RAW_DIR, raw_name), "w") as f:
        f.write(f"# scripts/bench{' --quick' if options.quick else ''}, {datetime.datetime.now(datetime.timezone.utc)}\n")
        f.write("# " + json.dumps(info) + "\n")
        f.write("# section | server or client | round | figures (rate: req/s or msgs/s; *_us: µs; rss: KiB)\n")
        f.write("\n".join(bench.raw) + "\n")
    rewrite_doc(generated)
    log(f"rewrote {os.path.relpath(DOC, ROOT)} and wrote docs/benchmarks/{raw_name}")
    print(generated)


if __name__ == "__main__":
    main()
