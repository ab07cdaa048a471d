"""A fake LLM provider on loopback: OpenAI's, Anthropic's and Gemini's HTTP APIs, fixed usage.

Real clients (the ``openai`` SDK, Claude Code, Gemini CLI) talk to it through their
base-URL settings; it answers every request with the usage it was given and keeps a ledger
of what it reported, the ground truth the end-to-end tests compare Prometheus against::

    with FakeLLM(input_tokens=12, output_tokens=6) as llm:
        run_client(base_url=llm.url)
    assert llm.ledger.total_tokens() == 18

Served:
- ``POST /v1/chat/completions`` (OpenAI), streaming (SSE, with ``include_usage``) or not;
  cache-read and reasoning tokens, when set, inside the totals with their details;
  offered a ``transfer_to_<agent>`` tool (an OpenAI Agents SDK handoff; LangGraph's or
  Strands' so named) before any tool result, it answers with that tool call instead of
  text, so agent A hands off to B;
- ``POST /v1/messages`` (Anthropic; Claude Code adds ``?beta=true``), streaming or not;
- ``POST /v1beta/models/<model>:generateContent`` and ``:streamGenerateContent`` (Gemini;
  ``?alt=sse`` as google-genai and Gemini CLI ask, else one JSON array of chunks); JSON
  that fits the schema when the request asks for JSON; given ``gemini_calls``, a request
  that declares one of those functions, before any function response, is answered with a
  call to it (a Gemini CLI subagent, a Google ADK ``transfer_to_agent``);
- ``POST /v1/responses`` (OpenAI's Responses API, what Codex CLI speaks), streaming or not;
  cache-read tokens are reported inside ``input_tokens`` as ``cached_tokens``, reasoning
  tokens inside ``output_tokens``, as OpenAI does;
- ``POST /v1/messages/count_tokens``, Gemini's ``:countTokens`` and ``:embedContent``,
  ``GET`` model listings and any other ``POST``: a small valid JSON answer, no usage recorded.

Given ``agents`` (a piece of a system prompt -> an agent's name), each call records which
agent asked, from its system prompt (OpenAI's system or developer messages, the Responses
API's ``instructions``, Anthropic's ``system``, Gemini's ``systemInstruction``): the
per-agent truth of a multi-agent app (``ledger.by_agent()``). Given ``hold_from=N``, the
N-th call that would record usage and every later one are held, unanswered, for at most
``hold_seconds`` (then answered as usual), or until the fake stops (then dropped, never
answered nor recorded): a process can be killed while its call is in flight.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

COMPLETION_TEXT = "ok"


@dataclass
class Call:
    """One answered request: which API, which model, and the usage reported."""

    api: str
    model: str
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0
    streamed: bool = False
    #: Gemini's thoughtsTokenCount: reported apart from (not inside) the output tokens.
    thoughts_tokens: int = 0
    #: Of ``output_tokens``, how many were reasoning (OpenAI counts them inside the output).
    reasoning_tokens: int = 0
    #: The agent that asked, by its system prompt (``FakeLLM(agents=...)``); "" if none.
    agent: str = ""

    @property
    def total_tokens(self) -> int:
        """Every token the provider reported for the call, cached ones included."""
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_read_tokens
            + self.cache_creation_tokens
            + self.thoughts_tokens
        )


@dataclass
class Ledger:
    """Every call answered with usage, in order; safe to read while serving."""

    calls: list[Call] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, call: Call) -> None:
        """Record one answered call."""
        with self.lock:
            self.calls.append(call)

    def snapshot(self) -> list[Call]:
        """The calls so far."""
        with self.lock:
            return list(self.calls)

    def total_tokens(self, model: str | None = None) -> int:
        """Tokens reported so far, for one model or all."""
        return sum(c.total_tokens for c in self.snapshot() if model in (None, c.model))

    def by_model(self) -> dict[str, int]:
        """Tokens reported so far per model."""
        totals: dict[str, int] = {}
        for call in self.snapshot():
            totals[call.model] = totals.get(call.model, 0) + call.total_tokens
        return totals

    def by_agent(self) -> dict[str, int]:
        """Tokens reported so far per agent that asked ("" for calls no agent was found in)."""
        totals: dict[str, int] = {}
        for call in self.snapshot():
            totals[call.agent] = totals.get(call.agent, 0) + call.total_tokens
        return totals


class FakeLLM:
    """The fake provider: a threaded HTTP server on 127.0.0.1 and a free port."""

    def __init__(
        self,
        *,
        input_tokens: int = 12,
        output_tokens: int = 6,
        cache_read_tokens: int = 0,
        cache_creation_tokens: int = 0,
        thoughts_tokens: int = 0,
        reasoning_tokens: int = 0,
        gemini_calls: Mapping[str, Mapping[str, Any]] | None = None,
        tool_calls: Mapping[str, Mapping[str, Any]] | None = None,
        agents: Mapping[str, str] | None = None,
        hold_from: int | None = None,
        hold_seconds: float = 30.0,
    ) -> None:
        """Answer every call with this usage.

        ``input_tokens`` are the uncached ones: Anthropic reports cache tokens apart from
        them, OpenAI inside its input total; ``reasoning_tokens`` are part of OpenAI's
        output.

        Gemini reports the cache reads inside its prompt count, has no cache writes (they
        are not served, nor recorded, for it), and alone reports thoughts tokens.
        ``gemini_calls`` maps function names, by priority, to arguments that override the
        ones made up from the function's declared parameters.

        ``tool_calls`` maps OpenAI tool names, by priority, to their call's arguments: the
        first request that offers one, before any tool result, is answered with a call to
        it, once per fake (a Qwen Code subagent through its ``agent`` tool).

        ``agents`` maps a piece of a system prompt to the agent it is the prompt of, by
        priority: a call's ``agent`` is the first whose piece its system prompt holds.
        ``hold_from`` (1-based) holds that call and every later one (``holding`` is set
        then) for at most ``hold_seconds``, or until the fake stops.
        """
        self.gemini_calls = dict(gemini_calls or {})
        self.tool_calls = dict(tool_calls or {})
        self._tools_called: set[str] = set()
        self.agents = dict(agents or {})
        self.hold_from = hold_from
        self.hold_seconds = hold_seconds
        #: Set once a call is held.
        self.holding = threading.Event()
        self._stopping = threading.Event()
        self._count_lock = threading.Lock()
        self._completions = 0
        self.usage = Call("", "", input_tokens, output_tokens)
        self.usage.cache_read_tokens = cache_read_tokens
        self.usage.cache_creation_tokens = cache_creation_tokens
        self.usage.thoughts_tokens = thoughts_tokens
        self.usage.reasoning_tokens = reasoning_tokens
        self.ledger = Ledger()
        self.requests: list[tuple[str, str]] = []
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def tool_call(self, request: dict[str, Any]) -> dict[str, Any] | None:
        """The call a request is answered with from ``tool_calls``, or None.

        The first of them the request offers and no earlier request was answered with,
        while no tool has answered in the request's conversation.
        """
        messages = request.get("messages") or []
        if any(isinstance(m, dict) and m.get("role") == "tool" for m in messages):
            return None
        offered = {
            str((t.get("function") or {}).get("name") or "") for t in request.get("tools") or []
        }
        with self._count_lock:
            for name, arguments in self.tool_calls.items():
                if name in offered and name not in self._tools_called:
                    self._tools_called.add(name)
                    return {"name": name, "arguments": json.dumps(dict(arguments))}
        return None

    @property
    def url(self) -> str:
        """The base URL clients are pointed at (no /v1)."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> Self:
        """Start serving."""
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop serving; held calls are dropped, unanswered."""
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def agent_of(self, request: Mapping[str, Any]) -> str:
        """The agent whose system prompt the request carries ("" if none of ``agents``)."""
        if not self.agents:
            return ""
        system = "\n".join(_system_texts(request))
        return next((agent for piece, agent in self.agents.items() if piece in system), "")

    def proceed(self) -> bool:
        """Count a call that records usage; hold it if due. False: drop it unanswered."""
        with self._count_lock:
            self._completions += 1
            number = self._completions
        if self.hold_from is None or number < self.hold_from:
            return True
        self.holding.set()
        return not self._stopping.wait(self.hold_seconds)

    def answered(self, api: str, model: str, streamed: bool, agent: str = "") -> Call:
        """Record a call with the configured usage (what this API can report) and return it."""
        u = self.usage
        gemini = api == "gemini"
        call = Call(
            api,
            model,
            u.input_tokens,
            u.output_tokens,
            u.cache_read_tokens,
            0 if gemini else u.cache_creation_tokens,
            streamed,
            thoughts_tokens=u.thoughts_tokens if gemini else 0,
            reasoning_tokens=0 if gemini else u.reasoning_tokens,
            agent=agent,
        )
        self.ledger.add(call)
        return call


def _texts(value: Any) -> Iterator[str]:  # noqa: ANN401 - any JSON value
    """Every string in a prompt's content: plain, or the ``text`` of its parts."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)
    elif isinstance(value, dict):
        for key in ("text", "content", "parts"):
            yield from _texts(value.get(key))


def _system_texts(request: Mapping[str, Any]) -> Iterator[str]:
    """The system prompt of a request, in any of the served APIs."""
    for key in ("system", "instructions", "systemInstruction", "system_instruction"):
        yield from _texts(request.get(key))
    for key in ("messages", "input"):
        items = request.get(key)
        for message in items if isinstance(items, list) else []:
            if isinstance(message, dict) and message.get("role") in ("system", "developer"):
                yield from _texts(message.get("content"))


def _sse(events: Iterator[tuple[str | None, dict[str, Any]]]) -> bytes:
    chunks = []
    for event, data in events:
        head = f"event: {event}\n" if event else ""
        chunks.append(f"{head}data: {json.dumps(data)}\n\n")
    return "".join(chunks).encode()


def _handoff_tool(request: dict[str, Any]) -> dict[str, Any] | None:
    """The handoff to call: a ``transfer_to_*`` tool offered, while no tool has answered yet.

    The OpenAI Agents SDK offers each handoff as a function tool ``transfer_to_<agent>``
    (LangGraph's handoff tools and Strands' agents as tools can be named so too); answering
    it with a tool call is what makes agent A hand the run to agent B. Stateless: once the
    conversation holds a ``role: tool`` message (the handoff's result), or no such tool is
    offered (agent B's turn), the answer is plain text again. The call is ``{name,
    arguments}``, the arguments made up from the tool's parameters (Strands' agent tool
    requires an ``input``).
    """
    messages = request.get("messages") or []
    if any(isinstance(m, dict) and m.get("role") == "tool" for m in messages):
        return None
    for tool in request.get("tools") or []:
        function = tool.get("function") or {}
        name = str(function.get("name") or "")
        if name.startswith("transfer_to_"):
            schema = function.get("parameters")
            arguments = _schema_example(schema) if schema else {}
            return {"name": name, "arguments": json.dumps(arguments)}
    return None


def _tool_call(function: dict[str, Any]) -> dict[str, Any]:
    return {"id": "call_fake_handoff", "type": "function", "function": function}


def _openai_body(call: Call, handoff: dict[str, Any] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": COMPLETION_TEXT}
    if handoff:
        message = {"role": "assistant", "content": None, "tool_calls": [_tool_call(handoff)]}
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": call.model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if handoff else "stop",
            }
        ],
        "usage": _openai_usage(call),
    }


def _openai_usage(call: Call) -> dict[str, Any]:
    """Chat usage; cached and reasoning tokens inside the totals, as OpenAI reports them.

    The details are left out when zero, so what plain calls report stays as it was.
    """
    prompt = call.input_tokens + call.cache_read_tokens
    usage: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": call.output_tokens,
        "total_tokens": prompt + call.output_tokens,
    }
    if call.cache_read_tokens:
        usage["prompt_tokens_details"] = {"cached_tokens": call.cache_read_tokens}
    if call.reasoning_tokens:
        usage["completion_tokens_details"] = {"reasoning_tokens": call.reasoning_tokens}
    return usage


def _openai_stream(
    call: Call, handoff: dict[str, Any] | None = None
) -> Iterator[tuple[str | None, dict[str, Any]]]:
    body = _openai_body(call, handoff)
    chunk = {k: body[k] for k in ("id", "created", "model")} | {"object": "chat.completion.chunk"}
    delta: dict[str, Any] = {"role": "assistant", "content": COMPLETION_TEXT}
    if handoff:
        delta = {"role": "assistant", "tool_calls": [_tool_call(handoff) | {"index": 0}]}
    yield None, chunk | {"choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
    finish = body["choices"][0]["finish_reason"]
    yield None, chunk | {"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}
    yield None, chunk | {"choices": [], "usage": body["usage"]}


def _anthropic_usage(call: Call) -> dict[str, int]:
    return {
        "input_tokens": call.input_tokens,
        "output_tokens": call.output_tokens,
        "cache_read_input_tokens": call.cache_read_tokens,
        "cache_creation_input_tokens": call.cache_creation_tokens,
    }


def _anthropic_body(call: Call) -> dict[str, Any]:
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": call.model,
        "content": [{"type": "text", "text": COMPLETION_TEXT}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": _anthropic_usage(call),
    }


def _anthropic_stream(call: Call) -> Iterator[tuple[str | None, dict[str, Any]]]:
    message = _anthropic_body(call) | {"content": [], "stop_reason": None}
    message["usage"] = _anthropic_usage(call) | {"output_tokens": 1}
    yield "message_start", {"type": "message_start", "message": message}
    block = {"type": "text", "text": ""}
    yield "content_block_start", {"type": "content_block_start", "index": 0, "content_block": block}
    text = {"type": "text_delta", "text": COMPLETION_TEXT}
    yield "content_block_delta", {"type": "content_block_delta", "index": 0, "delta": text}
    yield "content_block_stop", {"type": "content_block_stop", "index": 0}
    # The final usage is the one clients report (Claude Code reads message_delta's).
    delta = {"stop_reason": "end_turn", "stop_sequence": None}
    yield (
        "message_delta",
        {"type": "message_delta", "delta": delta, "usage": _anthropic_usage(call)},
    )
    yield "message_stop", {"type": "message_stop"}


def _gemini_usage(call: Call) -> dict[str, int]:
    """usageMetadata: the prompt count holds the cached tokens, the total the thoughts."""
    prompt = call.input_tokens + call.cache_read_tokens
    usage = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": call.output_tokens,
        "totalTokenCount": prompt + call.output_tokens + call.thoughts_tokens,
    }
    if call.cache_read_tokens:
        usage["cachedContentTokenCount"] = call.cache_read_tokens
    if call.thoughts_tokens:
        usage["thoughtsTokenCount"] = call.thoughts_tokens
    return usage


#: What ``_schema_example`` answers for each scalar type (JSON Schema's or OpenAPI's).
_SCALAR_EXAMPLES: dict[str, Any] = {"integer": 1, "number": 1, "boolean": False}


def _schema_example(schema: Any) -> Any:  # noqa: ANN401 - any JSON value
    """A smallest value that a (JSON or OpenAPI) response schema accepts."""
    if not isinstance(schema, dict):
        return COMPLETION_TEXT
    if schema.get("enum"):
        return schema["enum"][0]
    kind = str(schema.get("type") or "string").lower()
    if kind == "object":
        properties = schema.get("properties") or {}
        return {name: _schema_example(sub) for name, sub in properties.items()}
    if kind == "array":
        return []
    return schema.get("minimum", _SCALAR_EXAMPLES.get(kind, COMPLETION_TEXT))


def _gemini_text(request: dict[str, Any]) -> str:
    """Plain text, or JSON fitting the schema when the request asks for JSON.

    Gemini CLI asks its model router and other helpers for JSON, and retries (with
    backoff) until the text parses.
    """
    config = request.get("generationConfig") or {}
    if config.get("responseMimeType") != "application/json":
        return COMPLETION_TEXT
    schema = config.get("responseJsonSchema") or config.get("responseSchema")
    return json.dumps(_schema_example(schema) if schema else {})


def _gemini_function_call(
    request: dict[str, Any], calls: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any] | None:
    """The first of ``calls`` that the request declares, while no function has answered.

    Stateless like the OpenAI handoff: once the contents hold a ``functionResponse`` (the
    call's result), or none of the functions is declared, the answer is text again.
    """
    contents = request.get("contents") or []
    parts = [p for c in contents if isinstance(c, dict) for p in c.get("parts") or []]
    if any(isinstance(p, dict) and "functionResponse" in p for p in parts):
        return None
    declared = {
        str(f.get("name")): f
        for tool in request.get("tools") or []
        for f in tool.get("functionDeclarations") or []
    }
    for name, args in calls.items():
        if name in declared:
            # google-genai sends a JSON schema as parameters_json_schema, in snake case.
            keys = ("parametersJsonSchema", "parameters_json_schema", "parameters")
            schema = next((declared[name][k] for k in keys if declared[name].get(k)), None)
            made_up = _schema_example(schema) if schema else {}
            return {
                "name": name,
                "args": (made_up if isinstance(made_up, dict) else {}) | dict(args),
            }
    return None


def _gemini_parts(text: str, function_call: dict[str, Any] | None) -> list[dict[str, Any]]:
    return [{"functionCall": function_call}] if function_call else [{"text": text}]


def _gemini_body(
    call: Call, text: str = COMPLETION_TEXT, function_call: dict[str, Any] | None = None
) -> dict[str, Any]:
    content = {"role": "model", "parts": _gemini_parts(text, function_call)}
    return {
        "candidates": [{"content": content, "finishReason": "STOP", "index": 0}],
        "usageMetadata": _gemini_usage(call),
        "modelVersion": call.model,
        "responseId": "fake-gemini",
    }


def _gemini_stream(
    call: Call, text: str = COMPLETION_TEXT, function_call: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Text first, then the finish reason with the usage, as the last chunk carries it."""
    body = _gemini_body(call, text, function_call)
    content = {"role": "model", "parts": _gemini_parts(text, function_call)}
    first = {"candidates": [{"content": content, "index": 0}]}
    last_content = {"role": "model", "parts": [{"text": ""}]}
    last = body | {"candidates": [{"content": last_content, "finishReason": "STOP", "index": 0}]}
    return [first | {"modelVersion": call.model, "responseId": body["responseId"]}, last]


#: Gemini's model methods that answer with usage.
GEMINI_GENERATORS = ("generateContent", "streamGenerateContent")


def _records_usage(path: str, gemini: tuple[str, str] | None) -> bool:
    """Whether a POST to ``path`` is a call answered with usage (one that can be held)."""
    if gemini:
        return gemini[1] in GEMINI_GENERATORS
    return path.endswith(("/chat/completions", "/messages", "/responses"))


def _gemini_route(path: str) -> tuple[str, str] | None:
    """``(model, method)`` of ``/v1beta/models/<model>:<method>`` (any version prefix)."""
    head, _, method = path.rpartition(":")
    if "/models/" not in head or not method:
        return None
    return head.rsplit("/models/", 1)[1], method


def _responses_usage(call: Call) -> dict[str, Any]:
    """OpenAI's Responses usage: cached tokens inside input, reasoning inside output."""
    inp = call.input_tokens + call.cache_read_tokens
    return {
        "input_tokens": inp,
        "input_tokens_details": {"cached_tokens": call.cache_read_tokens},
        "output_tokens": call.output_tokens,
        "output_tokens_details": {"reasoning_tokens": call.reasoning_tokens},
        "total_tokens": inp + call.output_tokens,
    }


def _responses_message(status: str) -> dict[str, Any]:
    text = [{"type": "output_text", "text": COMPLETION_TEXT, "annotations": []}]
    return {
        "id": "msg_fake",
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": text if status == "completed" else [],
    }


def _responses_body(call: Call, status: str = "completed") -> dict[str, Any]:
    done = status == "completed"
    return {
        "id": "resp_fake",
        "object": "response",
        "created_at": 1_700_000_000,
        "status": status,
        "model": call.model,
        "output": [_responses_message("completed")] if done else [],
        "usage": _responses_usage(call) if done else None,
    }


def _responses_stream(call: Call) -> Iterator[tuple[str | None, dict[str, Any]]]:
    part = {"type": "output_text", "text": "", "annotations": []}
    where = {"item_id": "msg_fake", "output_index": 0, "content_index": 0}
    events: list[tuple[str, dict[str, Any]]] = [
        ("response.created", {"response": _responses_body(call, "in_progress")}),
        ("response.in_progress", {"response": _responses_body(call, "in_progress")}),
        (
            "response.output_item.added",
            {"output_index": 0, "item": _responses_message("in_progress")},
        ),
        ("response.content_part.added", where | {"part": part}),
        ("response.output_text.delta", where | {"delta": COMPLETION_TEXT}),
        ("response.output_text.done", where | {"text": COMPLETION_TEXT}),
        ("response.content_part.done", where | {"part": part | {"text": COMPLETION_TEXT}}),
        (
            "response.output_item.done",
            {"output_index": 0, "item": _responses_message("completed")},
        ),
        # Codex takes the usage from response.completed's response, the last event.
        ("response.completed", {"response": _responses_body(call)}),
    ]
    for number, (event, data) in enumerate(events):
        yield event, {"type": event, "sequence_number": number} | data


class _Handler(BaseHTTPRequestHandler):
    fake: FakeLLM
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: ANN401 - stdlib's signature
        """Quiet: the tests read the ledger, not a log."""

    def do_GET(self) -> None:
        """Model listings and health probes: an empty, valid answer (OpenAI's and Gemini's)."""
        self._json(200, {"data": [], "object": "list", "models": []})

    def do_POST(self) -> None:
        """Answer a completion with the fixed usage; anything else with an empty object."""
        length = int(self.headers.get("Content-Length") or 0)
        request = json.loads(self.rfile.read(length) or b"{}")
        path = self.path.split("?", 1)[0]
        self.fake.requests.append((self.command, self.path))
        model = str(request.get("model") or "unknown")
        streamed = bool(request.get("stream"))
        gemini = _gemini_route(path)
        if _records_usage(path, gemini) and not self.fake.proceed():
            self.close_connection = True
            return
        agent = self.fake.agent_of(request)
        if gemini:
            self._gemini(*gemini, request, agent)
        elif path.endswith("/chat/completions"):
            call = self.fake.answered("openai", model, streamed, agent)
            handoff = _handoff_tool(request) or self.fake.tool_call(request)
            if streamed:
                self._stream(_sse(_openai_stream(call, handoff)) + b"data: [DONE]\n\n")
            else:
                self._json(200, _openai_body(call, handoff))
        elif path.endswith("/messages"):
            call = self.fake.answered("anthropic", model, streamed, agent)
            if streamed:
                self._stream(_sse(_anthropic_stream(call)))
            else:
                self._json(200, _anthropic_body(call))
        elif path.endswith("/responses"):
            self._responses(model, streamed, agent)
        elif path.endswith("/count_tokens"):
            self._json(200, {"input_tokens": self.fake.usage.input_tokens})
        else:
            self._json(200, {})

    def _gemini(self, model: str, method: str, request: dict[str, Any], agent: str) -> None:
        """Gemini's model methods: the two content generators record usage, no other."""
        if method in GEMINI_GENERATORS:
            streamed = method == "streamGenerateContent"
            call = self.fake.answered("gemini", model, streamed, agent)
            text = _gemini_text(request)
            function = _gemini_function_call(request, self.fake.gemini_calls)
            chunks = _gemini_stream(call, text, function)
            if not streamed:
                self._json(200, _gemini_body(call, text, function))
            elif "alt=sse" in self.path:
                self._stream(_sse((None, chunk) for chunk in chunks))
            else:
                self._json(200, chunks)
        elif method == "countTokens":
            self._json(200, {"totalTokens": self.fake.usage.input_tokens})
        elif method == "embedContent":
            self._json(200, {"embedding": {"values": [0.0] * 8}})
        elif method == "batchEmbedContents":
            count = len(request.get("requests") or [])
            self._json(200, {"embeddings": [{"values": [0.0] * 8}] * count})
        else:
            self._json(200, {})

    def _responses(self, model: str, streamed: bool, agent: str) -> None:
        call = self.fake.answered("responses", model, streamed, agent)
        if streamed:
            self._stream(_sse(_responses_stream(call)))
        else:
            self._json(200, _responses_body(call))

    def _json(self, status: int, body: dict[str, Any] | list[Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, data: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
