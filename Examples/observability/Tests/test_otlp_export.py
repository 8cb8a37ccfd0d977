"""Examples/observability exports over OTLP/HTTP to a real receiver: its spans, A66
metrics and logs arrive, and parse with opentelemetry-proto.

Run: OBSERVABILITY_EXAMPLE=.../observability-example python -m pytest Examples/observability/Tests
"""

import os
import subprocess

import pytest

from otlp_receiver import OTLPReceiver

RUN_TIMEOUT = 120  # seconds for the example to serve, call, shut down and flush
CALLS = 3
CHECK = "grpc.health.v1.Health/Check"


def attributes(items):
    values = {}
    for item in items:
        value = item.value
        kind = value.WhichOneof("value")
        values[item.key] = getattr(value, kind) if kind else None
    return values


@pytest.fixture(scope="module")
def exported():
    example = os.environ.get("OBSERVABILITY_EXAMPLE")
    if not example:
        pytest.skip("OBSERVABILITY_EXAMPLE is not set")
    with OTLPReceiver() as receiver:
        env = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
        result = subprocess.run(
            [example, "--otlp-endpoint", receiver.endpoint, "--calls", str(CALLS)],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=RUN_TIMEOUT, env=env)
        output = "exit code %s\n--- stdout ---\n%s\n--- stderr ---\n%s" % (
            result.returncode, result.stdout.decode(errors="replace"), result.stderr.decode(errors="replace"))
        assert result.returncode == 0, output
        assert not receiver.errors, receiver.errors
        yield receiver, output


def test_spans_of_both_sides_form_one_trace(exported):
    receiver, output = exported
    spans = [span for _, span in receiver.spans()]
    [workload] = [span for span in spans if span.name == "workload"]
    clients = [span for span in spans if span.name == CHECK and span.kind == span.SPAN_KIND_CLIENT]
    servers = [span for span in spans if span.name == CHECK and span.kind == span.SPAN_KIND_SERVER]
    assert len(clients) == CALLS and len(servers) == CALLS, output
    client_ids = {span.span_id for span in clients}
    for client in clients:
        assert client.trace_id == workload.trace_id
        assert client.parent_span_id == workload.span_id
        values = attributes(client.attributes)
        assert values["rpc.system"] == "grpc" and values["rpc.method"] == "Check", values
        assert values["rpc.service"] == "grpc.health.v1.Health" and values["rpc.grpc.status_code"] == 0, values
    for server in servers:
        assert server.trace_id == workload.trace_id
        assert server.parent_span_id in client_ids
        assert attributes(server.attributes)["network.peer.address"] == "127.0.0.1"
    resources = {attributes(resource.attributes).get("service.name") for resource, _ in receiver.spans()}
    assert resources == {"grpc-simple-observability-example"}


def metric_points(receiver, name):
    points = []
    for metric in receiver.metrics():
        if metric.name != name:
            continue
        kind = metric.WhichOneof("data")
        points.extend(getattr(metric, kind).data_points)
    return points


def test_a66_metrics_arrive(exported):
    receiver, output = exported
    # Cumulative temporality: the last export of a series holds its total.
    started = [p for p in metric_points(receiver, "grpc.server.call.started")
               if attributes(p.attributes) == {"grpc.method": CHECK}]
    assert started and max(p.as_int or p.as_double for p in started) == CALLS, output
    durations = [p for p in metric_points(receiver, "grpc.client.attempt.duration")
                 if attributes(p.attributes).get("grpc.status") == "OK"]
    assert durations and max(p.count for p in durations) == CALLS, output
    [point] = durations[-1:]
    assert attributes(point.attributes)["grpc.method"] == CHECK
    assert attributes(point.attributes)["grpc.target"].startswith("dns:///127.0.0.1:")
    # A66's latency buckets (swift-otel exports them in seconds).
    assert list(point.explicit_bounds)[:3] == [0, 0.00001, 0.00005], list(point.explicit_bounds)
    sizes = metric_points(receiver, "grpc.server.call.rcvd_total_compressed_message_size")
    assert sizes and max(p.count for p in sizes) == CALLS


def test_logs_arrive_with_the_access_log(exported):
    receiver, output = exported
    bodies = [record.body.string_value for record in receiver.logs()]
    assert bodies.count("call ended") == CALLS, output
    [access] = [record for record in receiver.logs() if record.body.string_value == "call ended"][:1]
    values = attributes(access.attributes)
    assert values.get("grpc.method") == CHECK and values.get("grpc.status") == "OK", values
    assert bodies.count("health checked") == CALLS
