"""Four agent frameworks run for real into the stack: each agent's tokens, switches and time.

Each app (tests/producers/*_app.py) runs two agents, ``triage_agent`` handing the question to
``billing_agent``, RUNS times against the fake provider, from its own pinned venv, with no
``hypertool.persona.name`` anywhere: the collector's ``genai`` connector must find each
call's agent itself (docs/accounting.md, "Which agent spent it"):

- the OpenAI Agents SDK (contrib instrumentation) and Strands (tool shape) from their chat
  spans, each under its agent's ``invoke_agent`` span; the SDK's handoff is an
  ``agent_handoff`` span, Strands' billing agent runs nested inside triage's tool call;
- LangGraph under OpenLLMetry from its chat spans, whose ``traceloop.entity.path`` names
  the graph node (USAGE_AGENTS), the agent;
- Google ADK from its ``gen_ai.client.token.usage``, whose points name the agent.

The fake provider records which agent asked each call (by its system prompt): that is the
truth per agent. The personas of all four are the same two names, so each framework's
resource carries a ``hypertool.persona.chatmode`` of its own (not a persona: attribution
still applies), which every series here is labelled by.

An app that is no agent (the plain openai SDK under OpenInference) counts at once under its
service, as ``no_agent_span``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from hypertool_agent import names as n
from hypertool_tools import contract as c
from tests.conftest import NativeStack, running_stack
from tests.e2e._producers import (
    AGENT_PROMPTS,
    JOB,
    LLM_TOKENS,
    SETTLE_SECONDS,
    TOKENS,
    assert_settled,
    keyed,
)
from tests.fakes.llm_api import FakeLLM, Ledger
from tests.producers import genai_python

pytestmark = pytest.mark.e2e

RUNS = 2
FIRST, SECOND = "triage_agent", "billing_agent"
SWITCHES = c.PERSONA_SWITCHES.prometheus_name
DURATION_COUNT = f"{c.PERSONA_DURATION.prometheus_name}_count"
UNUSED = c.PIPELINE_UNUSED.prometheus_name
UNATTRIBUTED = c.PIPELINE_UNATTRIBUTED.prometheus_name
#: Metric exports only when the app exits: its usage metric is exported exactly once.
ONE_METRIC_EXPORT = {"OTEL_METRIC_EXPORT_INTERVAL": "600000"}


@dataclass(frozen=True)
class Framework:
    """One framework's app, how it is run, and what one run of it does."""

    name: str
    app: Path
    requirements: Path
    model: str
    input_tokens: int
    output_tokens: int
    #: Calls each agent makes per run.
    calls_per_run: dict[str, int]
    #: Its instrumentation scope, when it is counted from spans (the unattributed producer).
    span_producer: str | None = None
    #: Its usage metric, counted unused: the producer and the points of its one export.
    usage_metric: tuple[str, int] | None = None
    app_args: tuple[str, ...] = ()
    gemini_calls: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def service(self) -> str:
        """Its OTEL_SERVICE_NAME."""
        return f"{self.name}-app"


AGENTS_SDK = Framework(
    name="openai-agents",
    app=genai_python.AGENTS_APP,
    requirements=genai_python.AGENTS_REQUIREMENTS,
    model="gpt-4o-mini",
    input_tokens=21,
    output_tokens=8,
    calls_per_run={FIRST: 1, SECOND: 1},
    span_producer="opentelemetry.instrumentation.openai_agents",
    # gen_ai.client.token.usage: one point per token type (one model, one server).
    usage_metric=("opentelemetry.instrumentation.openai_agents", 2),
)
STRANDS = Framework(
    name="strands",
    app=genai_python.STRANDS_APP,
    requirements=genai_python.STRANDS_REQUIREMENTS,
    model="gpt-4.1-mini",
    input_tokens=13,
    output_tokens=5,
    # triage asks, billing answers inside triage's tool call, triage answers last.
    calls_per_run={FIRST: 2, SECOND: 1},
    span_producer="strands.telemetry.tracer",
    app_args=("--shape", "tool"),
)
ADK = Framework(
    name="google-adk",
    app=genai_python.ADK_APP,
    requirements=genai_python.ADK_REQUIREMENTS,
    model="gemini-2.5-flash",
    input_tokens=17,
    output_tokens=6,
    calls_per_run={FIRST: 1, SECOND: 1},
    gemini_calls={"transfer_to_agent": {}},
)
LANGGRAPH = Framework(
    name="langgraph",
    app=genai_python.LANGGRAPH_APP,
    requirements=genai_python.LANGGRAPH_REQUIREMENTS,
    model="gpt-4.1",
    input_tokens=11,
    output_tokens=4,
    calls_per_run={FIRST: 1, SECOND: 1},
    span_producer="opentelemetry.instrumentation.langchain",
    # gen_ai.client.token.usage: one point per token type (one response model).
    usage_metric=("opentelemetry.instrumentation.langchain", 2),
)
FRAMEWORKS = (AGENTS_SDK, STRANDS, ADK, LANGGRAPH)
#: Where a handoff is a switch triage -> billing: the SDK's agent_handoff span, Strands'
#: billing agent span inside triage's.
SWITCHING = (AGENTS_SDK, STRANDS, ADK)
#: Where every agent span is one observation of time in its persona.
TIMED = (AGENTS_SDK, STRANDS, ADK)


def ids(framework: Framework) -> str:
    """The test id of a framework."""
    return framework.name


@dataclass
class Ran:
    """A framework's runs: its app's report and the fake provider's ledger."""

    report: dict[str, Any]
    ledger: Ledger


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NativeStack]:
    """One stack for the module, with the default attribution wait (30 s)."""
    with running_stack(tmp_path_factory.mktemp("agent-frameworks")) as native:
        yield native


def run_framework(stack: NativeStack, framework: Framework) -> Ran:
    """RUNS runs of the framework's app, in one process, against the fake provider."""
    why = genai_python.missing(framework.requirements)
    if why is not None:
        pytest.fail(why)
    with FakeLLM(
        input_tokens=framework.input_tokens,
        output_tokens=framework.output_tokens,
        gemini_calls=framework.gemini_calls,
        agents=AGENT_PROMPTS,
    ) as llm:
        env = genai_python.app_env(
            base_url=llm.url,
            otlp_endpoint=stack.stack.otlp_grpc_endpoint,
            service_name=framework.service,
            persona=None,
            OTEL_RESOURCE_ATTRIBUTES=f"{n.ATTR_CHATMODE}={framework.name}",
            **ONE_METRIC_EXPORT,
        )
        app = genai_python.run_app(
            env,
            *("--runs", str(RUNS), "--model", framework.model, *framework.app_args),
            timeout=180,
            app=framework.app,
            requirements=framework.requirements,
        )
    return Ran(app.report, llm.ledger)


@pytest.fixture(scope="module")
def ran(stack: NativeStack) -> Callable[[Framework], Ran]:
    """Each framework's runs, made once, the first time a test asks for them."""
    done: dict[str, Ran] = {}

    def get(framework: Framework) -> Ran:
        if framework.name not in done:
            done[framework.name] = run_framework(stack, framework)
        return done[framework.name]

    return get


def sel(framework: Framework, **labels: str) -> str:
    """A selector of the collector's series of one framework (its chatmode)."""
    pairs = [JOB, f'{n.CHATMODE}="{framework.name}"']
    pairs += [f'{k}="{v}"' for k, v in labels.items()]
    return ",".join(pairs)


@pytest.mark.parametrize("framework", FRAMEWORKS, ids=ids)
def test_the_fake_knows_which_agent_asked(
    ran: Callable[[Framework], Ran], framework: Framework
) -> None:
    """The ledger's calls per agent are the app's shape, and its tokens what the app counted."""
    calls = ran(framework).ledger.snapshot()
    per_agent: dict[str, int] = {}
    served: dict[str, list[int]] = {}
    for call in calls:
        per_agent[call.agent] = per_agent.get(call.agent, 0) + 1
        tokens = served.setdefault(call.agent, [0, 0])
        tokens[0] += call.input_tokens
        tokens[1] += call.output_tokens
    assert per_agent == {a: RUNS * k for a, k in framework.calls_per_run.items()}
    assert {call.model for call in calls} == {framework.model}
    runs = ran(framework).report["runs"]
    assert len(runs) == RUNS
    if all(FIRST in run for run in runs):
        # The app's own count, per agent (all but the Agents SDK's, which is per run).
        counted = {
            agent: [sum(run[agent][k] for run in runs) for k in ("input_tokens", "output_tokens")]
            for agent in framework.calls_per_run
        }
        assert counted == served
    else:
        counted_total = [sum(run[k] for run in runs) for k in ("input_tokens", "output_tokens")]
        assert counted_total == [sum(tokens[i] for tokens in served.values()) for i in (0, 1)]


@pytest.mark.parametrize("framework", FRAMEWORKS, ids=ids)
def test_each_agents_tokens_are_the_ledgers(
    stack: NativeStack, ran: Callable[[Framework], Ran], framework: Framework
) -> None:
    """Tokens per agent persona, and per agent and token type, are what the fake served it."""
    ledger = ran(framework).ledger
    inputs = {a: 0.0 for a in framework.calls_per_run}
    outputs = dict(inputs)
    for call in ledger.snapshot():
        inputs[call.agent] += call.input_tokens
        outputs[call.agent] += call.output_tokens
    expected = [
        (
            f"sum by ({n.PERSONA}) ({TOKENS}{{{sel(framework)}}})",
            n.PERSONA,
            {agent: float(t) for agent, t in ledger.by_agent().items()},
        )
    ]
    for agent in framework.calls_per_run:
        # No chatmode on this series: each framework's model is its own.
        llm_sel = f'{JOB},{n.MODEL}="{framework.model}",{n.PERSONA}="{agent}"'
        expected.append(
            (
                f"sum by ({n.TOKEN_TYPE}) ({LLM_TOKENS}{{{llm_sel}}})",
                n.TOKEN_TYPE,
                {n.TOKEN_TYPE_INPUT: inputs[agent], n.TOKEN_TYPE_OUTPUT: outputs[agent]},
            )
        )
    assert_settled(stack, expected)


@pytest.mark.parametrize("framework", FRAMEWORKS, ids=ids)
def test_no_call_is_counted_twice(
    stack: NativeStack, ran: Callable[[Framework], Ran], framework: Framework
) -> None:
    """The framework's total is the ledger's; its usage metric, if any, counts unused."""
    ledger = ran(framework).ledger
    expected = [
        (f"sum({TOKENS}{{{sel(framework)}}})", None, {"": float(ledger.total_tokens())}),
        (
            f"sum by ({n.MODEL}) ({TOKENS}{{{sel(framework)}}})",
            n.MODEL,
            {m: float(t) for m, t in ledger.by_model().items()},
        ),
    ]
    if framework.span_producer:
        # Every call found its agent: none counted under its own persona.
        producer = f'{JOB},producer="{framework.span_producer}"'
        expected.append((f"sum by ({n.REASON}) ({UNATTRIBUTED}{{{producer}}})", n.REASON, {}))
    if framework.usage_metric:
        producer_name, points = framework.usage_metric
        promql = (
            f'sum({UNUSED}{{{JOB},producer="{producer_name}",'
            f'{n.REASON}="{c.REASON_COUNTED_FROM_SPANS}"}})'
        )
        expected.append((promql, None, {"": float(points)}))
    assert_settled(stack, expected)


@pytest.mark.parametrize("framework", SWITCHING, ids=ids)
def test_each_handoff_is_one_switch(
    stack: NativeStack, ran: Callable[[Framework], Ran], framework: Framework
) -> None:
    """One switch triage_agent -> billing_agent per run, and no other switch."""
    runs = ran(framework).report["runs"]
    assert len(runs) == RUNS
    assert_settled(
        stack,
        [
            (
                f"sum by ({n.TO_PERSONA}) ({SWITCHES}{{{sel(framework, from_persona=FIRST)}}})",
                n.TO_PERSONA,
                {SECOND: float(RUNS)},
            ),
            (f"sum({SWITCHES}{{{sel(framework)}}})", None, {"": float(RUNS)}),
        ],
    )


@pytest.mark.parametrize("framework", TIMED, ids=ids)
def test_each_agent_span_is_one_duration(
    stack: NativeStack, ran: Callable[[Framework], Ran], framework: Framework
) -> None:
    """Each agent's invoke_agent spans (one per run) are its observations of time in persona."""
    ran(framework)
    assert_settled(
        stack,
        [
            (
                f"sum by ({n.PERSONA}) ({DURATION_COUNT}{{{sel(framework)}}})",
                n.PERSONA,
                {FIRST: float(RUNS), SECOND: float(RUNS)},
            )
        ],
    )


def test_a_graph_whose_agent_spans_do_not_nest_makes_no_switch(
    stack: NativeStack, ran: Callable[[Framework], Ran]
) -> None:
    """LangGraph's agent spans name the graph and its nodes alike: no switch, no duration.

    Its calls still count per node (test_each_agents_tokens_are_the_ledgers).
    """
    ran(LANGGRAPH)
    time.sleep(SETTLE_SECONDS)
    for series in (SWITCHES, DURATION_COUNT):
        assert stack.prometheus.query(f"sum({series}{{{sel(LANGGRAPH)}}})") == [], series


PLAIN_SERVICE = "plain-openinference-app"
PLAIN_PRODUCER = "openinference.instrumentation.openai"
PLAIN_CALLS = 3


def test_an_app_that_is_no_agent_counts_at_once(stack: NativeStack) -> None:
    """3 root chat spans, no agent span: counted well within the 30 s wait, as no_agent_span."""
    why = genai_python.missing(genai_python.OPENINFERENCE_REQUIREMENTS)
    if why is not None:
        pytest.fail(why)
    with FakeLLM(input_tokens=9, output_tokens=2) as llm:
        env = genai_python.app_env(
            base_url=llm.url,
            otlp_endpoint=stack.stack.otlp_grpc_endpoint,
            service_name=PLAIN_SERVICE,
            persona=None,
        )
        genai_python.run_app(
            env,
            *("--calls", str(PLAIN_CALLS)),
            requirements=genai_python.OPENINFERENCE_REQUIREMENTS,
            timeout=120,
        )
    exited = time.monotonic()
    total = float(llm.ledger.total_tokens())
    assert total == PLAIN_CALLS * 11
    persona = f'{JOB},{n.PERSONA}="{PLAIN_SERVICE}"'
    counted = stack.prometheus.wait_for(
        f"sum({TOKENS}{{{persona}}})", lambda s: keyed(s) == {"": total}, timeout=15
    )
    waited = time.monotonic() - exited
    assert keyed(counted) == {"": total}, f"not counted {waited:.1f} s after the app exited"
    assert waited < 20, waited  # the wait is 30 s: nothing waited for an agent span
    assert_settled(
        stack,
        [
            (f"sum({TOKENS}{{{persona}}})", None, {"": total}),
            (
                f'sum by ({n.REASON}) ({UNATTRIBUTED}{{{JOB},producer="{PLAIN_PRODUCER}"}})',
                n.REASON,
                {c.REASON_NO_AGENT_SPAN: float(PLAIN_CALLS)},
            ),
        ],
    )
