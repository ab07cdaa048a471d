"""Every dashboard panel's query returns data from the live stack after the demo."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from hypertool_agent import names as n
from tests.conftest import NativeStack

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = sorted((ROOT / "grafana/dashboards").glob("*.json"))
#: One value per variable, from the demo: what an operator picks from the drop-down.
ONE_VALUE = {
    "persona": "backend-engineer",
    "chatmode": "backend-dev",
    "model": "gpt-4o",
    "workflow": "feature_implementation",
}
#: Grafana's macros, as Grafana would expand them for "the last hour".
MACROS = {"$__rate_interval": "5m", "$__range": "1h", "$__interval": "15s"}


#: A process with the plain OpenTelemetry SDK sending a metric hypertool does not use.
FOREIGN_METRIC = """
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    reader = PeriodicExportingMetricReader(OTLPMetricExporter())
    provider = MeterProvider(metric_readers=[reader])
    provider.get_meter("some.library").create_counter("some.requests").add(3)
    provider.shutdown()
"""
#: More instrumentation scopes than the collector keeps distinct values of a label: the
#: unused counter's producer label folds into other ("Label values folded into other").
MANY_SCOPES = f"""
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    reader = PeriodicExportingMetricReader(OTLPMetricExporter())
    provider = MeterProvider(metric_readers=[reader])
    for i in range({n.MAX_LABEL_VALUES + 1}):
        provider.get_meter(f"some.library.{{i}}").create_counter("some.requests").add(1)
    provider.shutdown()
"""
#: A coding agent's usage naming its user, with the plain SDK and the GenAI conventions'
#: metric: the "Tokens and cost per user" panel.
USER_USAGE = """
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource

    resource = Resource.create(
        {"hypertool.persona.name": "backend-engineer", "user.email": "ana@example.com"}
    )
    reader = PeriodicExportingMetricReader(OTLPMetricExporter())
    provider = MeterProvider(resource=resource, metric_readers=[reader])
    usage = provider.get_meter("some.coding.agent").create_histogram("gen_ai.client.token.usage")
    for kind, tokens in (("input", 200), ("output", 40)):
        usage.record(tokens, {"gen_ai.token.type": kind, "gen_ai.request.model": "gpt-4o"})
    provider.shutdown()
"""
#: A call counted from a span with no agent span above it: "Calls counted without their
#: agent" (a producer counted from its spans, as OpenInference is).
UNATTRIBUTED_CALL = """
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter()))
    tracer = provider.get_tracer("openinference.instrumentation.openai")
    attributes = {"llm.token_count.prompt": 10, "llm.token_count.completion": 2}
    with tracer.start_as_current_span("ChatCompletion", attributes=attributes):
        pass
    provider.shutdown()
"""
#: A call to a model no price is known for: the "Tokens with no known price" panel.
UNPRICED_CALL = """
    from hypertool_agent import ObservableLLM, Usage, shutdown

    llm = ObservableLLM()
    with llm.call("acme-coder-7b", persona="backend-engineer") as call:
        call.record(usage=Usage(120, 30))
    shutdown()
"""


def expand(expr: str, values: dict[str, str]) -> str:
    """The query Grafana sends: macros and variables replaced."""
    for macro, value in MACROS.items():
        expr = expr.replace(macro, value)
    return re.sub(r"\$(\w+)", lambda m: values.get(m.group(1), m.group(0)), expr)


def cases() -> list[tuple[str, str, dict[str, str]]]:
    """(dashboard uid, panel title, variable values) for All and for each single value."""
    found = []
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        names = [v["name"] for v in dashboard["templating"]["list"]]
        settings = [{name: ".*" for name in names}]
        settings += [{**settings[0], name: ONE_VALUE[name]} for name in names]
        for panel in dashboard["panels"]:
            if panel["type"] == "row":
                continue
            for setting in settings:
                label = ",".join(f"{k}={v}" for k, v in setting.items() if v != ".*") or "All"
                found.append((dashboard["uid"], f"{panel['title']} [{label}]", setting))
    return found


@pytest.fixture(scope="module")
def demo_data(native_stack: NativeStack) -> dict[str, Any]:
    """The three workflows, varied (with failing gates), from two processes."""
    runs = [
        native_stack.run_demo("--seed", "7", "--count", "2"),
        native_stack.run_demo("--seed", "8"),
    ]
    assert any(g["result"] == "failed" for r in runs for g in r["quality_gates"])
    calls = sum(len(r["llm_calls"]) for r in runs)
    native_stack.prometheus.wait_for(
        "sum(hypertool_llm_call_duration_seconds_count)",
        lambda r: bool(r) and r[0].value == calls,
    )
    # The collector's own telemetry needs two scrapes for a rate.
    native_stack.prometheus.wait_for(
        'sum(rate(otelcol_receiver_accepted_metric_points{job="otel-collector"}[5m]))', bool
    )
    # A foreign producer's metric the stack has no use for: the "Received, not used" panel.
    native_stack.run_python(FOREIGN_METRIC)
    native_stack.prometheus.wait_for("sum(hypertool_pipeline_unused_total)", bool)
    native_stack.run_python(UNPRICED_CALL)
    native_stack.prometheus.wait_for("sum(hypertool_llm_unpriced_tokens_total)", bool)
    native_stack.run_python(USER_USAGE)
    native_stack.prometheus.wait_for("sum(hypertool_user_cost_usd_total)", bool)
    native_stack.run_python(UNATTRIBUTED_CALL)
    native_stack.prometheus.wait_for("sum(hypertool_pipeline_unattributed_total)", bool)
    native_stack.run_python(MANY_SCOPES)
    native_stack.prometheus.wait_for("sum(hypertool_pipeline_folded_points_total)", bool)
    # Let the budget rules evaluate at least once after the last sample.
    native_stack.prometheus.wait_for(
        'persona:hypertool_tokens_used:budget_period{persona="backend-engineer"}',
        lambda r: bool(r) and r[0].value > 0,
    )
    return {"runs": runs}


@pytest.mark.parametrize(("uid", "panel", "values"), cases())
def test_panel_query_returns_data(
    native_stack: NativeStack,
    demo_data: dict[str, Any],
    uid: str,
    panel: str,
    values: dict[str, str],
) -> None:
    """Each query of the panel, with its variables set, returns at least one series."""
    dashboard = next(
        json.loads(p.read_text()) for p in DASHBOARDS if json.loads(p.read_text())["uid"] == uid
    )
    spec = next(p for p in dashboard["panels"] if panel.startswith(p["title"] + " ["))
    for target in spec["targets"]:
        query = expand(target["expr"], values)
        result = native_stack.prometheus.query(query)
        assert result, f"{uid} / {panel}: no data for {query}"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_variable_queries_offer_values(
    native_stack: NativeStack, demo_data: dict[str, Any], path: Path
) -> None:
    """Each template variable's drop-down lists values, the demo's among them."""
    for variable in json.loads(path.read_text())["templating"]["list"]:
        metric, label = re.fullmatch(
            r"label_values\((\S+), (\w+)\)", variable["query"]["query"]
        ).groups()  # type: ignore[union-attr]
        values = native_stack.prometheus.api(f"/api/v1/label/{label}/values", **{"match[]": metric})
        assert ONE_VALUE[variable["name"]] in values, (path.stem, variable["name"], values)
