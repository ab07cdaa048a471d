"""Every PromQL expression the dashboards run, in one place.

Series names come from the names contract only (``n`` is what agents emit, ``c`` the series
Prometheus holds), so a dashboard cannot ask for a series the stack does not make. Label
names and Grafana variables are written out: they are what an operator reads when a panel
shows nothing. Each expression stays on one line, as it would in Prometheus' query box.
"""

from __future__ import annotations

from typing import Final

from hypertool_agent import names as n
from hypertool_tools import contract as c

SWITCHES: Final = c.PERSONA_SWITCHES.prometheus_name
TOKENS: Final = c.TOKENS_USED.prometheus_name
WORKFLOW_TOKENS: Final = c.WORKFLOW_TOKENS.prometheus_name
PERSONA_SECONDS: Final = c.PERSONA_DURATION.prometheus_name
STAGE_SECONDS: Final = c.STAGE_DURATION.prometheus_name
GATES: Final = c.QUALITY_GATE.prometheus_name
RUNS: Final = c.WORKFLOW_RUNS.prometheus_name
LLM_TOKENS: Final = c.LLM_TOKENS.prometheus_name
COST: Final = c.LLM_COST.prometheus_name
LLM_SECONDS: Final = c.LLM_CALL_DURATION.prometheus_name
REMAINING: Final = c.TOKEN_BUDGET_REMAINING.prometheus_name
REJECTED_POINTS: Final = c.PIPELINE_REJECTED_POINTS.prometheus_name
DROPPED: Final = c.DROPPED_MEASUREMENTS.prometheus_name
UNUSED: Final = c.PIPELINE_UNUSED.prometheus_name
FOLDED: Final = c.PIPELINE_FOLDED_POINTS.prometheus_name
UNATTRIBUTED: Final = c.PIPELINE_UNATTRIBUTED.prometheus_name
USER_TOKENS: Final = c.USER_TOKENS.prometheus_name
USER_COST: Final = c.USER_COST.prometheus_name
ACCEPTED_POINTS: Final = c.OTELCOL_ACCEPTED_POINTS
ACCEPTED_SPANS: Final = c.OTELCOL_ACCEPTED_SPANS

#: Scrape jobs of prometheus/prometheus.yml: the collector's exporter and its own telemetry.
EXPORTER_JOB: Final = f'job="{c.JOB_COLLECTOR_EXPORTER}"'
TELEMETRY_JOB: Final = f'job="{c.JOB_COLLECTOR_TELEMETRY}"'


def label_values(metric: str, label: str) -> str:
    """A template variable's query: the values ``label`` takes on ``metric``."""
    return f"label_values({metric}, {label})"


# Pipeline health, on every dashboard: is the collector scraped, is data arriving, is any
# of it kept out of the totals, is anything firing.
COLLECTOR_UP: Final = f"min(up{{{EXPORTER_JOB}}})"
POINTS_ACCEPTED: Final = f"sum(rate({ACCEPTED_POINTS}{{{TELEMETRY_JOB}}}[$__rate_interval]))"
SPANS_ACCEPTED: Final = f"sum(rate({ACCEPTED_SPANS}{{{TELEMETRY_JOB}}}[$__rate_interval]))"
POINTS_REJECTED: Final = f"sum(increase({REJECTED_POINTS}[$__range])) or vector(0)"
MEASUREMENTS_DROPPED: Final = f"sum(increase({DROPPED}[$__range])) or vector(0)"
UNUSED_BY_REASON: Final = f"sum by (signal, reason, producer) (increase({UNUSED}[$__range]))"
FOLDED_BY_LABEL: Final = f"sum by (metric, label, producer) (increase({FOLDED}[$__range]))"
UNATTRIBUTED_BY_REASON: Final = f"sum by (reason, producer) (increase({UNATTRIBUTED}[$__range]))"
FIRING_ALERTS: Final = 'count(ALERTS{alertname=~"Hypertool.*",alertstate="firing"}) or vector(0)'
#: The annotation every dashboard draws: budget alerts while they fire.
BUDGET_ALERTS: Final = 'ALERTS{alertname=~"HypertoolTokenBudget.*",alertstate="firing"}'

# Persona overview. Switches are filtered by the persona switched to.
_PERSONA: Final = 'persona=~"$persona",chatmode=~"$chatmode"'
_SWITCH: Final = 'to_persona=~"$persona",chatmode=~"$chatmode"'
SWITCH_RATE: Final = (
    f"sum by (from_persona, to_persona) (rate({SWITCHES}{{{_SWITCH}}}[$__rate_interval])) * 60"
)
TRANSITIONS: Final = (
    f"sum by (from_persona, to_persona) (increase({SWITCHES}{{{_SWITCH}}}[$__range]))"
)
TIME_IN_PERSONA: Final = (
    f"sum by (persona) (increase({PERSONA_SECONDS}_sum{{{_PERSONA}}}[$__range]))"
)
TOKENS_PER_MINUTE: Final = (
    f'sum by (persona, model) (rate({TOKENS}{{{_PERSONA},model=~"$model"}}[$__rate_interval])) * 60'
)
BUDGET_REMAINING: Final = f'{REMAINING}{{persona=~"$persona"}}'
#: Persona-wide budgets only: the ones neither narrowed to a model nor to a workflow.
PERSONA_BUDGET_USED: Final = (
    f'{c.BUDGET_USED_RATIO}{{persona=~"$persona",model="{c.ANY}",workflow="{c.ANY}"}}'
)

# Workflow performance.
_STAGE: Final = 'workflow=~"$workflow",persona=~"$persona"'


def stage_duration(quantile: float) -> str:
    """Stage duration at ``quantile`` over time, per workflow and stage."""
    return f"histogram_quantile({quantile}, sum by (workflow, stage, le) (rate({STAGE_SECONDS}_bucket{{{_STAGE}}}[$__rate_interval])))"


SLOWEST_STAGES: Final = f"topk(10, histogram_quantile(0.95, sum by (workflow, stage, le) (rate({STAGE_SECONDS}_bucket{{{_STAGE}}}[$__range]))))"
GATE_PASS_RATE: Final = (
    f'sum by (workflow) (increase({GATES}{{result="{n.RESULT_PASSED}",workflow=~"$workflow"}}[$__rate_interval])) / '
    f'sum by (workflow) (increase({GATES}{{workflow=~"$workflow"}}[$__rate_interval]))'
)
FAILING_GATES: Final = f'sum by (workflow, stage) (increase({GATES}{{result="{n.RESULT_FAILED}",workflow=~"$workflow"}}[$__range]))'
RUNS_PER_HOUR: Final = (
    f'sum by (workflow, result) (rate({RUNS}{{workflow=~"$workflow"}}[$__rate_interval])) * 3600'
)

# Budgets and cost. "any" in a budget's model or workflow label means the budget is not
# narrowed to one, so those budgets stay visible whatever model or workflow is picked.
_BUDGET: Final = f'persona=~"$persona",model=~"$model|{c.ANY}",workflow=~"$workflow|{c.ANY}"'
_COST: Final = 'persona=~"$persona",model=~"$model"'
BUDGET_USED: Final = f"{c.BUDGET_USED}{{{_BUDGET}}}"
BUDGET_LIMIT: Final = f"{c.BUDGET_LIMIT}{{{_BUDGET}}}"
BUDGET_USED_RATIO: Final = f"{c.BUDGET_USED_RATIO}{{{_BUDGET}}}"
BURN_RATE_LONG: Final = f"{c.BUDGET_BURN_RATE_LONG}{{{_BUDGET}}}"
BURN_RATE_SHORT: Final = f"{c.BUDGET_BURN_RATE_SHORT}{{{_BUDGET}}}"
PREDICTED_EXHAUSTION: Final = f'{REMAINING}{{persona=~"$persona"}} / sum by (persona) (rate({TOKENS}{{persona=~"$persona"}}[1h]))'
# cost_source: "reported" (what the producer was charged) or "estimated" (list prices).
COST_PER_HOUR: Final = (
    f"sum by (persona, model, cost_source) (rate({COST}{{{_COST}}}[$__rate_interval])) * 3600"
)
COST_IN_RANGE: Final = (
    f"sum by (persona, model, cost_source) (increase({COST}{{{_COST}}}[$__range]))"
)
#: Tokens of models no price is known for: in no cost above, so shown beside it, for
#: every model whichever is picked (a priced model has none).
UNPRICED_IN_RANGE: Final = f'sum by (persona, model) (increase({c.LLM_UNPRICED_TOKENS.prometheus_name}{{persona=~"$persona"}}[$__range]))'
TOKENS_BY_TYPE: Final = (
    f"sum by (token_type) (rate({LLM_TOKENS}{{{_COST}}}[$__rate_interval])) * 60"
)
#: Per person, for producers that name one (coding agents): whichever model is picked.
USER_TOKENS_IN_RANGE: Final = (
    f'sum by (user, persona) (increase({USER_TOKENS}{{persona=~"$persona"}}[$__range]))'
)
USER_COST_IN_RANGE: Final = (
    f'sum by (user, persona) (increase({USER_COST}{{persona=~"$persona"}}[$__range]))'
)
LLM_CALL_P95: Final = f"histogram_quantile(0.95, sum by (model, le) (rate({LLM_SECONDS}_bucket{{{_COST}}}[$__rate_interval])))"
