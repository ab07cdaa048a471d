"""hypertool / Budgets and cost: period usage against budgets, burn rates, exhaustion, cost."""

from __future__ import annotations

from typing import Any

from hypertool_agent import names as n
from hypertool_tools import contract as c
from hypertool_tools.render.dashboards import panels as p
from hypertool_tools.render.dashboards import queries as q


def _usage(warning_ratio: float) -> list[p.PanelBuilder]:
    return [
        p.timeseries(
            "Period usage against budget",
            (q.BUDGET_USED, "used {{persona}} {{model}} {{workflow}}"),
            (q.BUDGET_LIMIT, "limit {{persona}} {{model}} {{workflow}}"),
            description="Tokens the fleet used in each budget's rolling period.",
        ),
        p.bargauge(
            "Budget used",
            (q.BUDGET_USED_RATIO, "{{persona}} {{model}} {{workflow}} ({{period}})"),
            unit="percentunit",
            steps=[("green", None), ("orange", warning_ratio), ("red", 1.0)],
        )
        .min(0)
        .max(1),
    ]


def _pace() -> list[p.PanelBuilder]:
    return [
        p.timeseries(
            "Burn rate",
            (q.BURN_RATE_LONG, "long {{persona}} ({{period}})"),
            (q.BURN_RATE_SHORT, "short {{persona}} ({{period}})"),
            description="Share of the budget a whole period would use at the pace of the "
            "long (period/24) and short (period/288) windows. Above 1 it runs out early.",
            steps=[("green", None), ("red", 1.0)],
        ).thresholds_style(p.threshold_line()),
        p.bargauge(
            "Predicted exhaustion",
            (q.PREDICTED_EXHAUSTION, "{{persona}}"),
            unit="s",
            description="Time until each persona-wide budget runs out at the last "
            "hour's pace (negative: already overspent).",
        ).min(0),
    ]


def _cost() -> p.Row:
    return p.Row(
        "Cost",
        [
            p.timeseries(
                "Cost in USD per hour",
                (q.COST_PER_HOUR, "{{persona}} {{model}} ({{cost_source}})"),
                unit="currencyUSD",
                description="Reported: what the producer says it was charged (Claude Code). "
                "Estimated: tokens times the list price from genai-prices.",
            ).stacking(p.stacked()),
            p.table("Cost in the time range", (q.COST_IN_RANGE, ""), unit="currencyUSD"),
            p.table(
                "Tokens with no known price",
                (q.UNPRICED_IN_RANGE, ""),
                description="Tokens of models genai-prices has no price for: in no cost "
                "above. Give them a price (ObservableLLM(prices=...)) or upgrade genai-prices.",
            ),
            p.table(
                "Tokens and cost per user",
                (q.USER_TOKENS_IN_RANGE, "tokens"),
                (q.USER_COST_IN_RANGE, "USD"),
                description="For producers that name the person (coding agents: user.email, "
                "user.id, ...); usage that names no one is not in it.",
            ),
            p.timeseries("Input and output tokens", (q.TOKENS_BY_TYPE, "{{token_type}}")),
            p.timeseries("LLM call duration p95", (q.LLM_CALL_P95, "{{model}}"), unit="s"),
        ],
    )


def budgets_and_cost(warning_ratio: float) -> dict[str, Any]:
    """Fleet-wide token budgets per period, how fast they burn, and what the tokens cost."""
    return p.dashboard(
        "hypertool-budgets-cost",
        "hypertool / Budgets and cost",
        "Fleet-wide token budgets per period, how fast they burn, and what the tokens cost.",
        [
            p.variable("persona", c.BUDGET_LIMIT, n.PERSONA),
            p.variable("model", q.TOKENS, n.MODEL),
            p.variable("workflow", q.WORKFLOW_TOKENS, n.WORKFLOW),
        ],
        [
            p.Row("Budgets", [*_usage(warning_ratio), *_pace()]),
            _cost(),
            p.pipeline_health(),
        ],
    )
