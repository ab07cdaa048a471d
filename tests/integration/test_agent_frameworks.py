"""Four agent frameworks run for real, straight into an OTLP sink: where each puts its agents.

Each app (tests/producers/*_app.py) runs two agents with one handoff against the fake
provider, from its own pinned venv under ``opentelemetry-instrument``, and exports to an
``OtlpSink`` with no collector between. These are the producer facts per-agent attribution
rests on (issue 22): which span names the agent, which spans carry usage, whether a span
sums it again, and how a handoff looks. A new pin that changes one fails here first.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakes.llm_api import Call, FakeLLM
from tests.fakes.otlp_sink import OtlpSink, ReceivedMetric, ReceivedSpan, attributes
from tests.producers import genai_python

pytestmark = pytest.mark.integration

RUNS = 2
INPUT_TOKENS, OUTPUT_TOKENS = 12, 6
FIRST, SECOND = "triage_agent", "billing_agent"
INVOKE_AGENT = "invoke_agent"


@dataclass
class Capture:
    """What one app process sent, what it reported, and what the fake provider answered."""

    spans: list[ReceivedSpan]
    metrics: list[ReceivedMetric]
    runs: list[dict[str, object]]
    ledger: list[Call]

    def parent(self, span: ReceivedSpan) -> ReceivedSpan | None:
        """The span's parent, if it arrived."""
        by_id = {s.span.span_id: s for s in self.spans}
        return by_id.get(span.span.parent_span_id)

    def ancestors(self, span: ReceivedSpan) -> list[ReceivedSpan]:
        """Parent first, root last."""
        chain = []
        parent = self.parent(span)
        while parent is not None:
            chain.append(parent)
            parent = self.parent(parent)
        return chain

    def nearest_agent(self, span: ReceivedSpan) -> str | None:
        """``gen_ai.agent.name`` of the nearest enclosing ``invoke_agent`` span."""
        for ancestor in self.ancestors(span):
            attrs = ancestor.attributes
            if attrs.get("gen_ai.operation.name") == INVOKE_AGENT and "gen_ai.agent.name" in attrs:
                return str(attrs["gen_ai.agent.name"])
        return None

    def named(self, name: str) -> list[ReceivedSpan]:
        """The spans called ``name``, in arrival order."""
        return [s for s in self.spans if s.name == name]

    def served_input(self) -> int:
        """Input tokens the fake provider answered with, all calls."""
        return sum(c.input_tokens for c in self.ledger)


def capture(
    requirements: Path,
    app: Path,
    *app_args: str,
    gemini_calls: dict[str, dict[str, object]] | None = None,
    **env: str,
) -> Capture:
    """Run ``app`` RUNS times in its venv against the fake provider and a sink."""
    why = genai_python.missing(requirements)
    if why is not None:
        pytest.fail(why)
    fake = FakeLLM(
        input_tokens=INPUT_TOKENS, output_tokens=OUTPUT_TOKENS, gemini_calls=gemini_calls
    )
    with fake as llm, OtlpSink() as sink:
        app_env = genai_python.app_env(
            base_url=llm.url,
            otlp_endpoint=sink.url,
            service_name="frameworks",
            persona=None,
            **env,
        )
        # The SDK flushes at exit: everything has arrived when the process is gone.
        run = genai_python.run_app(
            app_env, "--runs", str(RUNS), *app_args, app=app, requirements=requirements, timeout=200
        )
        ledger = llm.ledger.snapshot()
    return Capture(sink.spans(), sink.metrics(), list(run.report["runs"]), ledger)


def input_by(spans: list[ReceivedSpan], key: str, capture_: Capture) -> Counter[str]:
    """Input tokens (``key``) of ``spans``, summed per nearest enclosing agent."""
    totals: Counter[str] = Counter()
    for span in spans:
        totals[str(capture_.nearest_agent(span))] += int(str(span.attributes[key]))
    return totals


def reported_input(capture_: Capture, agent: str) -> int:
    """Input tokens the app's own SDK counted for ``agent``, over all runs."""
    total = 0
    for run in capture_.runs:
        usage = run[agent]
        assert isinstance(usage, dict), run
        total += int(usage["input_tokens"])
    return total


def metric_points(capture_: Capture, name: str) -> list[dict[str, object]]:
    """Attributes and sum of each point of the histogram ``name`` (last export wins)."""
    points: dict[tuple[tuple[str, str], ...], dict[str, object]] = {}
    for metric in capture_.metrics:
        if metric.metric.name != name:
            continue
        for point in metric.metric.histogram.data_points:
            attrs = attributes(point.attributes)
            key = tuple(sorted((k, str(v)) for k, v in attrs.items()))
            points[key] = attrs | {"sum": point.sum}
    return list(points.values())


def test_openai_agents_usage_on_chat_spans_under_each_agent() -> None:
    """Agents SDK: chat spans two levels under their agent; their own agent name is a default."""
    got = capture(genai_python.AGENTS_REQUIREMENTS, genai_python.AGENTS_APP)
    chats = got.named("chat gpt-4o-mini")
    per_agent = input_by(chats, "gen_ai.usage.input_tokens", got)
    assert per_agent == {FIRST: RUNS * INPUT_TOKENS, SECOND: RUNS * INPUT_TOKENS}
    assert sum(per_agent.values()) == got.served_input()
    assert {str(c.attributes["gen_ai.agent.name"]) for c in chats} == {"OpenAI Agent"}
    # Between the chat span and its agent: the SDK's turn span, which the bridge calls "unknown".
    assert {str(got.parent(c).name) for c in chats} == {"unknown"}  # type: ignore[union-attr]
    agent_spans = [s for s in got.spans if s.name.startswith("invoke_agent ")]
    assert not any("gen_ai.usage.input_tokens" in s.attributes for s in agent_spans)
    [handoff, *_] = got.named("agent_handoff OpenAI Agent")
    assert (handoff.attributes["gen_ai.handoff.from_agent"], got.nearest_agent(handoff)) == (
        FIRST,
        FIRST,
    )
    assert handoff.attributes["gen_ai.handoff.to_agent"] == SECOND
    tokens = metric_points(got, "gen_ai.client.token.usage")
    assert all("gen_ai.agent.name" not in p for p in tokens)


def test_strands_agent_spans_repeat_usage_summed_over_the_agents_life() -> None:
    """Strands: usage on chat spans and again on agent spans, summed over the Agent's life."""
    got = capture(genai_python.STRANDS_REQUIREMENTS, genai_python.STRANDS_APP)
    chats = got.named("chat")
    per_agent = input_by(chats, "gen_ai.usage.input_tokens", got)
    assert per_agent == {FIRST: reported_input(got, FIRST), SECOND: reported_input(got, SECOND)}
    assert sum(per_agent.values()) == got.served_input() == RUNS * 3 * INPUT_TOKENS
    triage = [
        int(str(s.attributes["gen_ai.usage.input_tokens"]))
        for s in got.named(f"{INVOKE_AGENT} {FIRST}")
    ]
    assert sorted(triage) == [2 * INPUT_TOKENS * (i + 1) for i in range(RUNS)]
    [billing, *_] = got.named(f"{INVOKE_AGENT} {SECOND}")
    assert got.parent(billing).name == "execute_tool transfer_to_billing_agent"  # type: ignore[union-attr]
    assert got.nearest_agent(billing) == FIRST
    names = {m.metric.name for m in got.metrics}
    assert "strands.event_loop.input.tokens" in names
    assert "gen_ai.client.token.usage" not in names


def test_adk_names_the_agent_on_spans_and_on_the_token_metric() -> None:
    """ADK: model spans under their agent, which the token metric names too."""
    # ADK's transfer tool lists the agents as an enum: the fake picks billing_agent from it.
    got = capture(
        genai_python.ADK_REQUIREMENTS,
        genai_python.ADK_APP,
        gemini_calls={"transfer_to_agent": {}},
    )
    calls = got.named("generate_content gemini-2.5-flash")
    per_agent = input_by(calls, "gen_ai.usage.input_tokens", got)
    assert per_agent == {FIRST: reported_input(got, FIRST), SECOND: reported_input(got, SECOND)}
    assert sum(per_agent.values()) == got.served_input() == RUNS * 2 * INPUT_TOKENS
    assert all(c.attributes["gen_ai.agent.name"] == got.nearest_agent(c) for c in calls)
    for agent in got.named(f"{INVOKE_AGENT} {SECOND}"):
        assert got.parent(agent).attributes["gen_ai.operation.name"] == "invoke_workflow"  # type: ignore[union-attr]
    assert {got.nearest_agent(t) for t in got.named("execute_tool transfer_to_agent")} == {FIRST}
    tokens = metric_points(got, "gen_ai.client.token.usage")
    inputs = {
        str(p["gen_ai.agent.name"]): p["sum"] for p in tokens if p["gen_ai.token.type"] == "input"
    }
    assert inputs == {FIRST: per_agent[FIRST], SECOND: per_agent[SECOND]}


def test_langgraph_openllmetry_chat_spans_sit_under_the_workflow_not_the_agent() -> None:
    """OpenLLMetry on LangGraph: the nearest invoke_agent of a chat span is the graph's."""
    got = capture(genai_python.LANGGRAPH_REQUIREMENTS, genai_python.LANGGRAPH_APP)
    chats = got.named("ChatOpenAI.chat")
    assert input_by(chats, "gen_ai.usage.input_tokens", got) == {
        "billing_workflow": got.served_input()
    }
    by_path = Counter(str(c.attributes["traceloop.entity.path"]).split(".")[0] for c in chats)
    assert by_path == {FIRST: RUNS, SECOND: RUNS}
    for agent in got.named(f"{INVOKE_AGENT} {FIRST}"):
        assert not [s for s in got.spans if got.parent(s) is agent]
        # The handoff is LangGraph's ParentCommand, raised through the agent: an error.
        assert agent.span.status.code == agent.span.status.STATUS_CODE_ERROR
    assert {s.attributes["langgraph.command.goto_node"] for s in got.named(f"goto {SECOND}")} == {
        SECOND
    }
    tokens = metric_points(got, "gen_ai.client.token.usage")
    assert sum(float(str(p["sum"])) for p in tokens if p["gen_ai.token.type"] == "input") == (
        got.served_input()
    )


def test_langgraph_openinference_usage_on_llm_spans_under_agent_kind_spans() -> None:
    """OpenInference on LangGraph: usage on LLM spans only, under AGENT-kind node spans."""
    got = capture(
        genai_python.LANGGRAPH_OPENINFERENCE_REQUIREMENTS,
        genai_python.LANGGRAPH_APP,
        OPENINFERENCE_ENABLE_GENAI_SEMCONV="true",
    )
    assert got.metrics == []
    llms = got.named("ChatOpenAI")
    assert sum(int(str(s.attributes["llm.token_count.prompt"])) for s in llms) == got.served_input()
    for llm in llms:
        kinds = [
            a.name
            for a in got.ancestors(llm)
            if a.attributes.get("openinference.span.kind") == "AGENT"
        ]
        assert kinds[0] == "agent"
        assert kinds[-1] in (FIRST, SECOND)
        assert "gen_ai.agent.name" not in llm.attributes
