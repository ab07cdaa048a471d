"""hypertool / Persona overview: switches, time in each persona, tokens, persona budgets."""

from __future__ import annotations

from typing import Any

from hypertool_agent import names as n
from hypertool_tools.render.dashboards import panels as p
from hypertool_tools.render.dashboards import queries as q


def _switches() -> p.Row:
    return p.Row(
        "Switches",
        [
            p.timeseries(
                "Switch rate",
                (q.SWITCH_RATE, "{{from_persona}} → {{to_persona}}"),
                description="Persona switches per minute, by transition.",
            ),
            p.table(
                "Transitions",
                (q.TRANSITIONS, ""),
                description="Switches in the time range, per transition.",
            ),
        ],
    )


def _time_and_tokens() -> p.Row:
    return p.Row(
        "Time and tokens",
        [
            p.bargauge(
                "Time in each persona",
                (q.TIME_IN_PERSONA, "{{persona}}"),
                unit="s",
                description="Total time agents spent in each persona in the time range.",
            ).min(0),
            p.timeseries(
                "Tokens by persona and model",
                (q.TOKENS_PER_MINUTE, "{{persona}} {{model}}"),
                description="Tokens per minute.",
            ).stacking(p.stacked()),
        ],
    )


def _budgets(warning_ratio: float) -> p.Row:
    return p.Row(
        "Budgets",
        [
            p.bargauge(
                "Budget remaining",
                (q.BUDGET_REMAINING, "{{persona}}"),
                description="Tokens left in each persona-wide budget for its period, "
                "for the whole fleet. Negative when overspent.",
                steps=[("red", None), ("green", 0)],
            ),
            p.gauge(
                "Budget used",
                (q.PERSONA_BUDGET_USED, "{{persona}} ({{period}})"),
                unit="percentunit",
                description="Share of each persona-wide budget used in its period. "
                "Thresholds from budgets.yaml.",
                steps=[("green", None), ("orange", warning_ratio), ("red", 1.0)],
            )
            .min(0)
            .max(1),
        ],
    )


def persona_overview(warning_ratio: float) -> dict[str, Any]:
    """Which personas agents use, how they move between them, what they spend."""
    return p.dashboard(
        "hypertool-persona-overview",
        "hypertool / Persona overview",
        "Which personas agents use, how they move between them, what they spend.",
        [
            p.variable("persona", q.TOKENS, n.PERSONA),
            p.variable("chatmode", q.TOKENS, n.CHATMODE),
            p.variable("model", q.TOKENS, n.MODEL),
        ],
        [_switches(), _time_and_tokens(), _budgets(warning_ratio), p.pipeline_health()],
    )
