"""The Prometheus side of the names contract: what the stack makes of what agents emit.

``hypertool_agent.names`` (imported as ``n``) is the emitting half: the OTLP counters,
attribute keys and span attributes an agent sends. This module adds what only the
collector, Prometheus and Grafana need: the series each counter becomes, the histograms and
counters the collector derives from spans, the recording-rule series of the budgets, and
the collector's own telemetry. The collector's aggregation blocks, the rules and the
dashboards are rendered from the two (``hypertool render``); ``tests/unit/test_names.py``
checks what is written by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from hypertool_agent import names as n

Kind = Literal["counter", "gauge", "histogram"]
#: Where a series comes from: agent counters, agent spans, or Prometheus recording rules.
Source = Literal["metric", "span", "rule"]


@dataclass(frozen=True)
class Series:
    """One series family: the OTLP name and unit the collector makes, and its Prometheus name."""

    otel_name: str
    unit: str
    kind: Kind
    labels: tuple[str, ...]
    source: Source
    description: str
    #: For span-derived series: the ``hypertool.span.type`` of the spans it is made from.
    span_type: str | None = None

    @classmethod
    def of_counter(cls, counter: n.Instrument) -> Series:
        """The fleet-wide series the collector sums an agent counter into."""
        return cls(
            otel_name=counter.otel_name,
            unit=counter.unit,
            kind="counter",
            labels=counter.labels,
            source="metric",
            description=counter.description,
        )

    @property
    def prometheus_name(self) -> str:
        """The name the collector's prometheus exporter publishes."""
        if self.source == "rule":
            return self.otel_name  # recording rules are named in Prometheus terms already
        base = self.otel_name.replace(".", "_")
        if self.unit == "s":
            base += "_seconds"
        if self.kind == "counter":
            base += "_total"
        return base


#: The collector's ceiling on one point's (or usage span's) value: above it, the point is
#: counted as invalid, not summed. One setting, on the collector.
MAX_POINT_VALUE_ENV: Final = "HYPERTOOL_MAX_POINT_VALUE"
DEFAULT_MAX_POINT_VALUE: Final = 100_000_000
#: The library's span attribute -> the Prometheus label the collector's genai connector
#: reads it into, for the series made of the library's spans (SPAN_SERIES).
SPAN_ATTRIBUTE_LABELS: Final = {
    n.ATTR_WORKFLOW: n.WORKFLOW,
    n.ATTR_STAGE: n.STAGE,
    n.ATTR_PERSONA: n.PERSONA,
    n.ATTR_CHATMODE: n.CHATMODE,
    n.ATTR_MODEL: n.MODEL,
    n.ATTR_WORKFLOW_RESULT: n.RESULT,
}

PERSONA_SWITCHES: Final = Series.of_counter(n.PERSONA_SWITCHES)
TOKENS_USED: Final = Series.of_counter(n.TOKENS_USED)
QUALITY_GATE: Final = Series.of_counter(n.QUALITY_GATE)
WORKFLOW_TOKENS: Final = Series.of_counter(n.WORKFLOW_TOKENS)
LLM_TOKENS: Final = Series.of_counter(n.LLM_TOKENS)
LLM_COST: Final = Series.of_counter(n.LLM_COST)
LLM_UNPRICED_TOKENS: Final = Series.of_counter(n.LLM_UNPRICED_TOKENS)
DROPPED_MEASUREMENTS: Final = Series.of_counter(n.DROPPED_MEASUREMENTS)

PERSONA_DURATION: Final = Series(
    otel_name="hypertool.persona.duration",
    unit="s",
    kind="histogram",
    labels=(n.PERSONA, n.CHATMODE),
    source="span",
    description="Time spent in a persona, observed when the persona is left.",
    span_type=n.SPAN_TYPE_PERSONA,
)
STAGE_DURATION: Final = Series(
    otel_name="hypertool.workflow.stage.duration",
    unit="s",
    kind="histogram",
    labels=(n.WORKFLOW, n.STAGE, n.PERSONA),
    source="span",
    description="Workflow stage duration.",
    span_type=n.SPAN_TYPE_STAGE,
)
WORKFLOW_RUNS: Final = Series(
    otel_name="hypertool.workflow.runs",
    unit="{run}",
    kind="counter",
    labels=(n.WORKFLOW, n.RESULT),
    source="span",
    description="Workflow runs, by outcome.",
    span_type=n.SPAN_TYPE_WORKFLOW,
)
LLM_CALL_DURATION: Final = Series(
    otel_name="hypertool.llm.call.duration",
    unit="s",
    kind="histogram",
    labels=(n.PERSONA, n.MODEL),
    source="span",
    description="LLM call duration.",
    span_type=n.SPAN_TYPE_LLM_CALL,
)
#: Made by the collector for usage that names its person (coding agents name a user):
#: the same tokens and cost as TOKENS_USED and LLM_COST, per user, bounded like every
#: label. Usage that names no user is in these series not at all (as WORKFLOW_TOKENS
#: holds only usage inside a workflow run).
USER_TOKENS: Final = Series(
    otel_name="hypertool.user.tokens_used",
    unit="{token}",
    kind="counter",
    labels=(n.USER, n.PERSONA, n.MODEL),
    source="metric",
    description="LLM tokens used, per user, of producers that name one.",
)
USER_COST: Final = Series(
    otel_name="hypertool.user.cost_usd",
    unit="{USD}",
    kind="counter",
    labels=(n.USER, n.PERSONA, n.MODEL, n.COST_SOURCE),
    source="metric",
    description="LLM cost in US dollars, per user, of producers that name one.",
)
#: Fleet-wide: the persona-wide budget minus the whole fleet's usage in the budget's
#: period, a recording rule. Not the per-process ``get_remaining_budget`` of the library,
#: which counts only its own process's usage since it started.
TOKEN_BUDGET_REMAINING: Final = Series(
    otel_name="hypertool_persona_token_budget_remaining",
    unit="{token}",
    kind="gauge",
    labels=(n.PERSONA,),
    source="rule",
    description="Tokens left in the persona's fleet-wide budget for the current period.",
)
#: Made by the collector, not the agent: agent points the fleet totals cannot use.
PIPELINE_REJECTED_POINTS: Final = Series(
    otel_name="hypertool.pipeline.rejected_points",
    unit="{point}",
    kind="counter",
    labels=(),
    source="metric",
    description="Agent data points the fleet totals cannot use (cumulative counters).",
)

# Foreign GenAI producers ---------------------------------------------------------------
# Agents not written against hypertool_agent: Claude Code and the GenAI instrumentations.
# Their usage metrics are summed into the same fleet series as the library's counters.
#
# One source per kind of producer, so that no call is counted twice:
# - hypertool_agent: its own counters (its LLM spans carry gen_ai.usage.* too, unused);
# - Claude Code: its metrics claude_code.token.usage and claude_code.cost.usage (its
#   api_request log events repeat the same usage, unused);
# - GenAI instrumentations: the standard metric gen_ai.client.token.usage (their chat
#   spans repeat the same usage in gen_ai.usage.*, unused).

#: Where each label of foreign usage is read from, first that is set wins. ``point:`` is a
#: data point attribute, ``resource:`` a resource attribute (OTEL_RESOURCE_ATTRIBUTES;
#: Claude Code also copies those onto every point), ``"..."`` a constant. This is the
#: one place the order is set; `hypertool render` writes it into the collector config.
FOREIGN_LABEL_SOURCES: Final = {
    # A persona named explicitly wins (EXPLICIT_PERSONA): set on a resource, it makes
    # the whole process one persona. Else the agent a point names (Google ADK names it on
    # its usage metric); usage counted from spans goes to its agent span's agent first
    # (AGENT_SPANS). Last, the service.
    n.PERSONA: (
        f"point:{n.ATTR_PERSONA}",
        f"resource:{n.ATTR_PERSONA}",
        f"point:{n.GEN_AI_AGENT_NAME}",
        "resource:service.name",
    ),
    n.CHATMODE: (f"point:{n.ATTR_CHATMODE}", f"resource:{n.ATTR_CHATMODE}", f'"{n.UNKNOWN}"'),
    n.WORKFLOW: (f"point:{n.ATTR_WORKFLOW}", f"resource:{n.ATTR_WORKFLOW}"),
    # The person: an e-mail where the producer knows one (Claude Code with a login, Gemini
    # CLI, Codex), else its user id (Claude Code's is an anonymous id of the install), else
    # the general conventions' end user.
    n.USER: (
        "point:user.email",
        "resource:user.email",
        "point:user.id",
        "resource:user.id",
        "point:enduser.id",
        "resource:enduser.id",
        "point:gen_ai.user.id",  # proposed in the GenAI conventions; Qwen Code sends it
        "point:ai.telemetry.metadata.userId",  # the Vercel AI SDK's (OpenCode's username)
    ),
    n.MODEL: (
        "point:model",
        f"point:{n.GEN_AI_RESPONSE_MODEL}",
        f"point:{n.GEN_AI_REQUEST_MODEL}",
        "point:llm.model_name",  # OpenInference
        f'"{n.UNKNOWN}"',
    ),
}


@dataclass(frozen=True)
class ForeignUsage:
    """A foreign producer's token metric: how its points become the contract's labels."""

    metric: str
    #: "sum": the point's value is the tokens; "histogram": the point's sum is.
    shape: Literal["sum", "histogram"]
    #: The point attribute naming the token type, and its values per contract token type.
    type_attribute: str
    input_types: tuple[str, ...]
    output_types: tuple[str, ...]
    #: Whether the producer also reports what the usage cost (Claude Code's cost.usage):
    #: if not, the collector estimates it from list prices (generated/genai-prices.json).
    reports_cost: bool


CLAUDE_CODE_TOKENS: Final = ForeignUsage(
    metric="claude_code.token.usage",
    shape="sum",
    type_attribute="type",
    # Anthropic reports cache tokens apart from input; the contract's input includes them,
    # as the library's does, so budgets count every token the provider processed.
    input_types=("input", "cacheRead", "cacheCreation"),
    output_types=("output",),
    reports_cost=True,
)
GENAI_CLIENT_TOKENS: Final = ForeignUsage(
    metric="gen_ai.client.token.usage",
    shape="histogram",
    type_attribute="gen_ai.token.type",
    input_types=("input",),
    output_types=("output",),
    reports_cost=False,
)
FOREIGN_TOKENS: Final = (CLAUDE_CODE_TOKENS, GENAI_CLIENT_TOKENS)


@dataclass(frozen=True)
class Handoff:
    """How an agent framework's instrumentation records a handoff between two agents."""

    #: The span's gen_ai.operation.name.
    operation: str
    from_attribute: str
    to_attribute: str


#: The OpenAI Agents SDK's, through opentelemetry-instrumentation-openai-agents-v2: one
#: span per handoff. Each counts as a switch in PERSONA_SWITCHES, from agent to agent.
HANDOFF: Final = Handoff(
    operation="agent_handoff",
    from_attribute="gen_ai.handoff.from_agent",
    to_attribute="gen_ai.handoff.to_agent",
)


@dataclass(frozen=True)
class SpanUsage:
    """Producers that report usage on their spans only, and where the spans hold it."""

    #: Instrumentation scope name prefixes: whose spans' usage counts. Only producers that
    #: send no usage metric: a producer that sends both is counted from its metric.
    producers: tuple[str, ...]
    #: Span attributes holding the input and output tokens, the first that is set wins.
    input_attributes: tuple[str, ...]
    output_attributes: tuple[str, ...]

    @property
    def attributes(self) -> tuple[str, ...]:
        """Every attribute that carries usage on a span."""
        return (*self.input_attributes, *self.output_attributes)


#: Arize OpenInference (openinference-instrumentation-*): `llm.token_count.*`, and the GenAI
#: conventions' `gen_ai.usage.*` too with OPENINFERENCE_ENABLE_GENAI_SEMCONV=true (the same
#: tokens: the first that is set is read, never both). The older `prompt_tokens` and
#: `completion_tokens` names count where a producer still sends them.
SPAN_USAGE: Final = SpanUsage(
    producers=(
        "openinference.instrumentation.",
        # Qwen Code: usage on each qwen-code.llm_request span, below its invoke_agent
        # spans (the main agent, its subagents); its qwen-code.token.usage names no agent.
        "qwen-code",
        # The OpenAI Agents SDK (opentelemetry-instrumentation-openai-agents-v2): each
        # chat span under its agent's invoke_agent span; its gen_ai.client.token.usage
        # names no agent.
        "opentelemetry.instrumentation.openai_agents",
        # Strands Agents: each chat span under its agent's invoke_agent span; the agent
        # span sums its agent's usage over the agent's whole life (never read: agent spans
        # count no usage); no usage metric.
        "strands.telemetry.tracer",
        # LangChain and LangGraph under OpenLLMetry: each chat span (USAGE_AGENTS names a
        # LangGraph call's agent); its gen_ai.client.token.usage names no agent.
        "opentelemetry.instrumentation.langchain",
        # OpenCode: the Vercel AI SDK's spans, its only usage; ai.streamText.doStream per
        # call has gen_ai.usage.*, the ai.streamText above it only ai.usage.* (not read).
        "opencode",
    ),
    input_attributes=(
        n.GEN_AI_USAGE_INPUT_TOKENS,
        "gen_ai.usage.prompt_tokens",
        "llm.token_count.prompt",
    ),
    output_attributes=(
        n.GEN_AI_USAGE_OUTPUT_TOKENS,
        "gen_ai.usage.completion_tokens",
        "llm.token_count.completion",
    ),
)


@dataclass(frozen=True)
class AgentSpan:
    """One shape of an agent's span, and where it names its agent.

    A span is an agent's when ``attribute`` equals ``value``; the agent's name is the first
    of ``names`` that is set.
    """

    attribute: str
    value: str
    names: tuple[str, ...]


#: The spans that stand for an agent (docs/accounting.md, "Which agent spent it"): usage
#: counted from a span goes to the nearest of these above it in its trace, as the agent's
#: persona; one agent span below another is a switch from the caller to the called; each
#: is one observation of time in its persona (PERSONA_DURATION).
AGENT_SPANS: Final = (
    # The GenAI conventions' (Strands, Google ADK, the OpenAI Agents SDK's contrib
    # instrumentation, ...).
    AgentSpan(n.GEN_AI_OPERATION_NAME, n.GEN_AI_OPERATION_INVOKE_AGENT, (n.GEN_AI_AGENT_NAME,)),
)


@dataclass(frozen=True)
class UsageAgent:
    """A usage span that names its agent itself: ``when`` set, the agent in ``name``.

    For frameworks whose traces do not put a call below its agent's span. The name is the
    text before ``cut`` (all of it when empty).
    """

    when: str
    name: str
    cut: str = ""


#: LangGraph under OpenLLMetry: a node's invoke_agent span has no children (the calls
#: hang beside it), so the nearest agent span of a call is the graph's. Its chat span's
#: traceloop.entity.path starts with the graph node, which is the agent.
USAGE_AGENTS: Final = (
    UsageAgent(
        when="traceloop.association.properties.langgraph_node",
        name="traceloop.entity.path",
        cut=".",
    ),
)

#: Instrumentation scopes whose agent spans are no agents': OpenLLMetry's LangChain spans
#: name the graph and each of its nodes `invoke_agent` alike, the graph's above the
#: nodes', and the calls beside, not below, their node's. Their calls name their agent
#: (USAGE_AGENTS); no switch and no time in persona is made of their agent spans.
AGENT_SPANS_IGNORED: Final = ("opentelemetry.instrumentation.langchain",)

#: Sources that name a persona explicitly: a span or resource with one set is that one
#: persona, its agent spans no others (no wait, no switches).
EXPLICIT_PERSONA: Final = (f"point:{n.ATTR_PERSONA}", f"resource:{n.ATTR_PERSONA}")
#: How long span usage waits for its agent span (an SDK exports a span when it ends, so an
#: agent's span arrives after its calls'), and how long a trace's links are kept after its
#: last span. Longer: long agent runs keep their agent; shorter: counted sooner.
ATTRIBUTION_WAIT_ENV: Final = "HYPERTOOL_ATTRIBUTION_WAIT"
ATTRIBUTION_WAIT: Final = "30s"
#: Usage waiting, and traces whose links are kept: beyond either, the oldest counts at once
#: as its own persona's (REASON_OVER_CAPACITY).
ATTRIBUTION_MAX_PENDING: Final = 100_000
ATTRIBUTION_MAX_TRACES: Final = 20_000

#: Made by the collector: calls counted from spans that no agent span named, by why; they
#: count as their resource's persona (then service.name), never lost.
PIPELINE_UNATTRIBUTED: Final = Series(
    otel_name="hypertool.pipeline.unattributed",
    unit="{call}",
    kind="counter",
    labels=(n.REASON, "producer"),
    source="metric",
    description="LLM calls counted from spans under their own persona: no agent span named them.",
)
#: PIPELINE_UNATTRIBUTED reasons.
#: The trace up to its root holds no agent span (an app that is no agent).
REASON_NO_AGENT_SPAN: Final = "no_agent_span"
#: A span between the call and its trace's root had not arrived when the wait ended.
REASON_WAIT_EXPIRED: Final = "wait_expired"
#: More calls waited, or more traces were followed, than the bounds allow.
REASON_OVER_CAPACITY: Final = "over_capacity"
#: The collector stopped while the call waited.
REASON_SHUTDOWN: Final = "shutdown"


@dataclass(frozen=True)
class LogUsage:
    """A producer that reports each call's usage in a log event: how to read it."""

    #: The event's name (the record's EventName, else its ``event.name`` attribute).
    event: str
    #: The producer's instrumentation scope name prefixes: its usage metrics repeat the
    #: events and are not counted (REASON_COUNTED_FROM_LOGS).
    producers: tuple[str, ...]
    #: Attributes summed into input and into output tokens (a producer may report parts
    #: apart, as thinking tokens beside the answer's).
    input_attributes: tuple[str, ...]
    output_attributes: tuple[str, ...]
    #: Attribute values the event must also have.
    where: tuple[tuple[str, str], ...] = ()
    #: The attribute holding what the call cost in US dollars, when the producer says.
    cost_attribute: str = ""


#: Where a log record names its event when its EventName field is empty (the older way).
EVENT_NAME_ATTRIBUTE: Final = "event.name"

#: Gemini CLI: each call's usage is in four signals, always equal; its api_response event
#: alone has every part and the user's e-mail on each record. Input includes the cached
#: part (cached_content_token_count repeats it) and the tool-use prompt; the thinking
#: tokens are apart from the answer's and billed as output.
GEMINI_CLI_EVENTS: Final = LogUsage(
    event="gemini_cli.api_response",
    producers=("gemini-cli",),
    input_attributes=("input_token_count", "tool_token_count"),
    output_attributes=("output_token_count", "thoughts_token_count"),
)
#: OpenAI Codex CLI: each call's usage is in a metric per turn, two spans and this event;
#: only the event carries the model and the user (with a ChatGPT login) with it. Input
#: includes the cached part, output the reasoning part, as OpenAI reports them; its
#: counts come as strings.
CODEX_EVENTS: Final = LogUsage(
    event="codex.sse_event",
    producers=("codex",),
    where=(("event.kind", "response.completed"),),
    input_attributes=("input_token_count",),
    output_attributes=("output_token_count",),
)
LOG_USAGE: Final = (GEMINI_CLI_EVENTS, CODEX_EVENTS)

#: Cost a producer reports itself, in US dollars; summed into LLM_COST as it is.
CLAUDE_CODE_COST: Final = "claude_code.cost.usage"

#: Made by the collector: what it received and did not use, by signal, reason and producer
#: (the instrumentation scope's name): never a silent loss, never a per-process label.
PIPELINE_UNUSED: Final = Series(
    otel_name="hypertool.pipeline.unused",
    unit="{item}",
    kind="counter",
    labels=("signal", n.REASON, "producer"),
    source="metric",
    description="Metric points, spans and log records received and not used, by reason.",
)

#: Made by the collector's ledger: points whose label value found no room, neither in the
#: quota of new values of the producer that sent it (PRODUCER_LABEL_QUOTA) nor, fleet-wide,
#: in the bound on values in use of that label and metric (FLEET_LABEL_VALUES), and was
#: recorded as n.OTHER. The totals stay exact; the labels say which metric and label key
#: overflowed, and which producer (its service.name) sent the points.
PIPELINE_FOLDED_POINTS: Final = Series(
    otel_name="hypertool.pipeline.folded_points",
    unit="{point}",
    kind="counter",
    labels=("metric", "label", "producer"),
    source="metric",
    description="Points whose label value was beyond the distinct-value bounds, recorded as other.",
)

# The ledger's label bounds (docs/accounting.md, "Label values").
#: Fleet-wide, per label of each metric: distinct values in use (idle ones and the values
#: of budgets.yaml aside). Ten times the library's per-process bound, so that ten
#: producers at their quota fit; the series it allows stay bounded by max_streams.
FLEET_LABEL_VALUES_ENV: Final = "HYPERTOOL_MAX_LABEL_VALUES"
FLEET_LABEL_VALUES: Final = 1000
#: Per producer (service.name and service.instance.id), per label of each metric: new
#: values it may bring in. The library's own per-process bound, so that a library process
#: is never folded by the collector for what it did not fold itself.
PRODUCER_LABEL_QUOTA_ENV: Final = "HYPERTOOL_PRODUCER_LABEL_QUOTA"
PRODUCER_LABEL_QUOTA: Final = n.MAX_LABEL_VALUES
#: A value no point has carried for this long leaves the bounds; its series keeps its total.
LABEL_IDLE_ENV: Final = "HYPERTOOL_LABEL_IDLE"
LABEL_IDLE: Final = "24h"

# Delivery: an export resent from the library's spool is counted once.
#: PIPELINE_UNUSED reason of the points of an export the ledger has applied before.
REASON_DUPLICATE: Final = "duplicate"
#: How long the ledger remembers a process' deliveries after its last: longer than the
#: library's spool keeps an export (168 h), so that no resend can come after it.
DELIVERY_WINDOW_ENV: Final = "HYPERTOOL_DELIVERY_WINDOW"
DELIVERY_WINDOW: Final = "192h"
#: The producer's identity, from its resource (OpenTelemetry semantic conventions).
SERVICE_NAME: Final = "service.name"
SERVICE_INSTANCE_ID: Final = "service.instance.id"
#: Where a batch of fleet sums came from, on its resource, for the ledger only: the export's
#: delivery id (n.DELIVERY_ID), the producer's service.name and service.instance.id. The
#: ledger removes them before it keys a stream: no series and no label carries them.
ATTR_ORIGIN_DELIVERY: Final = "hypertool.ledger.delivery"
ATTR_ORIGIN_PRODUCER: Final = "hypertool.ledger.producer"
ATTR_ORIGIN_INSTANCE: Final = "hypertool.ledger.instance"
#: The PIPELINE_UNUSED reason of points that would open a stream beyond the ledger's limit.
REASON_TOO_MANY_SERIES: Final = "too_many_series"
#: PIPELINE_UNUSED reasons of values no real producer sends (the collector's guards).
REASON_NOT_A_NUMBER: Final = "not_a_number"
REASON_NEGATIVE: Final = "negative"
REASON_TOO_LARGE: Final = "too_large"
#: A usage point not in the shape its convention gives it (a gauge of a counter, a
#: cumulative sum left cumulative, a counter's point without one of its labels).
REASON_NOT_SUMMABLE: Final = "not_summable"
#: A point of a metric that carries no usage hypertool knows of.
REASON_NOT_USAGE: Final = "not_usage"
#: A usage point whose token type the producer's convention does not name.
REASON_UNKNOWN_TOKEN_TYPE: Final = "unknown_token_type"  # noqa: S105 - a label value
#: Usage on the spans of a producer counted from its usage metric (the same calls).
REASON_SPAN_USAGE_IGNORED: Final = "span_usage_ignored"
#: A usage metric of a producer counted from its spans (SPAN_USAGE.producers), or from
#: its log events (LOG_USAGE producers): the same calls.
REASON_COUNTED_FROM_SPANS: Final = "counted_from_spans"
REASON_COUNTED_FROM_LOGS: Final = "counted_from_logs"
#: A span that makes no series: kept only as a trace, where a traces backend is set.
REASON_TRACES_ONLY: Final = "traces_only"
#: A log record: usage is read from metrics and spans, which the events repeat.
REASON_NOT_KEPT: Final = "not_kept"
#: A cumulative point older than the last one of its stream: what it adds is unknown.
REASON_OUT_OF_ORDER: Final = "out_of_order"
#: A cumulative point of a new stream while the collector keeps its most streams.
REASON_TOO_MANY_STREAMS: Final = "too_many_streams"
#: One of the library's spans without an attribute its series is labelled by.
REASON_MISSING_LABEL: Final = "missing_label"
#: How long the collector remembers a cumulative stream it has not heard from.
CUMULATIVE_STALENESS_ENV: Final = "HYPERTOOL_CUMULATIVE_STALENESS"
CUMULATIVE_STALENESS: Final = "1h"
#: The collector's price book: genai-prices' own data file, rendered from the pinned package.
PRICES_FILE_ENV: Final = "HYPERTOOL_PRICES_FILE"
#: Attributes naming the provider of a call (the GenAI conventions' current and older name).
PROVIDER_ATTRIBUTES: Final = ("gen_ai.provider.name", "gen_ai.system")
#: The PIPELINE_UNUSED producer of an item whose instrumentation scope has no name.
UNKNOWN_PRODUCER: Final = "unknown"

#: The one resource of every fleet-wide sum: no per-process attribute survives into it.
FLEET_RESOURCE: Final = {"hypertool.aggregation": "fleet"}
#: The instrumentation scope of every fleet-wide sum, agent_sums' and genai's alike: the
#: ledger keys a stream by its scope too, so the agents' and foreign producers' usage of
#: one label set add into one stream. The name is signal_to_metrics', which wrote these
#: sums before the genai connector did: the totals journaled under it carry on.
FLEET_SCOPE: Final = (
    "github.com/open-telemetry/opentelemetry-collector-contrib/connector/signaltometricsconnector"
)

#: The design note's six series families.
ALL_METRICS: Final = (
    PERSONA_SWITCHES,
    PERSONA_DURATION,
    TOKENS_USED,
    TOKEN_BUDGET_REMAINING,
    STAGE_DURATION,
    QUALITY_GATE,
)

#: What the stack makes beyond the design note's six.
EXTRA_METRICS: Final = (
    WORKFLOW_RUNS,
    WORKFLOW_TOKENS,
    LLM_TOKENS,
    LLM_COST,
    LLM_UNPRICED_TOKENS,
    LLM_CALL_DURATION,
    DROPPED_MEASUREMENTS,
    USER_TOKENS,
    USER_COST,
)

#: The fleet sums of the agent counters, in the order the collector config lists them.
FLEET_COUNTERS: Final = tuple(Series.of_counter(counter) for counter in n.COUNTERS)
#: The series the collector derives from spans, in the order the collector config lists them.
SPAN_SERIES: Final = (STAGE_DURATION, PERSONA_DURATION, WORKFLOW_RUNS, LLM_CALL_DURATION)

#: Made by the ledger processor itself, not by a connector.
LEDGER_METRICS: Final = (PIPELINE_FOLDED_POINTS,)

#: Everything the collector publishes.
COLLECTOR_METRICS: Final = (
    *FLEET_COUNTERS,
    *SPAN_SERIES,
    USER_TOKENS,
    USER_COST,
    PIPELINE_REJECTED_POINTS,
    PIPELINE_UNUSED,
    PIPELINE_UNATTRIBUTED,
    PIPELINE_FOLDED_POINTS,
)

# Budget series, made by the recording rules prometheus/rules/budgets.yml renders from
# budgets.yaml. Labels: persona, model and workflow ("any" when the budget is not
# narrowed to one), and the budget's rolling period.
PERIOD: Final = "period"
BUDGET_LABELS: Final = (n.PERSONA, n.MODEL, n.WORKFLOW, PERIOD)
ANY: Final = "any"
BUDGET_LIMIT: Final = "persona:hypertool_token_budget:limit"
BUDGET_USED: Final = "persona:hypertool_tokens_used:budget_period"
BUDGET_USED_RATIO: Final = "persona:hypertool_token_budget:used_ratio"
BUDGET_WARNING_RATIO: Final = "persona:hypertool_token_budget:warning_ratio"
#: Burn rate: the share of the budget a full period would use at the pace of the last
#: long (period/24) or short (period/288) window. Above 1, the budget runs out early.
BUDGET_BURN_RATE_LONG: Final = "persona:hypertool_token_budget:burn_rate_long"
BUDGET_BURN_RATE_SHORT: Final = "persona:hypertool_token_budget:burn_rate_short"
BUDGET_SERIES: Final = (
    BUDGET_LIMIT,
    BUDGET_USED,
    BUDGET_USED_RATIO,
    BUDGET_WARNING_RATIO,
    BUDGET_BURN_RATE_LONG,
    BUDGET_BURN_RATE_SHORT,
)

#: Prometheus' scrape jobs (prometheus/prometheus.yml): the collector's exporter of the
#: hypertool_* series, and the collector's own telemetry.
JOB_COLLECTOR_EXPORTER: Final = "hypertool-collector"
JOB_COLLECTOR_TELEMETRY: Final = "otel-collector"

# The collector's own telemetry that dashboards and alerts read (job "otel-collector").
OTELCOL_ACCEPTED_POINTS: Final = "otelcol_receiver_accepted_metric_points"
OTELCOL_ACCEPTED_SPANS: Final = "otelcol_receiver_accepted_spans"
OTELCOL_REFUSED_POINTS: Final = "otelcol_receiver_refused_metric_points"
OTELCOL_REFUSED_SPANS: Final = "otelcol_receiver_refused_spans"
OTELCOL_MEMORY_RSS: Final = "otelcol_process_memory_rss"
OTELCOL_UPTIME: Final = "otelcol_process_uptime"
#: Items the admission processor (collector-config/components/admissionprocessor) refused,
#: by signal, reason and producer (the resource's service.name): under memory pressure it
#: refuses the producers over their fair share first, with a retryable error. Refused is
#: not lost: the producer's SDK sends again, so these are not in PIPELINE_UNUSED.
OTELCOL_ADMISSION_REFUSED: Final = "otelcol_admission_refused_items"
ADMISSION_REFUSED_LABELS: Final = ("signal", "reason", "producer")
ADMISSION_REFUSED_DESCRIPTION: Final = (
    "Items refused by the admission processor, by signal, reason and producer."
)
#: Its reasons: the producer sent more than its fair share while the collector was short of
#: memory, or came in one request with a producer that did (a request is refused whole).
REASON_OVER_FAIR_SHARE: Final = "over_fair_share"
REASON_SHARED_REQUEST: Final = "shared_request"
#: Its producer label for a resource without service.name.
ANONYMOUS_PRODUCER: Final = "anonymous"
COLLECTOR_TELEMETRY: Final = (
    OTELCOL_ACCEPTED_POINTS,
    OTELCOL_ACCEPTED_SPANS,
    OTELCOL_REFUSED_POINTS,
    OTELCOL_REFUSED_SPANS,
    OTELCOL_ADMISSION_REFUSED,
    OTELCOL_MEMORY_RSS,
    OTELCOL_UPTIME,
)

#: Histogram bucket bounds in seconds of the span-derived histograms. Agent stages run
#: from sub-second tool calls to long generations, so the bounds reach an hour.
DURATION_BUCKETS_SECONDS: Final = (
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
    300.0,
    600.0,
    1800.0,
    3600.0,
)
