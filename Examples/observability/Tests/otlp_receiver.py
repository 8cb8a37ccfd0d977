"""A small OTLP/HTTP receiver (protobuf encoding) for tests: accepts POST /v1/traces,
/v1/metrics and /v1/logs, parses them with opentelemetry-proto and keeps what came.

    with OTLPReceiver() as receiver:
        ... export to receiver.endpoint (http://127.0.0.1:PORT) ...
        receiver.spans(), receiver.metrics(), receiver.logs()
"""

import gzip
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

SIGNALS = {
    "/v1/traces": (trace_service_pb2.ExportTraceServiceRequest, trace_service_pb2.ExportTraceServiceResponse),
    "/v1/metrics": (metrics_service_pb2.ExportMetricsServiceRequest, metrics_service_pb2.ExportMetricsServiceResponse),
    "/v1/logs": (logs_service_pb2.ExportLogsServiceRequest, logs_service_pb2.ExportLogsServiceResponse),
}


class OTLPReceiver:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = {path: [] for path in SIGNALS}
        self.errors = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                kinds = SIGNALS.get(self.path)
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                if kinds is None:
                    self.send_error(404)
                    return
                if self.headers.get("content-type", "").split(";")[0].strip() != "application/x-protobuf":
                    receiver.fail("%s: content-type %r" % (self.path, self.headers.get("content-type")))
                    self.send_error(415)
                    return
                if self.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                request = kinds[0]()
                try:
                    request.ParseFromString(body)
                except Exception as error:  # noqa: BLE001 (report any parse failure)
                    receiver.fail("%s: unparsable body: %s" % (self.path, error))
                    self.send_error(400)
                    return
                with receiver.lock:
                    receiver.requests[self.path].append(request)
                reply = kinds[1]().SerializeToString()
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def fail(self, why):
        with self.lock:
            self.errors.append(why)

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self.server.server_address[1]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def _received(self, path):
        with self.lock:
            return list(self.requests[path])

    def spans(self):
        """Every span received, with its resource's attributes: [(resource, span)]."""
        return [(resource_spans.resource, span)
                for request in self._received("/v1/traces")
                for resource_spans in request.resource_spans
                for scope_spans in resource_spans.scope_spans
                for span in scope_spans.spans]

    def metrics(self):
        """Every metric received: [metric] (one per export)."""
        return [metric
                for request in self._received("/v1/metrics")
                for resource_metrics in request.resource_metrics
                for scope_metrics in resource_metrics.scope_metrics
                for metric in scope_metrics.metrics]

    def logs(self):
        """Every log record received."""
        return [record
                for request in self._received("/v1/logs")
                for resource_logs in request.resource_logs
                for scope_logs in resource_logs.scope_logs
                for record in scope_logs.log_records]
