"""The names the library emits: OTLP instruments, attribute keys and values, span attributes.

This is the emitting half of the names contract, and its one source of truth. The other
half, what the collector and Prometheus make of these names (series names, span-derived
histograms, recording rules), is ``hypertool_tools.contract``, which builds on this module;
the collector config, the rules and the dashboards are rendered from or checked against it.

A token's path: ``record_token_usage`` adds to the OTLP counter ``TOKENS_USED.otel_name``
(delta temporality). The collector's ``agent_sums`` connector sums those deltas from
every process into one stream, the ``ledger`` adds it to its journaled running total, and
the ``prometheus`` exporter publishes it as ``hypertool_persona_tokens_used_total``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

# Label keys: the Prometheus label names, also the OTLP data point attribute keys.
PERSONA: Final = "persona"
CHATMODE: Final = "chatmode"
MODEL: Final = "model"
FROM_PERSONA: Final = "from_persona"
TO_PERSONA: Final = "to_persona"
WORKFLOW: Final = "workflow"
STAGE: Final = "stage"
RESULT: Final = "result"
TOKEN_TYPE: Final = "token_type"  # noqa: S105 - a label name, not a secret
REASON: Final = "reason"
#: Whether a cost is what the producer was charged (``reported``) or an estimate from
#: list prices (``estimated``).
COST_SOURCE: Final = "cost_source"
#: The person a foreign producer names (a coding agent's user.email, user.id, ...): set by
#: the collector on the per-user series, never by the library's counters.
USER: Final = "user"

# Label values.
RESULT_PASSED: Final = "passed"
RESULT_FAILED: Final = "failed"
QUALITY_GATE_RESULTS: Final = (RESULT_PASSED, RESULT_FAILED)
#: ``from_persona`` of the first switch of a run. Prometheus drops empty label values, so
#: "no persona yet" needs a visible value to keep the label set complete.
NO_PERSONA: Final = "none"
#: Where label values beyond the cardinality limit are folded.
OTHER: Final = "other"
#: Distinct values of one label before new ones are folded into OTHER, per process in the
#: agent (HYPERTOOL_MAX_LABEL_VALUES). The collector gives each producer the same quota of
#: new values, and bounds the fleet's values apart (hypertool_tools.contract).
MAX_LABEL_VALUES: Final = 100
#: Longest label value, in characters: longer ones are cut, by the agent and the collector.
MAX_LABEL_LENGTH: Final = 128
#: Recorded for an empty or missing label value (persona, model, ...).
UNKNOWN: Final = "unknown"
TOKEN_TYPE_INPUT: Final = "input"  # noqa: S105 - a label value, not a secret
TOKEN_TYPE_OUTPUT: Final = "output"  # noqa: S105 - a label value, not a secret
COST_REPORTED: Final = "reported"
COST_ESTIMATED: Final = "estimated"
#: ``reason`` values of DROPPED_MEASUREMENTS for what the spool could not keep
#: (docs/reliability.md): over its bound or the disk full, older than its maximum age, a
#: file that does not parse, any other write error.
REASON_SPOOL_FULL: Final = "spool_full"
REASON_SPOOL_EXPIRED: Final = "spool_expired"
REASON_SPOOL_UNREADABLE: Final = "spool_unreadable"
REASON_SPOOL_WRITE_FAILED: Final = "spool_write_failed"

# Span attributes. Durations come from spans: the collector turns each stage span and
# each persona span into one histogram observation, whatever process sent it.
SPAN_TYPE: Final = "hypertool.span.type"
SPAN_TYPE_WORKFLOW: Final = "workflow"
SPAN_TYPE_STAGE: Final = "stage"
SPAN_TYPE_PERSONA: Final = "persona"
SPAN_TYPE_LLM_CALL: Final = "llm_call"
ATTR_WORKFLOW: Final = "hypertool.workflow.name"
ATTR_STAGE: Final = "hypertool.stage.name"
ATTR_PERSONA: Final = "hypertool.persona.name"
ATTR_CHATMODE: Final = "hypertool.persona.chatmode"
ATTR_QUALITY_GATE: Final = "hypertool.quality_gate.result"
ATTR_WORKFLOW_RESULT: Final = "hypertool.workflow.result"
WORKFLOW_SUCCEEDED: Final = "succeeded"
WORKFLOW_FAILED: Final = "failed"
ATTR_MODEL: Final = "hypertool.model"
ATTR_COST_USD: Final = "hypertool.llm.cost_usd"
#: On a tokens-by-type point the agent priced at your own price (PriceTable), or left
#: unpriced with list prices excluded: the collector does not price those tokens again.
#: Not a label: the fleet series of tokens are keyed by their labels only.
ATTR_PRICED_BY: Final = "hypertool.llm.priced_by"
PRICED_BY_USER: Final = "user"

# OpenTelemetry GenAI semantic conventions used on spans.
GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_AGENT_NAME: Final = "gen_ai.agent.name"
GEN_AI_OPERATION_INVOKE_WORKFLOW: Final = "invoke_workflow"
GEN_AI_OPERATION_INVOKE_AGENT: Final = "invoke_agent"
GEN_AI_OPERATION_CHAT: Final = "chat"
GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
GEN_AI_RESPONSE_MODEL: Final = "gen_ai.response.model"
GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"

#: Instrumentation scope of everything the agent emits.
SCOPE_NAME: Final = "hypertool_agent"

#: Resource attribute on each metrics export of the library: ``<process uuid>:<sequence>``
#: (the sequence counts the process' exports from 1). A resend from the spool carries the
#: original's value, so the collector's ledger counts each export once, however often it
#: arrives (docs/reliability.md).
DELIVERY_ID: Final = "hypertool.delivery.id"


@dataclass(frozen=True)
class Instrument:
    """One OTLP counter the library records, sent with delta temporality."""

    otel_name: str
    unit: str
    #: The data point attribute keys it is recorded with.
    labels: tuple[str, ...]
    description: str


PERSONA_SWITCHES: Final = Instrument(
    otel_name="hypertool.persona.switches",
    unit="{switch}",
    labels=(FROM_PERSONA, TO_PERSONA, CHATMODE),
    description="Persona switches.",
)
TOKENS_USED: Final = Instrument(
    otel_name="hypertool.persona.tokens_used",
    unit="{token}",
    labels=(PERSONA, CHATMODE, MODEL),
    description="LLM tokens used.",
)
QUALITY_GATE: Final = Instrument(
    otel_name="hypertool.workflow.quality_gate",
    unit="{gate}",
    labels=(WORKFLOW, STAGE, RESULT),
    description="Quality-gate results.",
)
WORKFLOW_TOKENS: Final = Instrument(
    otel_name="hypertool.workflow.tokens_used",
    unit="{token}",
    labels=(WORKFLOW, PERSONA, MODEL),
    description="LLM tokens used inside workflow runs, for budgets narrowed to a workflow.",
)
LLM_TOKENS: Final = Instrument(
    otel_name="hypertool.llm.tokens",
    unit="{token}",
    labels=(PERSONA, MODEL, TOKEN_TYPE),
    description="LLM tokens by type, from the usage the provider reported.",
)
LLM_COST: Final = Instrument(
    otel_name="hypertool.llm.cost_usd",
    unit="{USD}",
    labels=(PERSONA, MODEL, COST_SOURCE),
    description="LLM cost in US dollars: reported by the producer, or estimated from list prices.",
)
LLM_UNPRICED_TOKENS: Final = Instrument(
    otel_name="hypertool.llm.unpriced_tokens",
    unit="{token}",
    labels=(PERSONA, MODEL),
    description="LLM tokens of models with no known price: in no cost, never priced at 0.",
)
DROPPED_MEASUREMENTS: Final = Instrument(
    otel_name="hypertool.agent.dropped_measurements",
    unit="{measurement}",
    labels=(REASON,),
    description="Measurements agents dropped as invalid (negative, not finite, not a number).",
)

#: Every counter the library records, in the order the collector config lists them.
COUNTERS: Final = (
    TOKENS_USED,
    PERSONA_SWITCHES,
    QUALITY_GATE,
    WORKFLOW_TOKENS,
    LLM_TOKENS,
    LLM_COST,
    LLM_UNPRICED_TOKENS,
    DROPPED_MEASUREMENTS,
)
