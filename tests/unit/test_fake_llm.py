"""The fake LLM provider: the usage each API serves is the usage it records."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakes.llm_api import Call, FakeLLM

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


def test_gemini_json_mode_answers_json_that_fits_the_schema() -> None:
    """A request for JSON gets JSON with every property of its schema (enums' first value)."""
    schema = {
        "type": "OBJECT",
        "properties": {
            "reasoning": {"type": "STRING"},
            "model_choice": {"type": "STRING", "enum": ["flash", "pro"]},
            "score": {"type": "INTEGER"},
        },
    }
    config = {"responseMimeType": "application/json", "responseSchema": schema}
    with FakeLLM() as llm:
        _, body = post(
            f"{llm.url}/v1beta/models/{MODEL}:generateContent",
            REQUEST | {"generationConfig": config},
        )
    text = json.loads(body)["candidates"][0]["content"]["parts"][0]["text"]
    assert json.loads(text) == {"reasoning": "ok", "model_choice": "flash", "score": 1}


def test_gemini_calls_a_declared_function_until_it_has_answered() -> None:
    """Given gemini_calls, a declared function is called once; its response ends the calls."""
    params = {"type": "object", "properties": {"agent_name": {"type": "string"}}}
    tools = [{"functionDeclarations": [{"name": "invoke_agent", "parametersJsonSchema": params}]}]
    answered = {"role": "user", "parts": [{"functionResponse": {"name": "invoke_agent"}}]}
    calls = {"invoke_agent": {"agent_name": "generalist", "prompt": "go"}}
    with FakeLLM(gemini_calls=calls) as llm:
        url = f"{llm.url}/v1beta/models/{MODEL}:generateContent"
        _, first = post(url, REQUEST | {"tools": tools})
        contents = [*REQUEST["contents"], answered]
        _, second = post(url, {"contents": contents, "tools": tools})
    [part] = json.loads(first)["candidates"][0]["content"]["parts"]
    assert part == {
        "functionCall": {
            "name": "invoke_agent",
            "args": {"agent_name": "generalist", "prompt": "go"},
        }
    }
    assert json.loads(second)["candidates"][0]["content"]["parts"] == [{"text": "ok"}]
    assert len(llm.ledger.snapshot()) == 2


def test_gemini_makes_up_adk_transfer_arguments_from_the_snake_case_schema() -> None:
    """google-genai's parameters_json_schema: ADK's transfer goes to the enum's first agent."""
    agent = {"type": "string", "enum": ["billing_agent"]}
    params = {"type": "object", "properties": {"agent_name": agent}, "required": ["agent_name"]}
    declaration = {"name": "transfer_to_agent", "parameters_json_schema": params}
    request = REQUEST | {"tools": [{"functionDeclarations": [declaration]}]}
    with FakeLLM(gemini_calls={"transfer_to_agent": {}}) as llm:
        _, body = post(f"{llm.url}/v1beta/models/{MODEL}:streamGenerateContent?alt=sse", request)
    [part] = sse_chunks(body)[0]["candidates"][0]["content"]["parts"]
    assert part == {
        "functionCall": {"name": "transfer_to_agent", "args": {"agent_name": "billing_agent"}}
    }


def test_openai_handoff_arguments_are_made_up_from_the_tool_parameters() -> None:
    """A transfer_to_* tool call fills the tool's parameters: Strands' agent tool needs input."""
    params = {"type": "object", "properties": {"input": {"type": "string"}}, "required": ["input"]}
    tool = {"type": "function", "function": {"name": "transfer_to_x", "parameters": params}}
    request = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    with FakeLLM() as llm:
        _, body = post(f"{llm.url}/v1/chat/completions", request | {"tools": [tool]})
    [tool_call] = json.loads(body)["choices"][0]["message"]["tool_calls"]
    assert tool_call["function"]["name"] == "transfer_to_x"
    assert json.loads(tool_call["function"]["arguments"]) == {"input": "ok"}


#: Uncached input, output, cache-read and reasoning tokens, distinct from each other.
USAGE: dict[str, Any] = {
    "input_tokens": 100,
    "output_tokens": 30,
    "cache_read_tokens": 40,
    "reasoning_tokens": 10,
}
#: What OpenAI reports for USAGE: cached tokens inside the input, reasoning inside output.
RESPONSES_USAGE = {
    "input_tokens": 140,
    "input_tokens_details": {"cached_tokens": 40},
    "output_tokens": 30,
    "output_tokens_details": {"reasoning_tokens": 10},
    "total_tokens": 170,
}


def post_openai(url: str, body: dict[str, Any]) -> tuple[str, bytes]:
    """POST JSON straight to loopback (no proxy); the content type and the body."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(  # noqa: S310 - the fake, on loopback
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with opener.open(request, timeout=10) as response:
        return str(response.headers["Content-Type"]), bytes(response.read())


def sse_events(data: bytes) -> list[tuple[str, dict[str, Any]]]:
    """(event, data) of each server-sent event."""
    events = []
    for block in data.decode().strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields.get("event", ""), json.loads(fields["data"])))
    return events


@pytest.fixture
def llm() -> Iterator[FakeLLM]:
    """The fake, serving USAGE."""
    with FakeLLM(**USAGE) as fake:
        yield fake


def test_streamed_responses_end_with_the_usage(llm: FakeLLM) -> None:
    """A streamed Responses call: Codex's events, the usage on response.completed, recorded."""
    kind, data = post_openai(f"{llm.url}/v1/responses", {"model": "gpt-5.5", "stream": True})
    events = sse_events(data)
    assert kind == "text/event-stream"
    assert [e for e, _ in events][:2] == ["response.created", "response.in_progress"]
    assert all(body["type"] == event for event, body in events)
    done = [body["item"] for event, body in events if event == "response.output_item.done"]
    assert done[0]["content"][0]["text"] == "ok"
    last, completed = events[-1]
    assert last == "response.completed"
    assert completed["response"]["usage"] == RESPONSES_USAGE
    assert llm.ledger.snapshot() == [
        Call("responses", "gpt-5.5", 100, 30, 40, 0, True, reasoning_tokens=10)
    ]
    assert llm.ledger.total_tokens() == RESPONSES_USAGE["total_tokens"]


def test_plain_responses_call(llm: FakeLLM) -> None:
    """A Responses call without ``stream``: one JSON body with the output and the usage."""
    _, data = post_openai(f"{llm.url}/v1/responses", {"model": "gpt-5.5"})
    body = json.loads(data)
    assert body["status"] == "completed"
    assert body["output"][0]["content"][0]["text"] == "ok"
    assert body["usage"] == RESPONSES_USAGE
    (call,) = llm.ledger.snapshot()
    assert (call.api, call.streamed) == ("responses", False)


def test_other_calls_record_no_usage(llm: FakeLLM) -> None:
    """What Codex posts besides its turns (its turn-cost analytics) costs nothing."""
    _, data = post_openai(f"{llm.url}/v1/analytics/codex/turn-costs", {"turn_ids": ["t"]})
    assert json.loads(data) == {}
    assert llm.ledger.snapshot() == []


def test_chat_usage_details_only_when_set() -> None:
    """Chat completions report cached and reasoning tokens inside the totals when set."""
    with FakeLLM(**USAGE) as fake:
        _, data = post_openai(f"{fake.url}/v1/chat/completions", {"model": "m"})
    assert json.loads(data)["usage"] == {
        "prompt_tokens": 140,
        "completion_tokens": 30,
        "total_tokens": 170,
        "prompt_tokens_details": {"cached_tokens": 40},
        "completion_tokens_details": {"reasoning_tokens": 10},
    }
    with FakeLLM(input_tokens=12, output_tokens=6) as plain:
        _, data = post_openai(f"{plain.url}/v1/chat/completions", {"model": "m"})
    assert json.loads(data)["usage"] == {
        "prompt_tokens": 12,
        "completion_tokens": 6,
        "total_tokens": 18,
    }


#: A piece of each agent's system prompt -> the agent (FakeLLM(agents=...)).
AGENTS = {"You answer billing questions": "billing_agent", "Hand billing questions": "triage_agent"}


def test_each_call_records_the_agent_its_system_prompt_names() -> None:
    """The agent is read from each API's system prompt; a call with none of them has none."""
    billing = "You answer billing questions."
    triage = [{"type": "text", "text": "Hand billing questions to the billing agent."}]
    user = {"role": "user", "content": "hi"}
    with FakeLLM(input_tokens=3, output_tokens=1, agents=AGENTS) as fake:
        chat = f"{fake.url}/v1/chat/completions"
        post_openai(
            chat, {"model": "m", "messages": [{"role": "system", "content": billing}, user]}
        )
        post_openai(chat, {"model": "m", "messages": [{"role": "developer", "content": triage}]})
        post_openai(chat, {"model": "m", "messages": [user]})
        post_openai(f"{fake.url}/v1/responses", {"model": "m", "instructions": billing})
        post_openai(f"{fake.url}/v1/messages", {"model": "m", "system": triage})
        gemini = REQUEST | {"systemInstruction": {"role": "user", "parts": [{"text": billing}]}}
        post(f"{fake.url}/v1beta/models/{MODEL}:generateContent", gemini)
    agents = [call.agent for call in fake.ledger.snapshot()]
    billed, triaged = "billing_agent", "triage_agent"
    assert agents == [billed, triaged, "", billed, triaged, billed]
    assert fake.ledger.by_agent() == {"billing_agent": 12, "triage_agent": 8, "": 4}


def test_held_calls_are_dropped_when_the_fake_stops() -> None:
    """hold_from=2: the first call is answered, the second held, then dropped unanswered."""
    request = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    errors: list[BaseException] = []

    def second_call(url: str) -> None:
        try:
            post_openai(url, request)
        except Exception as error:  # noqa: BLE001 - what the client saw is the point
            errors.append(error)

    with FakeLLM(input_tokens=3, output_tokens=1, hold_from=2, hold_seconds=30) as fake:
        url = f"{fake.url}/v1/chat/completions"
        post_openai(url, request)
        assert not fake.holding.is_set()
        thread = threading.Thread(target=second_call, args=(url,))
        thread.start()
        assert fake.holding.wait(10)
        time.sleep(0.2)
        assert thread.is_alive()
    thread.join(10)
    assert not thread.is_alive()
    assert len(errors) == 1, errors
    assert len(fake.ledger.snapshot()) == 1


def test_a_held_call_is_answered_after_its_bounded_hold() -> None:
    """Held for hold_seconds at most: then answered and recorded as usual."""
    request = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    with FakeLLM(input_tokens=3, output_tokens=1, hold_from=1, hold_seconds=0.5) as fake:
        started = time.monotonic()
        _, body = post_openai(f"{fake.url}/v1/chat/completions", request)
        waited = time.monotonic() - started
    assert waited >= 0.5
    assert fake.holding.is_set()
    assert json.loads(body)["usage"]["total_tokens"] == 4
    assert len(fake.ledger.snapshot()) == 1
