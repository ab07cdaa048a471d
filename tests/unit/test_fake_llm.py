"""The fake LLM provider: the usage it serves is the usage it records; how it hands off."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from tests.fakes.llm_api import HANDOFF_TEXT, FakeLLM

MODEL = "gemini-2.5-flash"
REQUEST = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}


def post(url: str, body: object = REQUEST) -> tuple[str, bytes]:
    """POST JSON; the response's content type and body."""
    data = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "x-goog-api-key": "fake"}
    request = urllib.request.Request(  # noqa: S310 - the fake, on loopback
        url, data=data, headers=headers, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        return str(response.headers["Content-Type"]), response.read()


def sse_chunks(body: bytes) -> list[dict[str, Any]]:
    """The JSON of each ``data:`` line of an SSE body."""
    lines = body.decode().splitlines()
    return [json.loads(line[len("data: ") :]) for line in lines if line.startswith("data: ")]


def test_gemini_generate_content_reports_and_records_usage() -> None:
    """Gemini's generateContent answers usageMetadata from the configured usage and records it."""
    with FakeLLM(input_tokens=12, output_tokens=6) as llm:
        kind, body = post(f"{llm.url}/v1beta/models/{MODEL}:generateContent")
    answer = json.loads(body)
    assert kind == "application/json"
    assert answer["candidates"][0]["content"]["parts"][0]["text"]
    assert answer["usageMetadata"] == {
        "promptTokenCount": 12,
        "candidatesTokenCount": 6,
        "totalTokenCount": 18,
    }
    [call] = llm.ledger.snapshot()
    assert (call.api, call.model, call.streamed, call.total_tokens) == ("gemini", MODEL, False, 18)


def test_gemini_sse_stream_carries_cached_and_thoughts_tokens_in_its_last_chunk() -> None:
    """Streamed with alt=sse: cached tokens inside the prompt count, thoughts apart, once."""
    with FakeLLM(input_tokens=10, output_tokens=4, cache_read_tokens=30, thoughts_tokens=7) as llm:
        kind, body = post(f"{llm.url}/v1beta/models/{MODEL}:streamGenerateContent?alt=sse")
    chunks = sse_chunks(body)
    assert kind == "text/event-stream"
    assert [c.get("usageMetadata") for c in chunks[:-1]] == [None] * (len(chunks) - 1)
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    assert chunks[-1]["usageMetadata"] == {
        "promptTokenCount": 40,
        "candidatesTokenCount": 4,
        "cachedContentTokenCount": 30,
        "thoughtsTokenCount": 7,
        "totalTokenCount": 51,
    }
    [call] = llm.ledger.snapshot()
    assert (call.api, call.streamed, call.cache_read_tokens, call.thoughts_tokens) == (
        "gemini",
        True,
        30,
        7,
    )
    assert llm.ledger.total_tokens() == 51


def test_gemini_side_calls_answer_without_recording_usage() -> None:
    """countTokens, embeddings and the model listing answer, and the ledger stays empty."""
    with FakeLLM(input_tokens=9) as llm:
        _, counted = post(f"{llm.url}/v1beta/models/{MODEL}:countTokens")
        _, embedded = post(f"{llm.url}/v1beta/models/text-embedding-004:embedContent")
        listing_url = f"{llm.url}/v1beta/models"
        with urllib.request.urlopen(listing_url, timeout=10) as response:  # noqa: S310 - loopback
            listing = json.loads(response.read())
    assert json.loads(counted) == {"totalTokens": 9}
    assert json.loads(embedded)["embedding"]["values"]
    assert listing["models"] == []
    assert llm.ledger.snapshot() == []


def test_anthropic_does_not_report_thoughts_and_gemini_no_cache_writes() -> None:
    """Each API records only the token types it can report."""
    with FakeLLM(
        input_tokens=5, output_tokens=1, cache_creation_tokens=3, thoughts_tokens=2
    ) as llm:
        post(f"{llm.url}/v1/messages", {"model": "claude", "messages": []})
        post(f"{llm.url}/v1beta/models/{MODEL}:generateContent")
    anthropic, gemini = llm.ledger.snapshot()
    assert (anthropic.cache_creation_tokens, anthropic.thoughts_tokens) == (3, 0)
    assert (gemini.cache_creation_tokens, gemini.thoughts_tokens) == (0, 2)


#: Google ADK's transfer tool as google-genai sends it: the agent names are an enum.
TRANSFER = {
    "name": "transfer_to_agent",
    "parameters_json_schema": {
        "type": "object",
        "properties": {"agent_name": {"type": "string", "enum": ["billing_agent"]}},
        "required": ["agent_name"],
    },
}


def test_gemini_hands_off_with_a_function_call_until_it_is_answered() -> None:
    """Offered transfer_to_agent, Gemini calls it with the enum's agent; answered, it talks."""
    offered = REQUEST | {"tools": [{"functionDeclarations": [TRANSFER]}]}
    response = {"functionResponse": {"name": "transfer_to_agent", "response": {}}}
    answered = offered | {"contents": [*REQUEST["contents"], {"role": "user", "parts": [response]}]}
    with FakeLLM() as llm:
        _, first = post(f"{llm.url}/v1beta/models/{MODEL}:generateContent", offered)
        _, streamed = post(
            f"{llm.url}/v1beta/models/{MODEL}:streamGenerateContent?alt=sse", offered
        )
        _, after = post(f"{llm.url}/v1beta/models/{MODEL}:generateContent", answered)
    call = {"functionCall": {"name": "transfer_to_agent", "args": {"agent_name": "billing_agent"}}}
    assert json.loads(first)["candidates"][0]["content"]["parts"] == [call]
    assert sse_chunks(streamed)[0]["candidates"][0]["content"]["parts"] == [call]
    assert json.loads(after)["candidates"][0]["content"]["parts"] == [{"text": "ok"}]
    assert len(llm.ledger.snapshot()) == 3


def test_openai_handoff_fills_each_required_argument() -> None:
    """A transfer_to_* tool's required arguments: the enum's first value, else a text."""
    parameters = {
        "type": "object",
        "properties": {"agent_name": {"type": "string", "enum": ["b", "c"]}, "input": {}},
        "required": ["agent_name", "input"],
    }
    tool = {"type": "function", "function": {"name": "transfer_to_x", "parameters": parameters}}
    request = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    with FakeLLM() as llm:
        _, body = post(f"{llm.url}/v1/chat/completions", request | {"tools": [tool]})
    [tool_call] = json.loads(body)["choices"][0]["message"]["tool_calls"]
    assert tool_call["function"]["name"] == "transfer_to_x"
    assert json.loads(tool_call["function"]["arguments"]) == {
        "agent_name": "b",
        "input": HANDOFF_TEXT,
    }
