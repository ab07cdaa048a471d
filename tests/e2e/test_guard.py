"""The collector's input guard, for producers that do not use the library's guard.

A raw OpenTelemetry SDK process (the real SDK, no hypertool_agent) sends what no real
agent sends: negative, not-a-number and absurdly large values, under our own metric
names, in the GenAI token metric and on usage spans; and label values far longer than
any name; and our counters' names in shapes the library never sends. The collector sums
none of the bad values, counts each in hypertool_pipeline_unused_total with its reason,
still sums the good ones, and cuts long labels to the agent's 128 characters.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hypertool_agent import names as n
from hypertool_tools import contract as c
from tests.conftest import NativeStack, running_stack
from tests.e2e._producers import JOB, assert_settled

pytestmark = pytest.mark.e2e

UNUSED = c.PIPELINE_UNUSED.prometheus_name
TOKENS = c.TOKENS_USED.prometheus_name

#: One export per value, so that no two values are summed by the SDK before they leave.
OUR_COUNTER = """
    import os
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics import MeterProvider, UpDownCounter, Counter
    from opentelemetry.sdk.metrics.export import (
        AggregationTemporality, PeriodicExportingMetricReader,
    )

    delta = {Counter: AggregationTemporality.DELTA, UpDownCounter: AggregationTemporality.DELTA}
    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(preferred_temporality=delta), export_interval_millis=3_600_000
    )
    provider = MeterProvider(metric_readers=[reader])
    meter = provider.get_meter("raw.sdk.agent")
    # An up-down counter under our counter's name: the one way the SDK sends a negative.
    tokens = meter.create_up_down_counter("hypertool.persona.tokens_used")
    labels = {"persona": "guard-check", "chatmode": "raw", "model": "gpt-4o"}
    for value in (7, -5, 10**15, 3):
        tokens.add(value, labels)
        provider.force_flush()
    provider.shutdown()
"""

#: The SDK itself drops NaN and infinities: a raw OTLP request sends them anyway.
RAW_OTLP_NAN = """
    import os, time
    import grpc
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as service
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc as stub
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.metrics.v1 import metrics_pb2 as m

    def point(value):
        now = time.time_ns()
        labels = {"persona": "guard-check", "chatmode": "raw", "model": "gpt-4o"}
        return m.NumberDataPoint(
            attributes=[KeyValue(key=k, value=AnyValue(string_value=v)) for k, v in labels.items()],
            start_time_unix_nano=now - 1000, time_unix_nano=now, as_double=value,
        )

    metric = m.Metric(
        name="hypertool.persona.tokens_used",
        sum=m.Sum(
            data_points=[point(float("nan")), point(float("inf")), point(2.0)],
            aggregation_temporality=m.AGGREGATION_TEMPORALITY_DELTA, is_monotonic=True,
        ),
    )
    request = service.ExportMetricsServiceRequest(resource_metrics=[m.ResourceMetrics(
        scope_metrics=[m.ScopeMetrics(scope={"name": "raw.otlp.client"}, metrics=[metric])]
    )])
    endpoint = os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"].removeprefix("http://")
    with grpc.insecure_channel(endpoint) as channel:
        stub.MetricsServiceStub(channel).Export(request, timeout=10)
"""

GENAI_METRIC = """
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics import Histogram, MeterProvider
    from opentelemetry.sdk.metrics.export import (
        AggregationTemporality, PeriodicExportingMetricReader,
    )
    from opentelemetry.sdk.resources import Resource

    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(preferred_temporality={Histogram: AggregationTemporality.DELTA}),
        export_interval_millis=3_600_000,
    )
    persona = "guard-genai-" + "x" * 300
    provider = MeterProvider(
        metric_readers=[reader], resource=Resource.create({"hypertool.persona.name": persona})
    )
    usage = provider.get_meter("raw.genai.instrumentation").create_histogram(
        "gen_ai.client.token.usage"
    )
    attributes = {"gen_ai.token.type": "input", "gen_ai.response.model": "gpt-4o-mini"}
    for value in (10, 5 * 10**8, 4):
        usage.record(value, attributes)
        provider.force_flush()
    provider.shutdown()
"""

USAGE_SPANS = """
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider = TracerProvider(
        resource=Resource.create({"hypertool.persona.name": "guard-spans"})
    )
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter()))
    # A span-only producer's scope (contract.SPAN_USAGE): its spans' usage counts.
    tracer = provider.get_tracer("openinference.instrumentation.fake")
    for prompt, completion in ((4, 2), (-3, 1), ("abc", 1), (5 * 10**8, 1), (6, 3)):
        with tracer.start_as_current_span("ChatCompletion") as span:
            span.set_attribute("llm.model_name", "gpt-4o-mini")
            span.set_attribute("llm.token_count.prompt", prompt)
            span.set_attribute("llm.token_count.completion", completion)
    provider.shutdown()
"""


#: Our names in shapes no library process sends: each point counted with its reason.
OUR_NAMES_MISSHAPEN = """
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics import Counter, MeterProvider
    from opentelemetry.sdk.metrics.export import (
        AggregationTemporality, PeriodicExportingMetricReader,
    )

    def provider(temporality):
        exporter = OTLPMetricExporter(preferred_temporality={Counter: temporality})
        reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
        return MeterProvider(metric_readers=[reader])

    delta = provider(AggregationTemporality.DELTA)
    meter = delta.get_meter("raw.sdk.shapes")
    tokens = meter.create_counter("hypertool.persona.tokens_used")
    tokens.add(5, {"persona": "shape-check", "chatmode": "raw", "model": "gpt-4o"})
    tokens.add(1, {"persona": "shape-" + "y" * 300, "chatmode": "raw", "model": "gpt-4o"})
    tokens.add(4, {"persona": "shape-check", "model": "gpt-4o"})  # no chatmode
    tokens.add(4, {"persona": "shape-check", "chatmode": "raw"})  # no model
    meter.create_gauge("hypertool.workflow.quality_gate").set(1)  # a counter's name
    meter.create_counter("hypertool.persona.retries").add(2)  # not a counter of ours
    delta.shutdown()
    cumulative = provider(AggregationTemporality.CUMULATIVE)
    cumulative.get_meter("raw.sdk.shapes").create_counter("hypertool.llm.tokens").add(
        9, {"persona": "shape-check", "model": "gpt-4o", "token_type": "input"}
    )
    cumulative.shutdown()
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NativeStack]:
    """A stack of its own, at the default ceiling (10^8 per point)."""
    with running_stack(tmp_path_factory.mktemp("guard"), "1s") as native:
        yield native


def test_bad_values_under_our_names_are_counted_not_summed(stack: NativeStack) -> None:
    """7, 3 and 2 are summed; -5, 10^15, NaN and +Inf are each counted with their reason."""
    stack.run_python(OUR_COUNTER)
    stack.run_python(RAW_OTLP_NAN)
    assert_settled(
        stack,
        [
            (f'sum({TOKENS}{{{JOB},{n.PERSONA}="guard-check"}})', None, {"": 12.0}),
            (
                f'sum by (reason) ({UNUSED}{{signal="metrics",producer="raw.sdk.agent"}})',
                n.REASON,
                {"negative": 1.0, "too_large": 1.0},
            ),
            (
                f'sum by (reason) ({UNUSED}{{signal="metrics",producer="raw.otlp.client"}})',
                n.REASON,
                {"not_a_number": 1.0, "too_large": 1.0},  # +Inf is above any ceiling
            ),
        ],
    )


def test_our_names_in_other_shapes_are_counted_by_reason(stack: NativeStack) -> None:
    """Points without a counter's labels, a gauge, an unknown name and a cumulative count apart."""
    stack.run_python(OUR_NAMES_MISSHAPEN)
    persona = ("shape-" + "y" * 300)[: n.MAX_LABEL_LENGTH]
    rejected = c.PIPELINE_REJECTED_POINTS.prometheus_name
    assert_settled(
        stack,
        [
            (f'sum({TOKENS}{{{JOB},{n.PERSONA}="shape-check"}})', None, {"": 5.0}),
            (f'sum({TOKENS}{{{JOB},{n.PERSONA}="{persona}"}})', None, {"": 1.0}),
            (
                f'sum by (reason) ({UNUSED}{{signal="metrics",producer="raw.sdk.shapes"}})',
                n.REASON,
                {c.REASON_NOT_SUMMABLE: 3.0, c.REASON_NOT_USAGE: 1.0},
            ),
            (f"sum({rejected}{{{JOB}}})", None, {"": 1.0}),
        ],
    )


def test_bad_genai_points_are_counted_and_long_labels_cut(stack: NativeStack) -> None:
    """A 5*10^8-token point is refused; the persona name is cut to 128 characters."""
    stack.run_python(GENAI_METRIC)
    persona = ("guard-genai-" + "x" * 300)[: n.MAX_LABEL_LENGTH]
    producer = 'producer="raw.genai.instrumentation"'
    assert_settled(
        stack,
        [
            (f'sum({TOKENS}{{{JOB},{n.PERSONA}="{persona}"}})', None, {"": 14.0}),
            (
                f'sum by (reason) ({UNUSED}{{signal="metrics",{producer}}})',
                n.REASON,
                {"too_large": 1.0},
            ),
        ],
    )
    personas = {s.labels[n.PERSONA] for s in stack.prometheus.query(f"{TOKENS}{{{JOB}}}")}
    assert max(len(p) for p in personas) <= n.MAX_LABEL_LENGTH


def test_bad_usage_spans_are_counted_not_summed(stack: NativeStack) -> None:
    """Spans with 4+2 and 6+3 tokens count; negative, text and huge ones are counted apart."""
    stack.run_python(USAGE_SPANS)
    producer = 'producer="openinference.instrumentation.fake"'
    assert_settled(
        stack,
        [
            (f'sum({TOKENS}{{{JOB},{n.PERSONA}="guard-spans"}})', None, {"": 15.0}),
            (
                f'sum by (reason) ({UNUSED}{{signal="traces",{producer}}})',
                n.REASON,
                {"negative": 1.0, "not_a_number": 1.0, "too_large": 1.0},
            ),
        ],
    )


#: Just over the 4 MiB request limit: one data point with a 5 MiB attribute value.
OVERSIZED = """
    import os, time, urllib.request, urllib.error
    import grpc
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as service
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc as stub
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.metrics.v1 import metrics_pb2 as m

    huge = KeyValue(key="persona", value=AnyValue(string_value="x" * (5 * 2**20)))
    point = m.NumberDataPoint(attributes=[huge], time_unix_nano=time.time_ns(), as_int=1)
    metric = m.Metric(name="hypertool.persona.tokens_used", sum=m.Sum(
        data_points=[point], aggregation_temporality=m.AGGREGATION_TEMPORALITY_DELTA,
        is_monotonic=True,
    ))
    request = service.ExportMetricsServiceRequest(resource_metrics=[m.ResourceMetrics(
        scope_metrics=[m.ScopeMetrics(metrics=[metric])]
    )])
    endpoint = os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"].removeprefix("http://")
    with grpc.insecure_channel(endpoint) as channel:
        try:
            stub.MetricsServiceStub(channel).Export(request, timeout=10)
            print("grpc accepted")
        except grpc.RpcError as exc:
            print("grpc", exc.code().name)
    http = urllib.request.Request(
        os.environ["OTLP_HTTP"] + "/v1/metrics", data=request.SerializeToString(),
        headers={"Content-Type": "application/x-protobuf"}, method="POST",
    )
    try:
        urllib.request.urlopen(http, timeout=10)
        print("http accepted")
    except urllib.error.HTTPError as exc:
        print("http", exc.code, exc.read()[:200])
"""


def test_oversized_requests_get_a_clear_refusal(stack: NativeStack) -> None:
    """A 5 MiB export: gRPC answers RESOURCE_EXHAUSTED, HTTP 400 "too large"; none counted."""
    http = f"http://127.0.0.1:{stack.stack.ports.otlp_http}"
    grpc_answer, http_answer = stack.run_python_output(OVERSIZED, OTLP_HTTP=http).split("\n")
    assert grpc_answer == "grpc RESOURCE_EXHAUSTED"
    assert http_answer.startswith("http 400"), http_answer
    assert "too large" in http_answer, http_answer
    assert stack.prometheus.query(f'{TOKENS}{{persona=~"xxx.*"}}') == []


#: 1,500 distinct personas in one export, each spending one token (the SDK itself folds
#: an instrument's attribute sets beyond 2,000).
MANY_PERSONAS = """
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics import Counter, MeterProvider
    from opentelemetry.sdk.metrics.export import (
        AggregationTemporality, PeriodicExportingMetricReader,
    )

    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(preferred_temporality={Counter: AggregationTemporality.DELTA}),
        export_interval_millis=3_600_000,
    )
    provider = MeterProvider(metric_readers=[reader])
    meter = provider.get_meter("raw.flooding.agent")
    tokens = meter.create_counter("hypertool.persona.tokens_used")
    for i in range(1500):
        tokens.add(1, {"persona": f"flood-{i}", "chatmode": "flood", "model": "gpt-4o"})
    provider.shutdown()
"""
BOUND = 20


@pytest.fixture(scope="module")
def bounded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NativeStack]:
    """A stack whose collector keeps 20 distinct values per label and metric."""
    with running_stack(
        tmp_path_factory.mktemp("bounded"),
        "1s",
        collector_env={"HYPERTOOL_MAX_LABEL_VALUES": str(BOUND)},
    ) as native:
        yield native


def test_a_flood_of_label_values_is_bounded_and_totals_stay_exact(bounded: NativeStack) -> None:
    """1,500 personas make 20 series plus other; all 1,500 tokens count; folds are counted."""
    bounded.run_python(MANY_PERSONAS)
    folded = c.PIPELINE_FOLDED_POINTS.prometheus_name
    other = f'{JOB},chatmode="flood",{n.PERSONA}="{n.OTHER}"'
    assert_settled(
        bounded,
        [
            (f'count({TOKENS}{{{JOB},chatmode="flood"}})', None, {"": BOUND + 1.0}),
            (f'sum({TOKENS}{{{JOB},chatmode="flood"}})', None, {"": 1500.0}),
            (
                f"sum by ({n.PERSONA}) ({TOKENS}{{{other}}})",
                n.PERSONA,
                {n.OTHER: 1500.0 - BOUND},
            ),
            (
                f'sum by (label) ({folded}{{{JOB},metric="{c.TOKENS_USED.otel_name}"}})',
                "label",
                {n.PERSONA: 1500.0 - BOUND},
            ),
        ],
    )
