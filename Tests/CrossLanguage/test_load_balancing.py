"""Load balancing, name resolution and client-side health checking across languages.

- our client (person-client --target ... --lb-policy round_robin) spreads its calls over
  three grpcio servers, and pick_first keeps them on one;
- grpcio's own round_robin client spreads its calls over three of our person-servers;
- our client reaches a grpcio server on an abstract Unix socket (unix-abstract:NAME);
- with a dns://SERVER/ target, our client asks that DNS server (dnsmasq) for the backends;
- with healthCheckConfig, our client watches grpcio's grpc.health.v1 and sends no call to
  a server that says NOT_SERVING, and calls it again once it says SERVING.
"""

import getpass
import os
import shutil
import signal
import socket
import struct
import subprocess
import time
import uuid

import grpc
import pytest

from test_cross_language import (  # noqa: F401  (pb and stubs_dir are fixtures)
    Server,
    binary,
    describe,
    pb,
    run_client,
    start_python_server,
    stubs_dir,
)
from test_observability import field, server_lines, start_person_server, wait_for

CALLS = 30  # getInfor calls, after one checkMarried


def python_calls(server):
    """How many calls the grpcio server logged (one stderr line per call, either method)."""
    return sum(1 for line in server.stderr().splitlines()
               if line.startswith("getInfor ") or line.startswith("checkMarried "))


def answered(result, calls):
    """Whether person-client printed one checkMarried line and `calls` getInfor lines."""
    lines = result.stdout.splitlines()
    return (sum(1 for line in lines if line.startswith("checkMarried(")) == 1
            and sum(1 for line in lines if line.startswith("getInfor(")) == calls)


def start_python_servers(stubs_dir, count, *extra):
    servers = []
    try:
        for _ in range(count):
            server = start_python_server(stubs_dir, *extra)
            servers.append(server)
            server.wait_listening()
    except BaseException:
        for server in servers:
            server.kill()
        raise
    return servers


@pytest.fixture
def three_python_servers(stubs_dir):
    servers = start_python_servers(stubs_dir, 3)
    yield servers
    for server in servers:
        server.kill()


def ipv4_target(servers):
    return "ipv4:" + ",".join("127.0.0.1:%d" % server.port for server in servers)


def test_our_round_robin_spreads_calls_over_three_grpcio_servers(three_python_servers):
    result = run_client(["--target", ipv4_target(three_python_servers), "--lb-policy", "round_robin",
                         "--calls", str(CALLS), "--name", "trung"])
    assert result.returncode == 0, describe(result)
    assert answered(result, CALLS), describe(result)
    counts = [python_calls(server) for server in three_python_servers]
    assert sum(counts) == CALLS + 1, counts
    # Every server takes part; none takes the lion's share. (Calls go only to READY
    # servers, so the first few may favour the first to connect.)
    assert all(count >= CALLS // 6 for count in counts), counts


def test_our_pick_first_keeps_calls_on_one_grpcio_server(three_python_servers):
    result = run_client(["--target", ipv4_target(three_python_servers), "--lb-policy", "pick_first",
                         "--calls", "10", "--name", "trung"])
    assert result.returncode == 0, describe(result)
    counts = [python_calls(server) for server in three_python_servers]
    assert counts == [11, 0, 0], counts


def test_a_service_config_chooses_the_policy(three_python_servers):
    config = '{"loadBalancingConfig": [{"round_robin": {}}]}'
    result = run_client(["--target", ipv4_target(three_python_servers), "--service-config", config,
                         "--calls", str(CALLS), "--name", "trung"])
    assert result.returncode == 0, describe(result)
    counts = [python_calls(server) for server in three_python_servers]
    assert sum(counts) == CALLS + 1 and all(count > 0 for count in counts), counts


def test_a_bad_service_config_names_the_field(three_python_servers):
    config = '{"methodConfig": [{"name": [{"service": "AsillaService"}], "timeout": "soon"}]}'
    result = run_client(["--target", ipv4_target(three_python_servers), "--service-config", config])
    assert result.returncode != 0, describe(result)
    assert "INVALID_ARGUMENT" in result.stderr and "timeout" in result.stderr, describe(result)


def test_grpcio_round_robin_spreads_calls_over_three_person_servers(pb):
    servers = []
    try:
        for _ in range(3):
            servers.append(start_person_server())
        target = "ipv4:" + ",".join("127.0.0.1:%d" % server.port for server in servers)
        with grpc.insecure_channel(target, options=[("grpc.lb_policy_name", "round_robin")]) as channel:
            grpc.channel_ready_future(channel).result(timeout=10)
            stub = pb.person_pb2_grpc.AsillaServiceStub(channel)
            for _ in range(CALLS):
                stub.getInfor(pb.person_pb2.RequestInforPerson(name="trung"), timeout=10)

        def counts():
            return [sum(1 for line in server_lines(server, "call ended")
                        if field(line, "grpc.method") == "AsillaService/getInfor") for server in servers]

        assert wait_for(lambda: sum(counts()) == CALLS), counts()
        assert all(count >= CALLS // 6 for count in counts()), counts()
    finally:
        for server in servers:
            server.kill()


def test_our_client_reaches_a_grpcio_server_on_an_abstract_unix_socket(stubs_dir):
    name = "grpc-simple-test-%s" % uuid.uuid4().hex
    server = start_python_server(stubs_dir, "--unix-abstract", name)
    try:
        deadline = time.monotonic() + 30
        while "listening on unix-abstract:%s" % name not in server.stdout_lines:
            if server.proc.poll() is not None or time.monotonic() > deadline:
                server.fail("did not listen on unix-abstract:%s" % name)
            time.sleep(0.05)
        result = run_client(["--target", "unix-abstract:%s" % name, "--name", "abstract"])
        assert result.returncode == 0, describe(result)
        assert "getInfor(abstract): name: abstract" in result.stdout, describe(result)
        # Another name is another socket: nobody listens there.
        missing = run_client(["--target", "unix-abstract:%s-missing" % name, "--name", "x"])
        assert missing.returncode != 0 and "UNAVAILABLE" in missing.stderr, describe(missing)
    finally:
        server.kill()


def test_our_client_skips_a_grpcio_server_that_is_not_serving(stubs_dir):
    servers = start_python_servers(stubs_dir, 2, "--health", "SERVING")
    try:
        # The second server stops serving; the client's health watch hears it first thing.
        servers[1].proc.send_signal(signal.SIGUSR1)
        assert wait_for(lambda: "health NOT_SERVING" in servers[1].stderr()), servers[1].describe()
        config = ('{"loadBalancingConfig": [{"round_robin": {}}],'
                  ' "healthCheckConfig": {"serviceName": "AsillaService"}}')
        result = run_client(["--target", ipv4_target(servers), "--service-config", config,
                             "--calls", "10", "--name", "trung"])
        assert result.returncode == 0, describe(result)
        counts = [python_calls(server) for server in servers]
        assert counts == [11, 0], counts

        # Serving again: it takes calls again.
        servers[1].proc.send_signal(signal.SIGUSR1)
        assert wait_for(lambda: "health SERVING" in servers[1].stderr().split("health NOT_SERVING")[-1])
        result = run_client(["--target", ipv4_target(servers), "--service-config", config,
                             "--calls", str(CALLS), "--name", "trung"])
        assert result.returncode == 0, describe(result)
        counts = [python_calls(server) for server in servers]
        assert counts[0] > 11 and counts[1] > 0, counts
    finally:
        for server in servers:
            server.kill()


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def dns_answers(port, name):
    """Whether a DNS server on 127.0.0.1:port answers an A query for `name` (a hand-made query)."""
    query = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0)
    query += b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\0"
    query += struct.pack(">HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.settimeout(0.5)
        try:
            client.sendto(query, ("127.0.0.1", port))
            answer = client.recv(4096)
            # Our id, NOERROR, at least one answer.
            return answer[:2] == b"\x42\x42" and answer[3] & 0x0F == 0 and answer[6:8] != b"\0\0"
        except OSError:
            return False


@pytest.fixture
def dnsmasq(tmp_path):
    """dnsmasq (Debian's dnsmasq-base) on 127.0.0.1, answering backends.test with 127.0.0.2
    and 127.0.0.3 from a hosts file, and nothing else (no upstream)."""
    binary_path = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
    assert os.path.exists(binary_path), "dnsmasq is missing: apt-get install dnsmasq-base (scripts/test does)"
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.2 backends.test\n127.0.0.3 backends.test\n")
    port = free_udp_port()
    log = open(tmp_path / "dnsmasq.log", "w")
    proc = subprocess.Popen([binary_path, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
                             "--no-hosts", "--addn-hosts=%s" % hosts, "--listen-address=127.0.0.1",
                             "--bind-interfaces", "--port=%d" % port, "--pid-file=", "--log-facility=-",
                             "--log-queries",
                             # as this user: dnsmasq started by root would drop to nobody,
                             # who cannot read pytest's temporary directory
                             "--user=%s" % getpass.getuser()], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while not dns_answers(port, "backends.test"):
            assert proc.poll() is None and time.monotonic() < deadline, \
                "dnsmasq did not answer: %s" % (tmp_path / "dnsmasq.log").read_text()
        yield port, tmp_path / "dnsmasq.log"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def test_our_client_asks_the_dns_server_its_target_names(stubs_dir, dnsmasq):
    """dns://127.0.0.1:PORT/backends.test:P: our client asks dnsmasq, not the system's
    resolver, and spreads its calls over the two grpcio servers it names."""
    dns_port, dns_log = dnsmasq
    servers = []
    try:
        first = start_python_server(stubs_dir, "--host", "127.0.0.2")
        servers.append(first)
        port = first.wait_listening()[1]
        second = start_python_server(stubs_dir, "--host", "127.0.0.3", "--port", str(port))
        servers.append(second)
        second.wait_listening()
        result = run_client(["--target", "dns://127.0.0.1:%d/backends.test:%d" % (dns_port, port),
                             "--lb-policy", "round_robin", "--calls", "10", "--name", "trung"])
        assert result.returncode == 0, describe(result)
        assert answered(result, 10), describe(result)
        counts = [python_calls(server) for server in servers]
        assert sum(counts) == 11 and all(count > 0 for count in counts), counts
        log = dns_log.read_text()
        assert "query[A] backends.test from 127.0.0.1" in log, log
        assert "query[AAAA] backends.test from 127.0.0.1" in log, log
    finally:
        for server in servers:
            server.kill()


def test_a_name_the_dns_server_does_not_know_fails_with_its_answer(dnsmasq):
    dns_port, _ = dnsmasq
    result = run_client(["--target", "dns://127.0.0.1:%d/nowhere.test:50051" % dns_port, "--name", "trung"])
    assert result.returncode != 0, describe(result)
    # dnsmasq, with no upstream to ask, refuses a name it does not have.
    assert ("UNAVAILABLE: the DNS server 127.0.0.1:%d answered REFUSED for 'nowhere.test'" % dns_port
            in result.stderr), describe(result)
