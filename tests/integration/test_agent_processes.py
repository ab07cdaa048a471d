"""Agent processes: how they exit, whatever the collector does, and beside the app's own SDK.

Each test runs a fresh interpreter; a hang fails it by its timeout. The in-process set-up
is in tests/unit/test_telemetry.py and test_sums.py.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest

from hypertool_agent import names as n
from tests.conftest import free_ports

pytestmark = pytest.mark.integration

TOKENS = n.TOKENS_USED.otel_name

RECORD_AND_EXIT = textwrap.dedent(
    """
    from hypertool_agent import PersonaMetricsCollector, get_telemetry
    collector = PersonaMetricsCollector()
    collector.switch_persona(None, "backend-engineer", "code-gen")
    collector.record_token_usage("backend-engineer", "code-gen", "gpt-4", 850)
    with collector.track_stage("wf", "stage", "backend-engineer"):
        pass
    print("enabled" if get_telemetry().enabled else "disabled", flush=True)
    """
)


def run_agent(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run RECORD_AND_EXIT in a fresh interpreter; a hang fails the test by its timeout."""
    return subprocess.run(
        [sys.executable, "-c", RECORD_AND_EXIT],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_disabled_process_exits_cleanly() -> None:
    """A process with OTEL_SDK_DISABLED=true runs the API and exits 0 without output noise."""
    done = run_agent({"OTEL_SDK_DISABLED": "true"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "disabled"
    assert done.stderr == ""


def test_process_exits_when_the_collector_is_down() -> None:
    """With nothing listening at the endpoint the process exits without trying, and says so."""
    (port,) = free_ports(1)
    done = run_agent(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
            "HYPERTOOL_SHUTDOWN_TIMEOUT": "1",
        }
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "enabled"
    assert f"collector at http://127.0.0.1:{port} refused the connection" in done.stderr
    assert "did not finish within" not in done.stderr  # no export was attempted


def test_process_exits_when_the_collector_accepts_but_never_answers() -> None:
    """A collector that takes the connection and then hangs cannot hold the process either."""
    with socket.socket() as black_hole:
        black_hole.bind(("127.0.0.1", 0))
        black_hole.listen(16)  # the kernel completes handshakes; nobody ever reads
        port = black_hole.getsockname()[1]
        done = run_agent(
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
                "HYPERTOOL_SHUTDOWN_TIMEOUT": "1",
            }
        )
    assert done.returncode == 0, done.stderr
    assert "did not finish within 1.0s" in done.stderr


APP_WITH_PROVIDERS = textwrap.dedent(
    """
    import json
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    import hypertool_agent

    spans, reader = InMemorySpanExporter(), InMemoryMetricReader(
        preferred_temporality=hypertool_agent.PREFERRED_TEMPORALITY
    )
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(spans))
    mp = MeterProvider(metric_readers=[reader])
    trace.set_tracer_provider(tp)
    metrics.set_meter_provider(mp)

    collector = hypertool_agent.PersonaMetricsCollector()
    with collector.track_stage("wf", "build", "backend-engineer"):
        collector.record_token_usage("backend-engineer", "code-gen", "gpt-4", 42)
    names = [m.name for rm in reader.get_metrics_data().resource_metrics
             for sm in rm.scope_metrics for m in sm.metrics]
    hypertool_agent.shutdown()

    # The application's providers are still its own, and still work.
    with trace.get_tracer("app").start_as_current_span("app-span"):
        pass
    print(json.dumps({
        "same_providers": trace.get_tracer_provider() is tp and metrics.get_meter_provider() is mp,
        "spans": [s.name for s in spans.get_finished_spans()],
        "metrics": names,
    }))
    """
)


def test_application_providers_are_used_and_left_alone() -> None:
    """With providers already set globally, hypertool records through them and keeps them."""
    done = subprocess.run(
        [sys.executable, "-c", APP_WITH_PROVIDERS],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        env={**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"},
    )
    result = json.loads(done.stdout)
    assert result["same_providers"] is True
    assert result["spans"] == ["stage build", "app-span"]
    assert "hypertool.persona.tokens_used" in result["metrics"]
    assert "hypertool: the application's MeterProvider" not in done.stderr


def test_cumulative_application_meter_provider_gets_a_warning() -> None:
    """An application exporting counters as cumulative is told hypertool needs deltas."""
    code = APP_WITH_PROVIDERS.replace(
        "preferred_temporality=hypertool_agent.PREFERRED_TEMPORALITY", ""
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    )
    assert "exports counters as cumulative" in done.stderr


MEMORY_WITHOUT_COLLECTOR = textwrap.dedent(
    """
    import resource, json
    from hypertool_agent import PersonaMetricsCollector, WorkflowTracer

    collector = PersonaMetricsCollector()

    def work(rounds):
        with WorkflowTracer("soak", collector) as tracer:
            for i in range(rounds):
                with tracer.stage_context(f"stage-{i % 10}", "backend-engineer"):
                    collector.record_token_usage(f"p-{i % 20}", "soak", "gpt-4", 3)

    def rss_mib():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    work(5_000)          # reach steady state: queues full, instruments created
    warm = rss_mib()
    work(50_000)         # ten times more, with nowhere to send it
    print(json.dumps({"warm": warm, "after": rss_mib()}))
    """
)


def test_memory_stays_bounded_without_a_collector() -> None:
    """50,000 more stages with nowhere to export them grow memory by a bounded amount."""
    (port,) = free_ports(1)
    done = subprocess.run(
        [sys.executable, "-c", MEMORY_WITHOUT_COLLECTOR],
        env={
            **os.environ,
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
            "HYPERTOOL_SHUTDOWN_TIMEOUT": "0.5",
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            "OTEL_METRIC_EXPORT_INTERVAL": "200",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    rss = json.loads(done.stdout)
    # Unbounded buffering would hold 50,000 spans (tens of MiB); the span queue holds
    # 2,048 and delta metrics are dropped after each failed export.
    assert rss["after"] - rss["warm"] < 15, rss


def test_a_process_that_exits_without_flushing_exports_its_sums() -> None:
    """The exit flush collects, so usage recorded just before exit is exported."""
    program = textwrap.dedent(
        """
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import (
            ConsoleMetricExporter, PeriodicExportingMetricReader,
        )
        import hypertool_agent

        exporter = ConsoleMetricExporter(
            preferred_temporality=hypertool_agent.PREFERRED_TEMPORALITY,
            formatter=lambda data: data.to_json(indent=None) + "\\n",
        )
        reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
        hypertool_agent.configure(meter_provider=MeterProvider(metric_readers=[reader]))
        collector = hypertool_agent.PersonaMetricsCollector()
        for _ in range(1_000):
            collector.record_token_usage("backend-engineer", "code-gen", "gpt-4o", 3)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True
    )
    exported = 0
    for line in done.stdout.splitlines():
        for rm in json.loads(line)["resource_metrics"]:
            for sm in rm["scope_metrics"]:
                for metric in sm["metrics"]:
                    if metric["name"] == TOKENS:
                        exported += sum(p["value"] for p in metric["data"]["data_points"])
    assert exported == 3_000
