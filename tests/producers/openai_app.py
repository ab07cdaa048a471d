"""A plain OpenAI SDK app, the kind OpenLLMetry instruments with no code change.

It imports nothing of hypertool and nothing of OpenTelemetry: ``opentelemetry-instrument``
adds the telemetry from outside. It runs in its own venv (``tests/producers/genai_python.py``)
against ``OPENAI_BASE_URL`` and prints, as one JSON line, the usage the SDK returned for
each call, for the tests to cross-check against the fake provider's ledger::

    opentelemetry-instrument python tests/producers/openai_app.py --calls 3 --model gpt-4o-mini
"""

from __future__ import annotations

import argparse
import json
import os
import time

#: In every prompt, so a test can search for it in whatever reached a backend.
PROMPT_MARKER = "HYPERTOOL-PROMPT-MARKER-7f3a9c"


def main() -> None:
    """Make the calls and print what the SDK reported."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1, help="chat completions to make")
    parser.add_argument("--model", default=os.environ.get("OPENAI_APP_MODEL", "gpt-4o-mini"))
    parser.add_argument("--stream", action="store_true", help="stream, with include_usage")
    parser.add_argument(
        "--pause", type=float, default=0.0, help="seconds between calls (spans metric exports)"
    )
    args = parser.parse_args()

    # Only the producer venv has openai; the tests import this module for PROMPT_MARKER.
    from openai import OpenAI  # type: ignore[import-not-found,unused-ignore]

    client = OpenAI(timeout=30.0, max_retries=0)  # OPENAI_BASE_URL, OPENAI_API_KEY
    calls = []
    for i in range(args.calls):
        if i and args.pause:
            time.sleep(args.pause)
        messages = [
            {"role": "system", "content": "You are a terse assistant."},
            {"role": "user", "content": f"{PROMPT_MARKER} question {i}: say ok"},
        ]
        if args.stream:
            stream = client.chat.completions.create(
                model=args.model,
                messages=messages,
                stream=True,
                stream_options={"include_usage": True},
            )
            usage = None
            for chunk in stream:
                usage = chunk.usage or usage
        else:
            response = client.chat.completions.create(
                model=args.model,
                messages=messages,
            )
            usage = response.usage
        assert usage is not None, "the provider reported no usage"
        calls.append(
            {
                "model": args.model,
                "input_tokens": usage.prompt_tokens,
                "output_tokens": usage.completion_tokens,
            }
        )
    print(json.dumps({"calls": calls}), flush=True)


if __name__ == "__main__":
    main()
