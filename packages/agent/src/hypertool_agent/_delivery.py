"""The agent's metrics exporter: every export named, and kept in the spool when it fails.

``DeliveringExporter`` stands where the OTLP exporter stood in the agent's own
MeterProvider. It encodes each collection once, names it with ``names.DELIVERY_ID``, and
sends it with the SDK's OTLP gRPC exporter (its endpoint, headers, TLS, compression and
retries, from the standard ``OTEL_*`` variables). A failed send goes to the spool
(``_spool``); a successful one then sends what waits there. Offline (the collector
refused the connection at exit), it writes to the spool without trying the network.
"""

from __future__ import annotations

import itertools
import logging
import threading
import uuid
from pathlib import Path
from typing import Any

from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData

from hypertool_agent._spool import Spool, points_in, tag
from hypertool_agent._spools import DrainResult, SpoolStatus

_log = logging.getLogger("hypertool_agent")


class RequestExporter(OTLPMetricExporter):
    """The SDK's OTLP gRPC metric exporter, fed requests already encoded.

    The SDK's retry loop (``_export``) encodes through ``_translate_data`` and sizes
    through ``_count_data``; passing the request through both lets one encoding serve the
    first attempt, the spool and every resend. Pinned with the SDK (>= 1.36, < 2).
    """

    def _translate_data(self, data: Any) -> ExportMetricsServiceRequest:  # noqa: ANN401 - the SDK's signature
        if isinstance(data, ExportMetricsServiceRequest):
            return data
        return super()._translate_data(data)

    def _count_data(self, data: Any) -> int:  # noqa: ANN401 - the SDK's signature
        if isinstance(data, ExportMetricsServiceRequest):
            return points_in(data)
        return int(super()._count_data(data))

    def send(self, request: ExportMetricsServiceRequest) -> bool:
        """Send ``request`` with the SDK's retries; True once the collector took it."""
        return self._export(request) is MetricExportResult.SUCCESS  # type: ignore[arg-type]

    def stop_waiting(self) -> None:
        """End a retry's backoff now, and make every later send a single attempt.

        The SDK's own event for this (it ends the wait at shutdown); without it (an SDK
        that has none) sends keep their backoff, bounded by the exit's own.
        """
        event = getattr(self, "_shutdown_in_progress", None)
        if isinstance(event, threading.Event):
            event.set()


class DeliveringExporter(MetricExporter):
    """Names each export, falls back to the spool, and drains it after a success."""

    def __init__(self, inner: RequestExporter, spool: Spool | None) -> None:
        super().__init__(
            preferred_temporality=inner._preferred_temporality,
            preferred_aggregation=inner._preferred_aggregation,
        )
        self._inner = inner
        self._spool = spool
        self._process = uuid.uuid4().hex
        self._sequence = itertools.count(1)
        self._offline = threading.Event()
        self._hurried = threading.Event()
        self._inner_shut = threading.Lock()
        self._inner_is_shut = False

    @property
    def spool(self) -> Spool | None:
        """Where failed exports wait, or None when the spool is off."""
        return self._spool

    def export(
        self,
        metrics_data: MetricsData,
        timeout_millis: float = 10_000,
        **kwargs: Any,  # noqa: ANN401 - the SDK's signature
    ) -> MetricExportResult:
        """Send one collection, or keep it in the spool; then send what waits there."""
        request = encode_metrics(metrics_data)
        tag(request, f"{self._process}:{next(self._sequence)}")
        if self._sent(request):
            if self._spool is not None and not self._offline.is_set():
                self._spool.drain(self._inner.send)
            return MetricExportResult.SUCCESS
        return self._keep(request)

    def _sent(self, request: ExportMetricsServiceRequest) -> bool:
        if self._offline.is_set():
            return False
        if self._inner.send(request):
            return True
        # A send whose backoff hurry() cut short has not had its answer from a collector
        # that is back: one more attempt, at once.
        return self._hurried.is_set() and not self._offline.is_set() and self._inner.send(request)

    def _keep(self, request: ExportMetricsServiceRequest) -> MetricExportResult:
        if self._spool is None:
            return MetricExportResult.FAILURE
        kept = self._spool.put(request)
        if kept:
            _log.info(
                "hypertool: export kept in the spool %s until the collector takes it",
                self._spool.directory,
            )
        return MetricExportResult.SUCCESS if kept else MetricExportResult.FAILURE

    def hurry(self) -> None:
        """At exit, with the collector listening: no more waiting between attempts.

        An export retrying through an outage may be sleeping in its backoff when the
        collector comes back; the exit would wait for it to the bound and then spool what
        it could have sent. Ending the backoff sends it at once (single attempts from
        now on, the spool for what still fails).
        """
        self._hurried.set()
        self._inner.stop_waiting()

    def go_offline(self) -> None:
        """Spool every export from now on, and cut short a send in progress.

        Shutting the SDK exporter down ends its retry wait and closes its channel, so an
        export stuck on an unreachable collector fails at once and is spooled.
        """
        self._offline.set()
        self._shutdown_inner()

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        """Nothing is buffered here: each export is sent or spooled when it is made."""
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:  # noqa: ANN401
        """Close the SDK exporter (once)."""
        self._shutdown_inner()

    def _shutdown_inner(self) -> None:
        with self._inner_shut:
            if self._inner_is_shut:
                return
            self._inner_is_shut = True
        self._inner.shutdown()


def drain_all(root: Path | None = None) -> list[tuple[SpoolStatus, DrainResult]]:
    """Drain every endpoint's spool under ``root`` completely, or until a refusal."""
    from hypertool_agent._spool import spools
    from hypertool_agent._telemetry import PREFERRED_TEMPORALITY

    results = []
    for spool in spools(root):
        before = spool.status()
        exporter = RequestExporter(
            endpoint=spool.endpoint, preferred_temporality=PREFERRED_TEMPORALITY
        )
        try:
            results.append((before, spool.drain(exporter.send, max_files=None)))
        finally:
            exporter.shutdown()
    return results
