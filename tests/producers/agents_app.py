"""A two-agent OpenAI Agents SDK app with one handoff, instrumented from outside.

It imports nothing of hypertool and nothing of OpenTelemetry: ``opentelemetry-instrument``
loads the official contrib instrumentation (``opentelemetry-instrumentation-openai-agents-v2``,
entry point ``openai_agents``), which adds a TracingProcessor to the SDK's own tracing and
turns its spans into OTLP spans and ``gen_ai.client.*`` metrics, exported through the
standard ``OTEL_*`` variables; the app sets nothing up. Each run is one ``Runner.run`` of
``triage_agent``, which hands off to ``billing_agent`` when the provider answers with a
``transfer_to_billing_agent`` tool call. It prints, as one JSON line, the usage the SDK
counted per run, for the tests to cross-check against the fake provider's ledger::

    opentelemetry-instrument python tests/producers/agents_app.py --runs 3

The SDK is pointed at Chat Completions on ``OPENAI_BASE_URL`` (key ``OPENAI_API_KEY``). Its
own trace upload to OpenAI is removed, not its tracing: ``set_tracing_disabled(True)`` or
``OPENAI_AGENTS_DISABLE_TRACING`` would silence the instrumentation as well.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from typing import Any

#: In every prompt, so a test can search for it in whatever reached a backend.
PROMPT_MARKER = "HYPERTOOL-PROMPT-MARKER-7f3a9c"
#: The agent each run starts with, and the one it hands off to (tool transfer_to_billing_agent).
FIRST_AGENT = "triage_agent"
SECOND_AGENT = "billing_agent"


def _drop_openai_trace_upload() -> None:
    """Keep every trace processor but the SDK's default one, which uploads to OpenAI."""
    # Only the producer venv has the SDK; the tests import this module for its names.
    from agents import set_trace_processors  # type: ignore[import-not-found,unused-ignore]
    from agents.tracing import (  # type: ignore[import-not-found,unused-ignore]
        get_trace_provider,
    )
    from agents.tracing.processors import (  # type: ignore[import-not-found,unused-ignore]
        default_processor,
    )

    # The SDK offers no public way to list processors; the instrumentation reads it the same way.
    multi = getattr(get_trace_provider(), "_multi_processor", None)
    current = list(getattr(multi, "_processors", ()))
    set_trace_processors([p for p in current if p is not default_processor()])


async def _run(runs: int, model: str) -> list[dict[str, Any]]:
    """Run the first agent ``runs`` times; what the SDK counted for each run."""
    from agents import (  # type: ignore[import-not-found,unused-ignore]
        Agent,
        Runner,
        set_default_openai_api,
        set_default_openai_client,
    )
    from openai import AsyncOpenAI  # type: ignore[import-not-found,unused-ignore]

    # OPENAI_BASE_URL and OPENAI_API_KEY, read by the client itself.
    client = AsyncOpenAI(timeout=30.0, max_retries=0)
    set_default_openai_client(client, use_for_tracing=False)
    set_default_openai_api("chat_completions")
    second = Agent(name=SECOND_AGENT, instructions="You answer billing questions.", model=model)
    first = Agent(
        name=FIRST_AGENT,
        instructions="Hand billing questions to the billing agent.",
        model=model,
        handoffs=[second],
    )
    results = []
    for i in range(runs):
        result = await Runner.run(first, f"{PROMPT_MARKER} question {i}: my invoice")
        usage = result.context_wrapper.usage
        results.append(
            {
                "model": model,
                "last_agent": result.last_agent.name,
                "requests": usage.requests,
                "input_tokens": usage.input_tokens,
                "output_tokens": usage.output_tokens,
            }
        )
    return results


def main() -> None:
    """Run the agents and print what the SDK counted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="agent runs (one handoff each)")
    parser.add_argument("--model", default=os.environ.get("OPENAI_APP_MODEL", "gpt-4o-mini"))
    args = parser.parse_args()
    _drop_openai_trace_upload()
    runs = asyncio.run(_run(args.runs, args.model))
    print(json.dumps({"runs": runs}), flush=True)


if __name__ == "__main__":
    main()
