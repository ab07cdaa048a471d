"""Benchmarks with processes and the real native stack.

Export cost, memory, collector throughput, freshness, exit latency with the collector down.
"""

from __future__ import annotations

import json
import os
import random
import socket
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

from hypertool_tools.stack.launcher import Stack
from tests.conftest import PrometheusClient, free_ports

ROOT = Path(__file__).resolve().parents[1]


def _python(code: str, env: dict[str, str], timeout: float = 120) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )
    return time.perf_counter() - started, done.stdout


EXPORT_COST = """
    import json, resource, time
    import hypertool_agent
    from hypertool_agent import PersonaMetricsCollector, WorkflowTracer
    telemetry = hypertool_agent.configure(max_label_values=20000, export_interval_ms=3600000)
    collector = PersonaMetricsCollector(telemetry=telemetry)
    for i in range(10000):
        collector.record_token_usage(f"persona-{i}", "bench", "gpt-4o", 1)
    cpu = time.process_time()
    telemetry.flush(60)
    points_cpu = time.process_time() - cpu
    with WorkflowTracer("bench", collector, telemetry=telemetry) as tracer:
        for i in range(10000):
            with tracer.stage_context("s", "p"):
                pass
    cpu = time.process_time()
    telemetry.flush(60)
    spans_cpu = time.process_time() - cpu
    print(json.dumps({"points_cpu_s": points_cpu, "spans_cpu_s": spans_cpu}))
"""

MEMORY = """
    import json, resource
    from hypertool_agent import PersonaMetricsCollector
    c = PersonaMetricsCollector()
    for i in range(200):
        c.record_token_usage(f"warm-{i % 5}", "bench", "gpt-4o", 1)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for i in range(10000):
        c.record_token_usage(f"persona-{i}", "bench", f"model-{i}", 1)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rss_growth_kib": after - before}))
"""


def export_cost(prom_stack: Stack) -> dict[str, float]:
    """CPU to export 10,000 points and 10,000 spans; memory for 10,000 label sets, guarded."""
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": prom_stack.otlp_grpc_endpoint}
    _, out = _python(EXPORT_COST, env)
    result: dict[str, float] = json.loads(out)
    _, out = _python(MEMORY, {**env, "OTEL_METRIC_EXPORT_INTERVAL": "3600000"})
    result.update(json.loads(out))
    return result


LOADGEN = """
    import json, sys, time
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    class Keep(SpanExporter):
        def __init__(self): self.spans = []
        def export(self, spans): self.spans.extend(spans); return SpanExportResult.SUCCESS

    total, batch = int(sys.argv[1]), int(sys.argv[2])
    keep = Keep()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(keep))
    tracer = provider.get_tracer("loadgen")
    for i in range(batch):
        with tracer.start_as_current_span("stage load", attributes={
            "hypertool.span.type": "stage", "hypertool.workflow.name": "load",
            "hypertool.stage.name": "s%d" % (i % 10), "hypertool.persona.name": "loadgen"}):
            pass
    exporter = OTLPSpanExporter(timeout=30)
    started = time.perf_counter()
    sent = 0
    while sent < total:
        if exporter.export(keep.spans) != SpanExportResult.SUCCESS:
            print(json.dumps({"error": "export failed", "sent": sent})); sys.exit(1)
        sent += len(keep.spans)
    print(json.dumps({"sent": sent, "seconds": time.perf_counter() - started}))
"""


def _arrived(prom: PrometheusClient, query: str, sent: float) -> float:
    """What ``query`` shows once it reaches ``sent`` (or after 120 s): the count that arrived."""
    seen = prom.wait_for(query, lambda r: bool(r) and r[0].value >= sent, timeout=120)
    return seen[0].value if seen else 0.0


def _peak_rss_mib(prom: PrometheusClient) -> float | None:
    rss = prom.query('max_over_time(otelcol_process_memory_rss{job="otel-collector"}[10m])')
    return rss[0].value / 2**20 if rss else None


POINTS_LOADGEN = """
    import json, sys, time
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricExportResult
    import hypertool_agent

    requests, personas, models = int(sys.argv[1]), 50, 20
    reader = InMemoryMetricReader(preferred_temporality=hypertool_agent.PREFERRED_TEMPORALITY)
    counter = MeterProvider(metric_readers=[reader]).get_meter("loadgen").create_counter(
        "hypertool.persona.tokens_used")
    for p in range(personas):
        for m in range(models):
            counter.add(1, {"persona": "load-%d" % p, "chatmode": "load", "model": "m%d" % m})
    batch = reader.get_metrics_data()  # 1000 delta points, one token each
    exporter = OTLPMetricExporter(timeout=30)
    started = time.perf_counter()
    for _ in range(requests):
        if exporter.export(batch) != MetricExportResult.SUCCESS:
            print(json.dumps({"error": "export failed"})); sys.exit(1)
    print(json.dumps({"sent": requests * personas * models,
                      "seconds": time.perf_counter() - started}))
"""


def points_throughput(
    prom_stack: Stack, prom: PrometheusClient, requests: int = 300
) -> dict[str, Any]:
    """Delta data points/s through the fleet aggregation, checked lossless.

    Every point carries one token, so the tokens in Prometheus must equal the points sent.
    """
    env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": prom_stack.otlp_grpc_endpoint}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(POINTS_LOADGEN), str(requests)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    load = json.loads(done.stdout)
    in_prometheus = _arrived(
        prom, 'sum(hypertool_persona_tokens_used_total{chatmode="load"})', load["sent"]
    )
    return {
        "points_sent": load["sent"],
        "tokens_in_prometheus": in_prometheus,
        "lost": load["sent"] - in_prometheus,
        "send_seconds": load["seconds"],
        "points_per_second": load["sent"] / load["seconds"],
        "collector_max_rss_mib": _peak_rss_mib(prom),
    }


def throughput(prom_stack: Stack, prom: PrometheusClient, total: int = 200_000) -> dict[str, Any]:
    """Spans/s a separate load generator pushes through, checked lossless in Prometheus.

    Every span becomes one observation of the stage histogram, so the histogram's count
    in Prometheus must equal the spans sent.
    """
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": prom_stack.otlp_grpc_endpoint}
    started = time.perf_counter()  # argv: spans in all, spans per export request
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(LOADGEN), str(total), "1000"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    wall = time.perf_counter() - started
    load = json.loads(done.stdout)
    in_prometheus = _arrived(
        prom, 'sum(hypertool_workflow_stage_duration_seconds_count{workflow="load"})', load["sent"]
    )
    refused = prom.query('sum(otelcol_receiver_refused_spans{job="otel-collector"})')
    return {
        "spans_sent": load["sent"],
        "spans_in_prometheus": in_prometheus,
        "lost": load["sent"] - in_prometheus,
        "refused": refused[0].value if refused else 0,
        "send_seconds": load["seconds"],
        "spans_per_second": load["sent"] / load["seconds"],
        "loadgen_wall_seconds": wall,
        "collector_max_rss_mib": _peak_rss_mib(prom),
    }


FRESH = """
    import sys, time
    from hypertool_agent import PersonaMetricsCollector
    PersonaMetricsCollector().record_token_usage("fresh", sys.argv[1], "gpt-4o", 1)
    print(time.time())
"""


VISIBLE_WITHIN_S = 120


def freshness(
    prom_stack: Stack, prom: PrometheusClient, samples: int, scrape_s: float
) -> dict[str, float]:
    """Seconds from an emit in a process that then exits to the value being queryable.

    Each emit waits a random part of a scrape interval first: otherwise every emit would
    start just after the scrape that showed the previous one, and all would wait alike.
    """
    env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": prom_stack.otlp_grpc_endpoint}
    rng = random.Random(7)
    delays = []
    for i in range(samples):
        time.sleep(rng.uniform(0, scrape_s))
        mode = f"fresh-{i}-{time.monotonic_ns()}"
        done = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(FRESH), mode],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        emitted = float(done.stdout)
        while not prom.query(f'hypertool_persona_tokens_used_total{{chatmode="{mode}"}}'):
            time.sleep(0.05)
            if time.time() - emitted > VISIBLE_WITHIN_S:
                raise RuntimeError("not visible after 120 s")
        delays.append(time.time() - emitted)
    delays.sort()
    return {
        "samples": samples,
        "p50_s": statistics.median(delays),
        "p95_s": delays[min(len(delays) - 1, round(0.95 * (len(delays) - 1)))],
    }


EXIT_HYPERTOOL = """
    from hypertool_agent import PersonaMetricsCollector
    c = PersonaMetricsCollector()
    c.record_token_usage("exit", "bench", "gpt-4o", 1)
    with c.track_stage("wf", "s", "exit"):
        pass
"""
EXIT_RAW = """
    from opentelemetry import metrics, trace
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    tp = TracerProvider(); tp.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    mp = MeterProvider(metric_readers=[PeriodicExportingMetricReader(OTLPMetricExporter())])
    mp.get_meter("raw").create_counter("tokens").add(1, {"persona": "exit"})
    with tp.get_tracer("raw").start_as_current_span("s"):
        pass
"""
EXIT_BASELINE = """
    import hypertool_agent
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider
"""


def exit_latency(runs: int = 3) -> dict[str, Any]:
    """Wall time a short process spends exiting with no collector, against a baseline."""
    results: dict[str, Any] = {}
    with socket.socket() as black_hole:
        black_hole.bind(("127.0.0.1", 0))
        black_hole.listen(64)
        endpoints = {
            "refused": f"http://127.0.0.1:{free_ports(1)[0]}",
            "unresponsive": f"http://127.0.0.1:{black_hole.getsockname()[1]}",
        }
        for down, endpoint in endpoints.items():
            env = {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint}
            base = statistics.median(_python(EXIT_BASELINE, env)[0] for _ in range(runs))
            ours = statistics.median(_python(EXIT_HYPERTOOL, env)[0] for _ in range(runs))
            raw = statistics.median(_python(EXIT_RAW, env, timeout=180)[0] for _ in range(runs))
            tuned = statistics.median(
                _python(EXIT_RAW, {**env, "OTEL_EXPORTER_OTLP_TIMEOUT": "1"}, timeout=180)[0]
                for _ in range(runs)
            )
            results[down] = {
                "hypertool_added_s": ours - base,
                "raw_sdk_added_s": raw - base,
                "raw_sdk_timeout_1s_added_s": tuned - base,
            }
    return results
