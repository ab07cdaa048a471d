"""One producer cannot blind the others: label values are bounded per producer (issue 20).

A raw OTLP client, as a misbehaving producer would be, sends 3,000 distinct persona values
under the library's token counter. Before, that filled the collector's fleet-wide bound for
good, and every later persona counted under "other". Now the flood gets its own quota of
new values and its folds are counted under its name; a new library process's persona, a
persona budgets.yaml names (sent by the flooder itself, its quota long gone) and a foreign
producer's persona each count exactly under their own names.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hypertool_agent import load_budgets
from hypertool_agent import names as n
from hypertool_tools import contract as c
from tests.conftest import NativeStack, running_stack
from tests.e2e._producers import JOB, TOKENS, assert_counted, assert_settled
from tests.fakes.llm_api import FakeLLM
from tests.producers import genai_python

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
FLOOD_VALUES = 3000
FLOOD_SERVICE = "isolation-flood"
FLOOD_CHATMODE = "flood"
#: A persona budgets.yaml sets a budget for: never folded.
BUDGETED = load_budgets(ROOT / "budgets.yaml")[-1].persona
BUDGETED_TOKENS = 37
FRESH = "isolation-fresh"
FRESH_TOKENS = 321
FOREIGN = "isolation-foreign"

#: Raw OTLP over gRPC (the SDK folds an instrument's attribute sets beyond 2,000 itself):
#: the flood in three exports, then the budgeted persona and one more new value. One
#: token per point, so every folded point is one token under "other".
FLOOD = f"""
    import os, sys, time
    import grpc
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as service
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc as stub
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.metrics.v1 import metrics_pb2 as m
    from opentelemetry.proto.resource.v1.resource_pb2 import Resource

    def attrs(**labels):
        return [KeyValue(key=k, value=AnyValue(string_value=v)) for k, v in labels.items()]

    def export(points):
        now = time.time_ns()
        metric = m.Metric(name="hypertool.persona.tokens_used", sum=m.Sum(
            data_points=[
                m.NumberDataPoint(
                    attributes=attrs(persona=persona, chatmode="{FLOOD_CHATMODE}", model="gpt-4o"),
                    start_time_unix_nano=now - 1000, time_unix_nano=now, as_int=value,
                )
                for persona, value in points
            ],
            aggregation_temporality=m.AGGREGATION_TEMPORALITY_DELTA, is_monotonic=True,
        ))
        resource = Resource(attributes=attrs(**{{
            "service.name": "{FLOOD_SERVICE}", "service.instance.id": "flood-instance-1",
        }}))
        request = service.ExportMetricsServiceRequest(resource_metrics=[m.ResourceMetrics(
            resource=resource,
            scope_metrics=[m.ScopeMetrics(scope={{"name": "raw.flood"}}, metrics=[metric])],
        )])
        endpoint = os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"].removeprefix("http://")
        with grpc.insecure_channel(endpoint) as channel:
            stub.MetricsServiceStub(channel).Export(request, timeout=10)

    for part in range(3):
        export([(f"flood-{{i}}", 1) for i in range(part * 1000, (part + 1) * 1000)])
    export([("{BUDGETED}", {BUDGETED_TOKENS}), ("flood-late", 1)])
"""

LIBRARY_AGENT = f"""
    from hypertool_agent import PersonaMetricsCollector
    PersonaMetricsCollector().record_token_usage("{FRESH}", "isolation", "gpt-4o", {FRESH_TOKENS})
"""


@pytest.fixture(scope="module")
def flooded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NativeStack]:
    """A stack with the default bounds, after the flood."""
    with running_stack(tmp_path_factory.mktemp("isolation"), "1s") as native:
        native.run_python(FLOOD)
        yield native


def quota() -> int:
    """The collector's default quota of new values per producer: the library's bound."""
    return c.PRODUCER_LABEL_QUOTA


def test_the_flood_gets_its_quota_and_its_folds_carry_its_name(flooded: NativeStack) -> None:
    """3,000 personas: the quota's worth keep their names; the rest, counted, under other."""
    flood = f'{JOB},chatmode="{FLOOD_CHATMODE}"'
    folded = c.PIPELINE_FOLDED_POINTS.prometheus_name
    # Every flood value beyond the quota, and the late one.
    beyond = float(FLOOD_VALUES - quota() + 1)
    assert_settled(
        flooded,
        [
            (f"sum({TOKENS}{{{flood}}})", None, {"": FLOOD_VALUES + 1.0 + BUDGETED_TOKENS}),
            (f'sum({TOKENS}{{{flood},{n.PERSONA}="{n.OTHER}"}})', None, {"": beyond}),
            # The quota's values, other and the budgeted persona.
            (f"count({TOKENS}{{{flood}}})", None, {"": quota() + 2.0}),
            (
                f"sum by (producer) ({folded}"
                f'{{{JOB},metric="{c.TOKENS_USED.otel_name}",label="{n.PERSONA}"}})',
                "producer",
                {FLOOD_SERVICE: beyond},
            ),
        ],
    )
    print(f"flood: {FLOOD_VALUES} values sent, {quota()} kept, {beyond:.0f} points folded")


def test_a_budgeted_persona_counts_under_its_name_even_from_the_flooder(
    flooded: NativeStack,
) -> None:
    """budgets.yaml's personas are pinned: no quota and no bound folds them."""
    promql = f'sum({TOKENS}{{{JOB},{n.PERSONA}="{BUDGETED}",chatmode="{FLOOD_CHATMODE}"}})'
    assert_settled(flooded, [(promql, None, {"": float(BUDGETED_TOKENS)})])
    print(f"budgeted persona {BUDGETED}: {BUDGETED_TOKENS} sent, counted exactly")


def test_a_new_library_producer_counts_under_its_own_persona(flooded: NativeStack) -> None:
    """After the flood, a new agent process's persona is no one else's "other"."""
    flooded.run_python(LIBRARY_AGENT)
    promql = f'sum({TOKENS}{{{JOB},{n.PERSONA}="{FRESH}"}})'
    assert_settled(flooded, [(promql, None, {"": float(FRESH_TOKENS)})])
    print(f"fresh persona {FRESH}: {FRESH_TOKENS} sent, counted exactly")


def test_a_new_foreign_producer_counts_under_its_own_persona(flooded: NativeStack) -> None:
    """An instrumented openai app after the flood: its usage counts under its persona."""
    why = genai_python.missing()
    if why is not None:
        pytest.fail(why)
    with FakeLLM(input_tokens=17, output_tokens=5) as llm:
        env = genai_python.app_env(
            base_url=llm.url,
            otlp_endpoint=flooded.stack.otlp_grpc_endpoint,
            service_name="isolation-foreign-app",
            persona=FOREIGN,
        )
        genai_python.run_app(env, "--calls", "3", "--model", "gpt-4o-mini")
    assert llm.ledger.total_tokens() == 66
    assert_counted(flooded, FOREIGN, llm.ledger)
    print(f"foreign persona {FOREIGN}: {llm.ledger.total_tokens()} sent, counted exactly")


FOREIGN_FLOOD_SERVICE = "isolation-foreign-flood"
FOREIGN_FLOOD_VALUES = 150
#: A foreign producer (the GenAI token metric, as an instrumentation sends it) with a new
#: agent name per call: its identity reaches the ledger through the genai connector.
FOREIGN_FLOOD = f"""
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics import Histogram, MeterProvider
    from opentelemetry.sdk.metrics.export import (
        AggregationTemporality, PeriodicExportingMetricReader,
    )
    from opentelemetry.sdk.resources import Resource

    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(preferred_temporality={{Histogram: AggregationTemporality.DELTA}}),
        export_interval_millis=3_600_000,
    )
    provider = MeterProvider(
        metric_readers=[reader],
        resource=Resource.create({{"service.name": "{FOREIGN_FLOOD_SERVICE}"}}),
    )
    usage = provider.get_meter("raw.genai.flood").create_histogram("gen_ai.client.token.usage")
    for i in range({FOREIGN_FLOOD_VALUES}):
        usage.record(1, {{
            "gen_ai.token.type": "input", "gen_ai.response.model": "gpt-4o-mini",
            "gen_ai.agent.name": f"foreign-flood-{{i}}",
        }})
    provider.shutdown()
"""


def test_a_foreign_flood_is_bounded_by_its_own_quota(flooded: NativeStack) -> None:
    """A foreign producer's folds carry its service.name: its identity reached the ledger."""
    flooded.run_python(FOREIGN_FLOOD)
    folded = c.PIPELINE_FOLDED_POINTS.prometheus_name
    beyond = float(FOREIGN_FLOOD_VALUES - quota())
    assert_settled(
        flooded,
        [
            (
                f'sum({TOKENS}{{{JOB},{n.PERSONA}=~"foreign-flood-.*"}})',
                None,
                {"": float(quota())},
            ),
            (
                f"sum by (producer) ({folded}{{{JOB},metric="
                f'"{c.TOKENS_USED.otel_name}",producer="{FOREIGN_FLOOD_SERVICE}"}})',
                "producer",
                {FOREIGN_FLOOD_SERVICE: beyond},
            ),
        ],
    )
