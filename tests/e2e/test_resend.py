"""An export resent with its delivery id counts once, across a collector crash too.

The library names each metrics export ``<process uuid>:<sequence>``
(``hypertool.delivery.id``) so that one resent from its spool, however often and in
whatever order, counts once. Here raw OTLP exports carry the ids, so the collector's side
is tested whatever the library sends.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hypertool_agent import names as n
from hypertool_tools import contract as c
from tests.conftest import NativeStack, running_stack
from tests.e2e._producers import JOB, TOKENS, assert_settled

pytestmark = pytest.mark.e2e

PERSONA = "resend-check"
#: One export per argument "<sequence>=<tokens>", all of one process.
RESEND = f"""
    import os, sys, time
    import grpc
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as service
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc as stub
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.metrics.v1 import metrics_pb2 as m
    from opentelemetry.proto.resource.v1.resource_pb2 import Resource

    def attrs(**labels):
        return [KeyValue(key=k, value=AnyValue(string_value=v)) for k, v in labels.items()]

    for arg in sys.argv[1:]:
        seq, tokens = arg.split("=")
        now = time.time_ns()
        point = m.NumberDataPoint(
            attributes=attrs(persona="{PERSONA}", chatmode="resend", model="gpt-4o"),
            start_time_unix_nano=now - 1000, time_unix_nano=now, as_int=int(tokens),
        )
        metric = m.Metric(name="{n.TOKENS_USED.otel_name}", sum=m.Sum(
            data_points=[point], aggregation_temporality=m.AGGREGATION_TEMPORALITY_DELTA,
            is_monotonic=True,
        ))
        resource = Resource(attributes=attrs(**{{
            "service.name": "resend-agent", "service.instance.id": "proc-1",
            "{n.DELIVERY_ID}": "proc-1:" + seq,
        }}))
        request = service.ExportMetricsServiceRequest(resource_metrics=[m.ResourceMetrics(
            resource=resource,
            scope_metrics=[m.ScopeMetrics(scope={{"name": "{n.SCOPE_NAME}"}}, metrics=[metric])],
        )])
        endpoint = os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"].removeprefix("http://")
        with grpc.insecure_channel(endpoint) as channel:
            stub.MetricsServiceStub(channel).Export(request, timeout=10)
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NativeStack]:
    """A stack of its own."""
    with running_stack(tmp_path_factory.mktemp("resend"), "1s") as native:
        yield native


def send(stack: NativeStack, *exports: str) -> None:
    """One process sends each export ("<sequence>=<tokens>") in turn."""
    stack.run_python_output(RESEND.replace("sys.argv[1:]", repr(list(exports))))


def test_resent_exports_count_once_in_any_order_and_across_a_crash(stack: NativeStack) -> None:
    """Sequences 1 to 4 (5, 7, 11, 13 tokens), each resent, one after a SIGKILL: 36 tokens."""
    send(stack, "1=5", "2=7", "1=5")
    stack.stack.crash("collector")
    stack.stack.up()
    send(stack, "2=7", "4=13", "3=11", "4=13", "3=11")
    unused = c.PIPELINE_UNUSED.prometheus_name
    assert_settled(
        stack,
        [
            (f'sum({TOKENS}{{{JOB},{n.PERSONA}="{PERSONA}"}})', None, {"": 36.0}),
            (
                f'sum({unused}{{{JOB},reason="{c.REASON_DUPLICATE}",producer="{n.SCOPE_NAME}"}})',
                None,
                {"": 4.0},
            ),
        ],
    )
