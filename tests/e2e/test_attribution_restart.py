"""Calls waiting for their agent span survive a collector crash and a graceful restart.

An SDK exports a span when it ends, so a call's span reaches the collector before its
agent's, which the collector waits for (docs/accounting.md, "Which agent spent it"). The
export of the call was acknowledged: the collector journals what waits before it answers.
Here a real OpenTelemetry SDK (the OTLP exporter of the repository's .venv) sends an
agent's two calls, the collector is killed with SIGKILL (or stopped), and the agent's span
comes after the restart: each call counts once, as the agent's.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from hypertool_agent import names as n
from hypertool_tools import contract as c
from tests.conftest import NativeStack, running_stack
from tests.e2e._producers import JOB, TOKENS, assert_settled

pytestmark = pytest.mark.e2e

#: A producer counted from its spans (contract.SPAN_USAGE), as OpenInference is.
SCOPE = "openinference.instrumentation.openai"
INPUT, OUTPUT = 40, 9


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NativeStack]:
    """A stack whose calls wait long for their agent: only the agent's span ends the wait."""
    with running_stack(
        tmp_path_factory.mktemp("attribution-restart"),
        collector_env={"HYPERTOOL_ATTRIBUTION_WAIT": "10m"},
    ) as native:
        yield native


def provider(stack: NativeStack, service: str) -> TracerProvider:
    """An SDK exporting each span as it ends, retrying for 30 s while the collector is down."""
    exporter = OTLPSpanExporter(endpoint=stack.stack.otlp_grpc_endpoint, insecure=True, timeout=30)
    tracer_provider = TracerProvider(resource=Resource.create({"service.name": service}))
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    return tracer_provider


def agent_run(stack: NativeStack, service: str, agent: str, restart: str) -> None:
    """Two calls of ``agent`` exported; the collector restarted; then the agent's span."""
    tracer = provider(stack, service).get_tracer(SCOPE)
    with tracer.start_as_current_span(
        f"invoke_agent {agent}",
        attributes={
            n.GEN_AI_OPERATION_NAME: n.GEN_AI_OPERATION_INVOKE_AGENT,
            n.GEN_AI_AGENT_NAME: agent,
        },
    ):
        for _ in range(2):
            with tracer.start_as_current_span(
                "chat gpt-4o-mini",
                attributes={
                    "llm.model_name": "gpt-4o-mini",
                    "llm.token_count.prompt": INPUT,
                    "llm.token_count.completion": OUTPUT,
                },
            ):
                pass
        # Both calls were acknowledged, and wait for the agent's span.
        if restart == "crash":
            stack.stack.crash("collector")
            stack.stack.up()
        else:
            stack.stack.restart("collector")
    # The agent's span is exported now, retried until the collector answers.


@pytest.mark.parametrize("restart", ["crash", "graceful"])
def test_calls_waiting_for_their_agent_survive_a_restart(stack: NativeStack, restart: str) -> None:
    """Both calls count once, as their agent's, across a SIGKILL or a graceful restart."""
    agent = f"{restart}_agent"
    agent_run(stack, f"restart-{restart}", agent, restart)
    sel = f'{JOB},{n.PERSONA}="{agent}"'
    service = f'{JOB},{n.PERSONA}="restart-{restart}"'
    assert_settled(
        stack,
        [
            (f"sum({TOKENS}{{{sel}}})", None, {"": 2.0 * (INPUT + OUTPUT)}),
            (
                f"sum({c.PERSONA_DURATION.prometheus_name}_count{{{sel}}})",
                None,
                {"": 1.0},
            ),
        ],
    )
    # A graceful stop counts what waits as the service's (reason shutdown): not here,
    # where the journal keeps it waiting for its agent across the restart.
    assert stack.prometheus.query(f"sum({TOKENS}{{{service}}})") == []
