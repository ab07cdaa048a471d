"""Agent telemetry set-up: standard variables, no-op when disabled, bounded exit."""

from __future__ import annotations

import gc
import os
import socket
import subprocess
import sys
import textwrap
import weakref

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from hypertool_agent import (
    ConfigurationError,
    ObservableLLM,
    PersonaMetricsCollector,
    Usage,
    WorkflowTracer,
    configure,
)
from tests.conftest import free_ports
from tests.unit.conftest import Recorded

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


def test_sdk_disabled_makes_everything_a_noop(monkeypatch: pytest.MonkeyPatch) -> None:
    """With OTEL_SDK_DISABLED=true the agent records nothing and every call still works."""
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    telemetry = configure()
    assert telemetry.enabled is False
    collector = PersonaMetricsCollector(telemetry=telemetry)
    collector.switch_persona(None, "backend-engineer", "code-gen")
    collector.record_token_usage("backend-engineer", "code-gen", "gpt-4", 10)
    with collector.track_stage("wf", "stage", "backend-engineer") as span:
        assert span.is_recording() is False
    assert collector.get_remaining_budget("backend-engineer") == 1990
    with WorkflowTracer("wf", collector, telemetry=telemetry) as tracer:
        assert tracer.run_stage("s", "backend-engineer", lambda: 7) == 7
    with ObservableLLM(collector).call("gpt-4o") as call:
        assert call.record(usage=Usage(1, 2)) == Usage(1, 2)


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


def test_a_refusal_is_only_what_a_refused_connection_says() -> None:
    """Per-signal endpoints, malformed endpoints and listening ones are not called refusing."""
    from hypertool_agent._telemetry import _refusing_endpoint

    (port,) = free_ports(1)
    cases = {
        f"http://127.0.0.1:{port}": f"http://127.0.0.1:{port}",
        f"127.0.0.1:{port}": f"127.0.0.1:{port}",
        "http://127.0.0.1:notaport": None,
        "http://": None,
    }
    with pytest.MonkeyPatch.context() as mp:
        for endpoint, expected in cases.items():
            mp.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
            assert _refusing_endpoint() == expected, endpoint
        mp.setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", f"http://127.0.0.1:{port}")
        assert _refusing_endpoint() is None
        mp.delenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
        with socket.socket() as listening:
            listening.bind(("127.0.0.1", 0))
            listening.listen(1)
            mp.setenv(
                "OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{listening.getsockname()[1]}"
            )
            assert _refusing_endpoint() is None


def test_process_exits_when_the_collector_accepts_but_never_answers() -> None:
    """A collector that takes the connection and then hangs cannot hold the process either."""
    import socket

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


def test_implicit_setup_with_a_bad_setting_records_nothing_but_never_raises(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Without configure(), a bad variable is logged and the agent turns into a no-op."""
    from hypertool_agent import _telemetry

    monkeypatch.setattr(_telemetry, "_current", None)
    monkeypatch.setenv("HYPERTOOL_SHUTDOWN_TIMEOUT", "-1")
    collector = PersonaMetricsCollector()
    collector.record_token_usage("backend-engineer", "code-gen", "gpt-4", 5)
    assert _telemetry.get_telemetry().enabled is False
    assert "HYPERTOOL_SHUTDOWN_TIMEOUT='-1'" in caplog.text
    assert "recording nothing in this process" in caplog.text


def test_bad_shutdown_timeout_fails_at_configuration_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """A malformed HYPERTOOL_SHUTDOWN_TIMEOUT is a configuration error naming the variable."""
    monkeypatch.setenv("HYPERTOOL_SHUTDOWN_TIMEOUT", "soon")
    with pytest.raises(ConfigurationError, match="HYPERTOOL_SHUTDOWN_TIMEOUT='soon'"):
        configure()


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
    import json

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
    import json

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


def test_telemetry_owns_instruments_and_the_personas_left_open(recorded: Recorded) -> None:
    """Collectors share one set of instruments; a persona left open is ended at shutdown."""
    idle, busy = PersonaMetricsCollector(), PersonaMetricsCollector()
    idle.record_token_usage("backend-engineer", "code-gen", "gpt-4", 1)
    busy.switch_persona(None, "backend-engineer", "code-gen")
    assert recorded.telemetry.instruments is recorded.telemetry.instruments
    idle_ref, busy_ref = weakref.ref(idle), weakref.ref(busy)
    del idle, busy
    gc.collect()
    assert idle_ref() is None  # nothing open: nothing keeps it
    assert busy_ref() is not None  # its persona is still being timed
    recorded.telemetry.shutdown()
    assert [s.name for s in recorded.spans("persona")] == ["persona backend-engineer"]
    gc.collect()
    assert busy_ref() is None


def test_a_replaced_telemetry_ends_its_personas_and_is_freed() -> None:
    """configure() again: the old Telemetry ends what was opened through it and is let go."""
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    old = weakref.ref(configure(tracer_provider=tracer_provider, meter_provider=MeterProvider()))
    collector = PersonaMetricsCollector()
    collector.switch_persona(None, "backend-engineer", "code-gen")
    configure(tracer_provider=tracer_provider, meter_provider=MeterProvider())
    assert [s.name for s in exporter.get_finished_spans()] == ["persona backend-engineer"]
    collector.switch_persona(None, "testing-specialist", "review")
    gc.collect()
    assert old() is None
    assert collector.current_persona == "testing-specialist"


def test_exit_hooks_run_once_at_shutdown_after_open_personas_end(recorded: Recorded) -> None:
    """add_exit_hook: run at shutdown, after personas are ended, and only once."""
    collector = PersonaMetricsCollector()
    collector.switch_persona(None, "backend-engineer", "code-gen")
    seen: list[int] = []
    recorded.telemetry.add_exit_hook(lambda: seen.append(len(recorded.spans("persona"))))
    recorded.telemetry.shutdown()
    recorded.telemetry.shutdown()
    assert seen == [1]
