"""A two-agent Strands Agents app, its OpenTelemetry from outside.

It imports nothing of hypertool and nothing of OpenTelemetry: Strands traces and meters
through the global providers, which ``opentelemetry-instrument`` sets up from the standard
``OTEL_*`` variables. Two shapes of two agents, on the OpenAI model provider (Chat
Completions on ``OPENAI_BASE_URL``, key ``OPENAI_API_KEY``):

- ``--shape tool`` (default): ``triage_agent`` holds ``billing_agent`` as a tool
  (``Agent.as_tool``) named ``transfer_to_billing_agent``, which the provider calls;
  ``billing_agent`` then runs inside that tool call, and ``triage_agent`` answers last;
- ``--shape graph``: a Graph whose node ``triage_agent`` is followed by ``billing_agent``.

The tool shape keeps its two agents over the runs, as a server would (each run a new
conversation). At the end one JSON line holds, per run, the usage each agent's last
invocation counted, for a test to cross-check against the fake provider's ledger::

    opentelemetry-instrument python tests/producers/strands_app.py --runs 3

Strands records prompts and completions (span events) by default; the token
``gen_ai_unredacted_attributes=`` in ``OTEL_SEMCONV_STABILITY_OPT_IN`` (an empty allow
list) replaces every one with a redaction marker.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

#: In every prompt, so a test can search for it in whatever reached a backend.
PROMPT_MARKER = "HYPERTOOL-PROMPT-MARKER-7f3a9c"
FIRST_AGENT = "triage_agent"
SECOND_AGENT = "billing_agent"
#: The tool name the fake provider calls (it calls any ``transfer_to_*`` tool offered).
HANDOFF_TOOL = f"transfer_to_{SECOND_AGENT}"


def _usage(agent: Any) -> dict[str, int]:  # noqa: ANN401 - a strands Agent
    """What the agent's last invocation counted: its model calls and their tokens."""
    invocation = agent.event_loop_metrics.latest_agent_invocation
    return {
        "requests": len(invocation.cycles),
        "input_tokens": int(invocation.usage["inputTokens"]),
        "output_tokens": int(invocation.usage["outputTokens"]),
    }


def _agents(model_id: str) -> tuple[Any, Any]:
    """The two agents; the second is what the first hands its question to."""
    # Only the producer venv has Strands; the tests import this module for its names.
    from strands import Agent  # type: ignore[import-not-found,unused-ignore]
    from strands.models.openai import (  # type: ignore[import-not-found,unused-ignore]
        OpenAIModel,
    )

    # OPENAI_BASE_URL and OPENAI_API_KEY, read by the openai client itself.
    model = OpenAIModel(client_args={"timeout": 30.0, "max_retries": 0}, model_id=model_id)
    second = Agent(
        name=SECOND_AGENT,
        system_prompt="You answer billing questions.",
        model=model,
        callback_handler=None,
    )
    first = Agent(
        name=FIRST_AGENT,
        system_prompt="Hand billing questions to the billing agent.",
        model=model,
        tools=[second.as_tool(name=HANDOFF_TOOL, description="The billing agent.")],
        callback_handler=None,
    )
    return first, second


def _run_tool(runs: int, model_id: str) -> list[dict[str, Any]]:
    """``triage_agent`` with ``billing_agent`` as its tool, ``runs`` times."""
    first, second = _agents(model_id)
    results = []
    for i in range(runs):
        # A new conversation per run, on the same agents: with the last run's tool result in
        # its history the provider would answer at once, without a handoff.
        first.messages.clear()
        first(f"{PROMPT_MARKER} question {i}: my invoice")
        results.append(
            {
                "model": model_id,
                "shape": "tool",
                FIRST_AGENT: _usage(first),
                SECOND_AGENT: _usage(second),
            }
        )
    return results


def _run_graph(runs: int, model_id: str) -> list[dict[str, Any]]:
    """A graph ``triage_agent`` -> ``billing_agent``, ``runs`` times."""
    from strands import Agent  # type: ignore[import-not-found,unused-ignore]
    from strands.models.openai import (  # type: ignore[import-not-found,unused-ignore]
        OpenAIModel,
    )
    from strands.multiagent import GraphBuilder  # type: ignore[import-not-found,unused-ignore]

    model = OpenAIModel(client_args={"timeout": 30.0, "max_retries": 0}, model_id=model_id)
    results = []
    for i in range(runs):
        builder = GraphBuilder()
        for name, prompt in (
            (FIRST_AGENT, "Sort the question."),
            (SECOND_AGENT, "You answer billing questions."),
        ):
            agent = Agent(name=name, system_prompt=prompt, model=model, callback_handler=None)
            builder.add_node(agent, name)
        builder.add_edge(FIRST_AGENT, SECOND_AGENT)
        builder.set_entry_point(FIRST_AGENT)
        builder.set_max_node_executions(2)
        builder.set_execution_timeout(60.0)
        graph = builder.build()
        result = graph(f"{PROMPT_MARKER} question {i}: my invoice")
        run: dict[str, Any] = {"model": model_id, "shape": "graph"}
        for name, node in result.results.items():
            usage = node.accumulated_usage
            run[name] = {
                "input_tokens": int(usage["inputTokens"]),
                "output_tokens": int(usage["outputTokens"]),
            }
        results.append(run)
    return results


def main() -> None:
    """Run the agents and print what Strands counted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="agent runs (one handoff each)")
    parser.add_argument("--shape", choices=("tool", "graph"), default="tool")
    parser.add_argument("--model", default=os.environ.get("OPENAI_APP_MODEL", "gpt-4o-mini"))
    args = parser.parse_args()
    run = _run_graph if args.shape == "graph" else _run_tool
    print(json.dumps({"runs": run(args.runs, args.model)}), flush=True)


if __name__ == "__main__":
    main()
