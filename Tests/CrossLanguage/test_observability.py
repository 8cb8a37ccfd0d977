"""Observability across languages and against real tools.

- Prometheus: person-server --metrics-port serves /metrics (gRFC A66 metrics in
  Prometheus form), checked by `promtool check metrics` and scraped by a real
  Prometheus server (both from Debian's `prometheus` package).
- Tracing: a grpcio client instrumented with opentelemetry-instrumentation-grpc
  calls person-server --tracing, whose server span joins the client's trace; and
  person-client --tracing calls an instrumented grpcio server, whose span is the
  child of ours. W3C traceparent on the wire both ways.

Every process listens on 127.0.0.1 only and is ended by PID; every wait is bounded.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from concurrent import futures

import grpc
import pytest
from opentelemetry.instrumentation.grpc import client_interceptor, server_interceptor
from opentelemetry.instrumentation.grpc.grpcext import intercept_channel
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from test_cross_language import (  # noqa: F401 (pb and stubs_dir are fixtures)
    CHANNEL_OPTIONS,
    RPC_TIMEOUT,
    Server,
    binary,
    describe,
    pb,
    run_client,
    stubs_dir,
)

METRICS_LINE = re.compile(r"^metrics on http://(\S+):(\d+)/metrics$")
SCRAPE_TIMEOUT = 60  # seconds for a real Prometheus to start and scrape


def start_person_server(*flags):
    server = Server([binary("PERSON_SERVER"), "--host", "127.0.0.1", "--port", "0"] + list(flags))
    try:
        server.wait_listening()
    except BaseException:
        server.kill()
        raise
    return server


def metrics_url(server):
    for line in server.stdout_lines:
        match = METRICS_LINE.match(line.strip())
        if match:
            return "http://127.0.0.1:%s/metrics" % match.group(2)
    server.fail("no `metrics on` line")


def fetch(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.headers.get("content-type"), response.read().decode("utf-8")


def sample(text, name, **labels):
    """The value of the sample `name{labels}` (labels matched exactly), or None."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        match = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$", line)
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
        if found == labels:
            return float(match.group(3))
    return None


def promtool():
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is not installed (scripts/test installs Debian's `prometheus` package)")
    return path


def server_lines(server, message):
    """person-server's stdout lines (swift-log's format) that end with `message`."""
    return [line for line in server.stdout_lines if line.endswith(" " + message)]


def field(line, key):
    match = re.search(r"(?:^| )%s=(\S*)" % re.escape(key), line)
    return match.group(1) if match else None


def wait_for(predicate, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


# --------------------------------------------------------------------------
# Prometheus
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def metrics_server():
    server = start_person_server("--metrics-port", "0")
    try:
        yield server
    finally:
        server.kill()


def test_metrics_count_calls_per_method_and_status(metrics_server, pb):
    channel = grpc.insecure_channel(metrics_server.address, options=CHANNEL_OPTIONS)
    try:
        stub = pb.person_pb2_grpc.AsillaServiceStub(channel)
        for _ in range(3):
            stub.getInfor(pb.person_pb2.RequestInforPerson(name="trung"), timeout=RPC_TIMEOUT)
        stub.checkMarried(pb.person_pb2.RequestCheckMaritalStatus(name="trung"), timeout=RPC_TIMEOUT)
        with pytest.raises(grpc.RpcError) as error:
            channel.unary_unary("/AsillaService/nope")(b"", timeout=RPC_TIMEOUT)
        assert error.value.code() == grpc.StatusCode.UNIMPLEMENTED
    finally:
        channel.close()

    status, content_type, text = fetch(metrics_url(metrics_server))
    assert status == 200 and content_type.startswith("text/plain")
    get = {"grpc_method": "AsillaService/getInfor"}
    ok = dict(get, grpc_status="OK")
    assert sample(text, "grpc_server_call_started_total", **get) == 3, text
    assert sample(text, "grpc_server_call_duration_seconds_count", **ok) == 3, text
    # A66's buckets, in seconds; every call of a local server takes under 5 s.
    assert sample(text, "grpc_server_call_duration_seconds_bucket", le="0.00001", **ok) is not None, text
    assert sample(text, "grpc_server_call_duration_seconds_bucket", le="5.0", **ok) == 3, text
    # RequestInforPerson(name="trung") is 7 bytes on the wire.
    assert sample(text, "grpc_server_call_rcvd_total_compressed_message_size_bytes_sum", **ok) == 21, text
    assert sample(text, "grpc_server_call_sent_total_compressed_message_size_bytes_count", **ok) == 3, text
    assert sample(text, "grpc_server_call_started_total", grpc_method="AsillaService/checkMarried") == 1, text
    assert sample(text, "grpc_server_call_started_total", grpc_method="other") == 1, text
    assert sample(text, "grpc_server_call_duration_seconds_count",
                  grpc_method="other", grpc_status="UNIMPLEMENTED") == 1, text
    assert sample(text, "grpc_server_active_streams") == 0, text
    assert sample(text, "grpc_server_open_connections") is not None, text


def test_metrics_pass_promtool(metrics_server, pb):
    channel = grpc.insecure_channel(metrics_server.address, options=CHANNEL_OPTIONS)
    try:
        pb.person_pb2_grpc.AsillaServiceStub(channel).getInfor(
            pb.person_pb2.RequestInforPerson(name="lint"), timeout=RPC_TIMEOUT)
    finally:
        channel.close()
    _, _, text = fetch(metrics_url(metrics_server))
    result = subprocess.run([promtool(), "check", "metrics"], input=text.encode(), capture_output=True, timeout=60)
    assert result.returncode == 0, "promtool:\n%s\n%s\n--- metrics ---\n%s" % (
        result.stdout.decode(), result.stderr.decode(), text)


def test_unknown_paths_get_404(metrics_server):
    with pytest.raises(urllib.error.HTTPError) as error:
        fetch(metrics_url(metrics_server).replace("/metrics", "/nope"))
    assert error.value.code == 404


@pytest.mark.parametrize("port", ["70000", "taken"])
def test_a_bad_metrics_port_fails_clearly(port):
    taken = None
    if port == "taken":
        taken = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = str(taken.getsockname()[1])
    try:
        result = subprocess.run(
            [binary("PERSON_SERVER"), "--host", "127.0.0.1", "--port", "0", "--metrics-port", port],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    finally:
        if taken is not None:
            taken.close()
    assert result.returncode != 0, describe(result)
    assert ("cannot serve metrics on 127.0.0.1:%s" % port) in result.stderr.decode(), describe(result)


def test_a_real_prometheus_scrapes_person_server(metrics_server, pb, tmp_path):
    prometheus = shutil.which("prometheus")
    if prometheus is None:
        pytest.fail("prometheus is not installed (scripts/test installs Debian's `prometheus` package)")
    channel = grpc.insecure_channel(metrics_server.address, options=CHANNEL_OPTIONS)
    try:
        stub = pb.person_pb2_grpc.AsillaServiceStub(channel)
        stub.checkMarried(pb.person_pb2.RequestCheckMaritalStatus(name="scraped"), timeout=RPC_TIMEOUT)
    finally:
        channel.close()
    target = urllib.parse.urlparse(metrics_url(metrics_server)).netloc
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n"
        "scrape_configs:\n  - job_name: person-server\n    static_configs:\n      - targets: ['%s']\n" % target)
    port = __import__("test_cross_language").unused_port()
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        [prometheus, "--config.file=%s" % config, "--storage.tsdb.path=%s" % (tmp_path / "data"),
         "--web.listen-address=127.0.0.1:%d" % port],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        query = "http://127.0.0.1:%d/api/v1/query?%s" % (port, urllib.parse.urlencode(
            {"query": 'grpc_server_call_started_total{grpc_method="AsillaService/checkMarried"}'}))

        def scraped():
            try:
                _, _, body = fetch(query, timeout=2)
            except OSError:
                return None
            result = json.loads(body)["data"]["result"]
            return result or None

        result = wait_for(scraped, timeout=SCRAPE_TIMEOUT)
        log.seek(0)
        assert result, "Prometheus scraped nothing within %d s:\n%s" % (SCRAPE_TIMEOUT, log.read().decode())
        assert float(result[0]["value"][1]) >= 1
        assert result[0]["metric"]["job"] == "person-server"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()


# --------------------------------------------------------------------------
# Tracing: W3C trace context between grpcio + OpenTelemetry and gRPC Simple
# --------------------------------------------------------------------------


def otel_provider():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def test_grpcio_client_trace_is_joined_by_person_server(pb):
    server = start_person_server("--tracing")
    provider, exporter = otel_provider()
    try:
        channel = intercept_channel(
            grpc.insecure_channel(server.address, options=CHANNEL_OPTIONS),
            client_interceptor(tracer_provider=provider))
        try:
            reply = pb.person_pb2_grpc.AsillaServiceStub(channel).getInfor(
                pb.person_pb2.RequestInforPerson(name="traced"), timeout=RPC_TIMEOUT)
            assert reply.name == "traced"
        finally:
            channel.close()
        [client_span] = [s for s in exporter.get_finished_spans() if s.name == "/AsillaService/getInfor"]
        trace_id = format(client_span.context.trace_id, "032x")
        span_id = format(client_span.context.span_id, "016x")

        spans = wait_for(lambda: server_lines(server, "span ended"))
        assert spans, server.describe()
        [span] = spans
        assert field(span, "span.kind") == "server", span
        assert field(span, "span.name") == "AsillaService/getInfor", span
        assert field(span, "trace_id") == trace_id, span
        assert field(span, "parent_span_id") == span_id, span
        assert field(span, "attr.rpc.system") == "grpc", span
        assert field(span, "attr.rpc.service") == "AsillaService", span
        assert field(span, "attr.rpc.method") == "getInfor", span
        assert field(span, "attr.rpc.grpc.status_code") == "0", span
        assert field(span, "attr.network.peer.address") == "127.0.0.1", span
        # The handler's own log line and the access log carry the caller's trace id.
        [handler_line] = server_lines(server, "getInfor")
        assert field(handler_line, "trace_id") == trace_id, handler_line
        [access] = server_lines(server, "call ended")
        assert field(access, "trace_id") == trace_id, access
        assert field(access, "grpc.status") == "OK", access
    finally:
        server.kill()


def test_person_client_span_parents_instrumented_grpcio_server(pb):
    provider, exporter = otel_provider()

    class Servicer(pb.person_pb2_grpc.AsillaServiceServicer):
        def getInfor(self, request, context):
            return pb.person_pb2.Person(name=request.name, id=7, married=False)

        def checkMarried(self, request, context):
            return pb.person_pb2.RespondGetMaritalStatus(married=True)

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4),
                         interceptors=[server_interceptor(tracer_provider=provider)])
    pb.person_pb2_grpc.add_AsillaServiceServicer_to_server(Servicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        result = run_client(["--ip", "127.0.0.1", "--port", str(port), "--name", "t", "--tracing"])
        assert result.returncode == 0, describe(result)
    finally:
        server.stop(grace=None).wait(timeout=10)

    ours = {field(line, "span.name"): line for line in result.stderr.splitlines() if line.endswith(" span ended")}
    assert set(ours) == {"AsillaService/getInfor", "AsillaService/checkMarried"}, describe(result)
    theirs = {span.name: span for span in exporter.get_finished_spans()}
    for method in ("getInfor", "checkMarried"):
        client_line = ours["AsillaService/" + method]
        server_span = theirs["/AsillaService/" + method]
        assert field(client_line, "span.kind") == "client", client_line
        assert format(server_span.context.trace_id, "032x") == field(client_line, "trace_id")
        assert server_span.parent is not None and server_span.parent.is_remote
        assert format(server_span.parent.span_id, "016x") == field(client_line, "span_id")
        assert field(client_line, "attr.rpc.grpc.status_code") == "0", client_line
        assert field(client_line, "attr.server.port") == str(port), client_line
    # The two calls are two traces: no caller span around them.
    assert field(ours["AsillaService/getInfor"], "trace_id") != field(ours["AsillaService/checkMarried"], "trace_id")
