"""The fake LLM provider's OpenAI routes: what Codex CLI and OpenCode are answered."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakes.llm_api import Call, FakeLLM

#: Uncached input, output, cache-read and reasoning tokens, distinct from each other.
USAGE = {"input_tokens": 100, "output_tokens": 30, "cache_read_tokens": 40, "reasoning_tokens": 10}
#: What OpenAI reports for USAGE: cached tokens inside the input, reasoning inside output.
RESPONSES_USAGE = {
    "input_tokens": 140,
    "input_tokens_details": {"cached_tokens": 40},
    "output_tokens": 30,
    "output_tokens_details": {"reasoning_tokens": 10},
    "total_tokens": 170,
}


def post(url: str, body: dict[str, Any]) -> tuple[str, bytes]:
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
    kind, data = post(f"{llm.url}/v1/responses", {"model": "gpt-5.5", "stream": True})
    events = sse_events(data)
    assert kind == "text/event-stream"
    assert [e for e, _ in events][:2] == ["response.created", "response.in_progress"]
    assert all(body["type"] == event for event, body in events)
    done = [body["item"] for event, body in events if event == "response.output_item.done"]
    assert done[0]["content"][0]["text"] == "ok"
    last, completed = events[-1]
    assert last == "response.completed"
    assert completed["response"]["usage"] == RESPONSES_USAGE
    assert llm.ledger.snapshot() == [Call("responses", "gpt-5.5", 100, 30, 40, 0, True, 10)]
    assert llm.ledger.total_tokens() == RESPONSES_USAGE["total_tokens"]


def test_plain_responses_call(llm: FakeLLM) -> None:
    """A Responses call without ``stream``: one JSON body with the output and the usage."""
    _, data = post(f"{llm.url}/v1/responses", {"model": "gpt-5.5"})
    body = json.loads(data)
    assert body["status"] == "completed"
    assert body["output"][0]["content"][0]["text"] == "ok"
    assert body["usage"] == RESPONSES_USAGE
    (call,) = llm.ledger.snapshot()
    assert (call.api, call.streamed) == ("responses", False)


def test_other_calls_record_no_usage(llm: FakeLLM) -> None:
    """What Codex posts besides its turns (its turn-cost analytics) costs nothing."""
    _, data = post(f"{llm.url}/v1/analytics/codex/turn-costs", {"turn_ids": ["t"]})
    assert json.loads(data) == {}
    assert llm.ledger.snapshot() == []


def test_chat_usage_details_only_when_set() -> None:
    """Chat completions report cached and reasoning tokens inside the totals when set."""
    with FakeLLM(**USAGE) as fake:
        _, data = post(f"{fake.url}/v1/chat/completions", {"model": "m"})
    assert json.loads(data)["usage"] == {
        "prompt_tokens": 140,
        "completion_tokens": 30,
        "total_tokens": 170,
        "prompt_tokens_details": {"cached_tokens": 40},
        "completion_tokens_details": {"reasoning_tokens": 10},
    }
    with FakeLLM(input_tokens=12, output_tokens=6) as plain:
        _, data = post(f"{plain.url}/v1/chat/completions", {"model": "m"})
    assert json.loads(data)["usage"] == {
        "prompt_tokens": 12,
        "completion_tokens": 6,
        "total_tokens": 18,
    }
