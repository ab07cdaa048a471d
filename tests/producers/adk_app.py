"""A two-agent Google ADK app with one transfer, its OpenTelemetry from outside.

It imports nothing of hypertool and nothing of OpenTelemetry: ADK traces and meters through
the global providers, which ``opentelemetry-instrument`` sets up from the standard
``OTEL_*`` variables. The root agent ``triage_agent`` has ``billing_agent`` as its
sub-agent; ADK offers the model a ``transfer_to_agent`` function, and when the provider
calls it the run moves to ``billing_agent``. The agents talk to the Gemini API through
google-genai, pointed at ``GOOGLE_GEMINI_BASE_URL`` with the key ``GOOGLE_API_KEY``. One JSON
line at the end holds, per run, the usage each agent's events carried, for a test to
cross-check against the fake provider's ledger::

    opentelemetry-instrument python tests/producers/adk_app.py --runs 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from typing import Any

#: In every prompt, so a test can search for it in whatever reached a backend.
PROMPT_MARKER = "HYPERTOOL-PROMPT-MARKER-7f3a9c"
FIRST_AGENT = "triage_agent"
SECOND_AGENT = "billing_agent"
APP_NAME = "billing_app"
USER_ID = "user-1"


def _root_agent(model: str) -> Any:  # noqa: ANN401 - an ADK LlmAgent
    """``triage_agent`` with ``billing_agent`` as its sub-agent."""
    # Only the producer venv has ADK; the tests import this module for its names.
    from google.adk.agents import LlmAgent  # type: ignore[import-not-found,import-untyped,unused-ignore]

    second = LlmAgent(
        name=SECOND_AGENT,
        model=model,
        description="Answers billing questions.",
        instruction="You answer billing questions.",
        # Billing answers; it never hands the question on or back.
        disallow_transfer_to_parent=True,
        disallow_transfer_to_peers=True,
    )
    return LlmAgent(
        name=FIRST_AGENT,
        model=model,
        instruction="Hand billing questions to the billing agent.",
        sub_agents=[second],
    )


def _count(totals: dict[str, dict[str, int]], event: Any) -> None:  # noqa: ANN401 - an Event
    """Add one model response's usage to its agent's totals."""
    usage = event.usage_metadata
    if usage is None:
        return
    agent = totals.setdefault(
        str(event.author), {"requests": 0, "input_tokens": 0, "output_tokens": 0}
    )
    agent["requests"] += 1
    agent["input_tokens"] += int(usage.prompt_token_count or 0)
    agent["output_tokens"] += int(usage.candidates_token_count or 0)


async def _run(runs: int, model: str) -> list[dict[str, Any]]:
    """Run the root agent ``runs`` times, a new session each; each agent's usage."""
    from google.adk.runners import InMemoryRunner  # type: ignore[import-not-found,import-untyped,unused-ignore]
    from google.genai import types  # type: ignore[import-not-found,import-untyped,unused-ignore]

    runner = InMemoryRunner(agent=_root_agent(model), app_name=APP_NAME)
    results = []
    for i in range(runs):
        session = await runner.session_service.create_session(app_name=APP_NAME, user_id=USER_ID)
        question = f"{PROMPT_MARKER} question {i}: my invoice"
        message = types.Content(role="user", parts=[types.Part(text=question)])
        totals: dict[str, dict[str, int]] = {}
        async for event in runner.run_async(
            user_id=USER_ID, session_id=session.id, new_message=message
        ):
            _count(totals, event)
        results.append({"model": model} | totals)
    await runner.close()
    return results


def main() -> None:
    """Run the agents and print what ADK's events counted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="agent runs (one transfer each)")
    parser.add_argument("--model", default=os.environ.get("GEMINI_APP_MODEL", "gemini-2.5-flash"))
    args = parser.parse_args()
    runs = asyncio.run(asyncio.wait_for(_run(args.runs, args.model), timeout=120.0))
    print(json.dumps({"runs": runs}), flush=True)


if __name__ == "__main__":
    main()
