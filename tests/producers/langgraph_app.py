"""A two-agent LangGraph app with one handoff, instrumented from outside.

It imports nothing of hypertool and nothing of OpenTelemetry: ``opentelemetry-instrument``
loads the LangChain instrumentation installed in its venv (OpenLLMetry's
``opentelemetry-instrumentation-langchain``, or Arize OpenInference's
``openinference-instrumentation-langchain``), which hooks LangChain's callbacks and so sees
every graph, node, agent and model call. The graph has two nodes, each an agent made by
``create_react_agent(name=...)`` on ``ChatOpenAI`` (Chat Completions on ``OPENAI_BASE_URL``,
key ``OPENAI_API_KEY``): ``triage_agent`` holds a tool ``transfer_to_billing_agent`` which,
called by the provider, moves the run to the node ``billing_agent`` (a ``Command`` to the
parent graph, LangGraph's handoff). One JSON line at the end holds, per run, the usage
each agent's model calls returned, for a test to cross-check against the fake's ledger::

    opentelemetry-instrument python tests/producers/langgraph_app.py --runs 3
"""

import argparse
import json
import os
from typing import Annotated, Any

#: In every prompt, so a test can search for it in whatever reached a backend.
PROMPT_MARKER = "HYPERTOOL-PROMPT-MARKER-7f3a9c"
FIRST_AGENT = "triage_agent"
SECOND_AGENT = "billing_agent"
#: The tool name the fake provider calls (it calls any ``transfer_to_*`` tool offered).
HANDOFF_TOOL = f"transfer_to_{SECOND_AGENT}"


def _handoff_tool() -> Any:  # noqa: ANN401 - a LangChain tool
    """A tool that ends ``triage_agent``'s turn and sends the run to ``billing_agent``."""
    # Only the producer venv has LangGraph; the tests import this module for its names.
    from langchain_core.messages import ToolMessage  # type: ignore[import-not-found,unused-ignore]
    from langchain_core.tools import (  # type: ignore[import-not-found,unused-ignore]
        InjectedToolCallId,
        tool,
    )
    from langgraph.prebuilt import InjectedState  # type: ignore[import-not-found,unused-ignore]
    from langgraph.types import Command  # type: ignore[import-not-found,unused-ignore]

    @tool(HANDOFF_TOOL, description="Hand the question to the billing agent.")  # type: ignore[untyped-decorator,unused-ignore]
    def transfer(
        state: Annotated[dict[str, Any], InjectedState],
        tool_call_id: Annotated[str, InjectedToolCallId],
    ) -> Any:  # noqa: ANN401 - a Command
        done = ToolMessage(f"Transferred to {SECOND_AGENT}", tool_call_id=tool_call_id)
        return Command(
            goto=SECOND_AGENT,
            graph=Command.PARENT,
            update={"messages": [*state["messages"], done]},
        )

    return transfer


def _graph(model_name: str) -> Any:  # noqa: ANN401 - a compiled LangGraph graph
    """START -> triage_agent -(handoff)-> billing_agent."""
    from langchain_openai import ChatOpenAI  # type: ignore[import-not-found,unused-ignore]
    from langgraph.graph import (  # type: ignore[import-not-found,unused-ignore]
        START,
        MessagesState,
        StateGraph,
    )
    from langgraph.prebuilt import (  # type: ignore[import-not-found,unused-ignore]
        create_react_agent,
    )

    # OPENAI_BASE_URL and OPENAI_API_KEY, read by the openai client itself.
    model = ChatOpenAI(model=model_name, timeout=30.0, max_retries=0)
    first = create_react_agent(
        model,
        [_handoff_tool()],
        prompt="Hand billing questions to the billing agent.",
        name=FIRST_AGENT,
    )
    second = create_react_agent(
        model, [], prompt="You answer billing questions.", name=SECOND_AGENT
    )
    graph = StateGraph(MessagesState)
    graph.add_node(FIRST_AGENT, first, destinations=(SECOND_AGENT,))
    graph.add_node(SECOND_AGENT, second)
    graph.add_edge(START, FIRST_AGENT)
    return graph.compile(name="billing_workflow")


def _usage_by_agent(messages: list[Any]) -> dict[str, dict[str, int]]:
    """Each agent's model calls and their tokens, from the AI messages it wrote."""
    totals: dict[str, dict[str, int]] = {}
    for message in messages:
        usage = getattr(message, "usage_metadata", None)
        if getattr(message, "type", "") != "ai" or not usage:
            continue
        agent = totals.setdefault(
            str(message.name), {"requests": 0, "input_tokens": 0, "output_tokens": 0}
        )
        agent["requests"] += 1
        agent["input_tokens"] += int(usage["input_tokens"])
        agent["output_tokens"] += int(usage["output_tokens"])
    return totals


def _run(runs: int, model_name: str) -> list[dict[str, Any]]:
    """Run the graph ``runs`` times; what each agent's calls returned."""
    graph = _graph(model_name)
    results = []
    for i in range(runs):
        question = {"role": "user", "content": f"{PROMPT_MARKER} question {i}: my invoice"}
        state = graph.invoke({"messages": [question]}, {"recursion_limit": 10})
        results.append({"model": model_name} | _usage_by_agent(state["messages"]))
    return results


def main() -> None:
    """Run the graph and print what the agents counted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="graph runs (one handoff each)")
    parser.add_argument("--model", default=os.environ.get("OPENAI_APP_MODEL", "gpt-4o-mini"))
    args = parser.parse_args()
    print(json.dumps({"runs": _run(args.runs, args.model)}), flush=True)


if __name__ == "__main__":
    main()
