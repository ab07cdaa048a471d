"""The names contract: every metric, label, label value and span attribute hypertool uses.

This module is the one source of truth. The collector config, the Prometheus rules and
the dashboards spell the same names in YAML and JSON; ``tests/unit/test_names.py`` fails
when any of them drifts from what is written here.

A token's path: ``record_token_usage`` adds to the OTLP counter ``tokens_used.otel_name``
(delta temporality). The collector's ``signaltometrics`` connector sums those deltas from
every process into one stream, ``deltatocumulative`` turns it into a running total, and the
``prometheus`` exporter publishes it as ``tokens_used.prometheus_name``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

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

# Label values.
RESULT_PASSED: Final = "passed"
RESULT_FAILED: Final = "failed"
QUALITY_GATE_RESULTS: Final = (RESULT_PASSED, RESULT_FAILED)
#: ``from_persona`` of the first switch of a run. Prometheus drops empty label values, so
#: "no persona yet" needs a visible value to keep the label set complete.
NO_PERSONA: Final = "none"
#: Where label values beyond the cardinality limit are folded.
OTHER: Final = "other"
#: Recorded for an empty or missing label value (persona, model, ...).
UNKNOWN: Final = "unknown"
TOKEN_TYPE_INPUT: Final = "input"  # noqa: S105 - a label value, not a secret
TOKEN_TYPE_OUTPUT: Final = "output"  # noqa: S105 - a label value, not a secret

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
#: Span attribute -> Prometheus label, renamed by the collector's ``transform/labels``.
SPAN_ATTRIBUTE_LABELS: Final = {
    ATTR_WORKFLOW: WORKFLOW,
    ATTR_STAGE: STAGE,
    ATTR_PERSONA: PERSONA,
    ATTR_CHATMODE: CHATMODE,
    ATTR_MODEL: MODEL,
    ATTR_WORKFLOW_RESULT: RESULT,
}

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

Kind = Literal["counter", "gauge", "histogram"]
#: Where a series comes from: agent metrics, agent spans, or Prometheus recording rules.
Source = Literal["metric", "span", "rule"]


@dataclass(frozen=True)
class MetricName:
    """One series family: its OTLP name and unit, and the Prometheus name they become."""

    otel_name: str
    unit: str
    kind: Kind
    labels: tuple[str, ...]
    source: Source
    description: str

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


PERSONA_SWITCHES: Final = MetricName(
    otel_name="hypertool.persona.switches",
    unit="{switch}",
    kind="counter",
    labels=(FROM_PERSONA, TO_PERSONA, CHATMODE),
    source="metric",
    description="Persona switches.",
)
PERSONA_DURATION: Final = MetricName(
    otel_name="hypertool.persona.duration",
    unit="s",
    kind="histogram",
    labels=(PERSONA, CHATMODE),
    source="span",
    description="Time spent in a persona, observed when the persona is left.",
)
TOKENS_USED: Final = MetricName(
    otel_name="hypertool.persona.tokens_used",
    unit="{token}",
    kind="counter",
    labels=(PERSONA, CHATMODE, MODEL),
    source="metric",
    description="LLM tokens used.",
)
TOKEN_BUDGET_REMAINING: Final = MetricName(
    otel_name="hypertool_persona_token_budget_remaining",
    unit="{token}",
    kind="gauge",
    labels=(PERSONA,),
    source="rule",
    description="Tokens left in the persona's fleet-wide budget for the current period.",
)
STAGE_DURATION: Final = MetricName(
    otel_name="hypertool.workflow.stage.duration",
    unit="s",
    kind="histogram",
    labels=(WORKFLOW, STAGE, PERSONA),
    source="span",
    description="Workflow stage duration.",
)
QUALITY_GATE: Final = MetricName(
    otel_name="hypertool.workflow.quality_gate",
    unit="{gate}",
    kind="counter",
    labels=(WORKFLOW, STAGE, RESULT),
    source="metric",
    description="Quality-gate results.",
)

WORKFLOW_RUNS: Final = MetricName(
    otel_name="hypertool.workflow.runs",
    unit="{run}",
    kind="counter",
    labels=(WORKFLOW, RESULT),
    source="span",
    description="Workflow runs, by outcome.",
)
WORKFLOW_TOKENS: Final = MetricName(
    otel_name="hypertool.workflow.tokens_used",
    unit="{token}",
    kind="counter",
    labels=(WORKFLOW, PERSONA, MODEL),
    source="metric",
    description="LLM tokens used inside workflow runs, for budgets narrowed to a workflow.",
)
LLM_TOKENS: Final = MetricName(
    otel_name="hypertool.llm.tokens",
    unit="{token}",
    kind="counter",
    labels=(PERSONA, MODEL, TOKEN_TYPE),
    source="metric",
    description="LLM tokens by type, from the usage the provider reported.",
)
LLM_COST: Final = MetricName(
    otel_name="hypertool.llm.cost_usd",
    unit="{USD}",
    kind="counter",
    labels=(PERSONA, MODEL),
    source="metric",
    description="LLM cost in US dollars, from the price table.",
)
LLM_CALL_DURATION: Final = MetricName(
    otel_name="hypertool.llm.call.duration",
    unit="s",
    kind="histogram",
    labels=(PERSONA, MODEL),
    source="span",
    description="LLM call duration.",
)
DROPPED_MEASUREMENTS: Final = MetricName(
    otel_name="hypertool.agent.dropped_measurements",
    unit="{measurement}",
    kind="counter",
    labels=(REASON,),
    source="metric",
    description="Measurements agents dropped as invalid (negative, not finite, not a number).",
)

#: Made by the collector, not the agent: agent points the fleet totals cannot use.
PIPELINE_REJECTED_POINTS: Final = MetricName(
    otel_name="hypertool.pipeline.rejected_points",
    unit="{point}",
    kind="counter",
    labels=(),
    source="metric",
    description="Agent data points the fleet totals cannot use (cumulative counters).",
)

#: The seed's six series families, what agents produce.
ALL_METRICS: Final = (
    PERSONA_SWITCHES,
    PERSONA_DURATION,
    TOKENS_USED,
    TOKEN_BUDGET_REMAINING,
    STAGE_DURATION,
    QUALITY_GATE,
)

#: What agents produce beyond the seed's six.
EXTRA_METRICS: Final = (
    WORKFLOW_RUNS,
    WORKFLOW_TOKENS,
    LLM_TOKENS,
    LLM_COST,
    LLM_CALL_DURATION,
    DROPPED_MEASUREMENTS,
)

#: Everything the collector publishes.
COLLECTOR_METRICS: Final = (
    *(m for m in ALL_METRICS if m.source != "rule"),
    *EXTRA_METRICS,
    PIPELINE_REJECTED_POINTS,
)

# Budget series, made by the recording rules prometheus/rules/budgets.yml renders from
# budgets.yaml. Labels: persona, model and workflow ("any" when the budget is not
# narrowed to one), and the budget's rolling period.
BUDGET_LABELS: Final = (PERSONA, MODEL, WORKFLOW, "period")
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

#: The collector's own telemetry that dashboards and alerts read (job "otel-collector").
COLLECTOR_TELEMETRY: Final = (
    "otelcol_receiver_accepted_metric_points",
    "otelcol_receiver_accepted_spans",
    "otelcol_receiver_refused_metric_points",
    "otelcol_receiver_refused_spans",
    "otelcol_process_memory_rss",
    "otelcol_process_uptime",
)

#: Histogram bucket bounds in seconds, shared by the collector config (which builds the
#: histograms) and the tests. Agent stages run from sub-second tool calls to long
#: generations, so the bounds reach an hour.
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
