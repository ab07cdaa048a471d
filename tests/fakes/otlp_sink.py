"""An OTLP gRPC backend on loopback that records everything it is sent.

It stands where Tempo would be: the collector's ``otlp_grpc/traces`` exporter forwards
spans to it (``HYPERTOOL_TRACES_ENDPOINT``), and a test reads what arrived. It answers the
trace and the metrics service, so an instrumented app can also be pointed at it directly
to see its raw OTLP::

    with OtlpSink() as sink:
        run_collector(HYPERTOOL_TRACES_ENDPOINT=sink.endpoint)
    assert PROMPT.encode() not in sink.raw()
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self, TypeVar

import grpc  # type: ignore[import-untyped]  # grpcio ships no type information
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric
from opentelemetry.proto.trace.v1.trace_pb2 import Span

TRACE_SERVICE = "opentelemetry.proto.collector.trace.v1.TraceService"
METRICS_SERVICE = "opentelemetry.proto.collector.metrics.v1.MetricsService"
_Request = TypeVar("_Request")


def value_of(value: AnyValue) -> object:
    """The Python value of an OTLP AnyValue (arrays and maps as lists and dicts)."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [value_of(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return attributes(value.kvlist_value.values)
    if kind == "bytes_value":
        return value.bytes_value
    return getattr(value, kind)


def attributes(pairs: Iterable[KeyValue]) -> dict[str, object]:
    """An OTLP attribute list as a dict."""
    return {kv.key: value_of(kv.value) for kv in pairs}


@dataclass(frozen=True)
class ReceivedSpan:
    """One span as the backend got it, with its resource and scope."""

    resource: dict[str, object]
    scope: str
    span: Span

    @property
    def name(self) -> str:
        """The span's name."""
        return self.span.name

    @property
    def attributes(self) -> dict[str, object]:
        """The span's attributes."""
        return attributes(self.span.attributes)


@dataclass(frozen=True)
class ReceivedMetric:
    """One metric as the backend got it, with its resource and scope."""

    resource: dict[str, object]
    scope: str
    metric: Metric


class OtlpSink:
    """A gRPC OTLP server on 127.0.0.1 and a free port; every request is kept."""

    def __init__(self) -> None:
        """Bind; serving starts on ``__enter__``."""
        self._lock = threading.Lock()
        self._traces: list[ExportTraceServiceRequest] = []
        self._metrics: list[ExportMetricsServiceRequest] = []
        self._raw: list[bytes] = []
        self._server: Any = grpc.server(ThreadPoolExecutor(max_workers=4))
        self._server.add_generic_rpc_handlers(
            (
                self._handler(TRACE_SERVICE, ExportTraceServiceRequest.FromString, self._traces),
                self._handler(
                    METRICS_SERVICE, ExportMetricsServiceRequest.FromString, self._metrics
                ),
            )
        )
        self.port: int = int(self._server.add_insecure_port("127.0.0.1:0"))

    def _handler(
        self,
        service: str,
        parse: Callable[[bytes], _Request],
        into: list[_Request],
    ) -> Any:  # noqa: ANN401 - a grpc.GenericRpcHandler; grpcio is untyped
        def deserialize(data: bytes) -> tuple[bytes, _Request]:
            return data, parse(data)

        def export(request: tuple[bytes, _Request], context: object) -> bytes:
            with self._lock:
                self._raw.append(request[0])
                into.append(request[1])
            return b""  # an empty Export*ServiceResponse: everything accepted

        return grpc.method_handlers_generic_handler(
            service,
            {
                "Export": grpc.unary_unary_rpc_method_handler(
                    export, request_deserializer=deserialize, response_serializer=bytes
                )
            },
        )

    @property
    def endpoint(self) -> str:
        """host:port, as the collector's otlp exporter takes it."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """http://host:port, as OTEL_EXPORTER_OTLP_ENDPOINT takes it."""
        return f"http://{self.endpoint}"

    def __enter__(self) -> Self:
        """Start serving."""
        self._server.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop serving at once."""
        self._server.stop(grace=None).wait()

    def raw(self) -> bytes:
        """Every request received, serialized as it came, concatenated (to grep for text)."""
        with self._lock:
            return b"".join(self._raw)

    def spans(self) -> list[ReceivedSpan]:
        """Every span received, in arrival order."""
        with self._lock:
            requests = list(self._traces)
        return [
            ReceivedSpan(attributes(rs.resource.attributes), ss.scope.name, span)
            for request in requests
            for rs in request.resource_spans
            for ss in rs.scope_spans
            for span in ss.spans
        ]

    def metrics(self) -> list[ReceivedMetric]:
        """Every metric received, in arrival order (one entry per metric per export)."""
        with self._lock:
            requests = list(self._metrics)
        return [
            ReceivedMetric(attributes(rm.resource.attributes), sm.scope.name, metric)
            for request in requests
            for rm in request.resource_metrics
            for sm in rm.scope_metrics
            for metric in sm.metrics
        ]
