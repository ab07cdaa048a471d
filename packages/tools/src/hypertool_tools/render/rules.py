"""Renders the fleet-wide budget recording rules from budgets.yaml.

Operators edit one file, ``budgets.yaml``; ``hypertool render`` turns it into
``prometheus/rules/budgets.yml``, which Prometheus loads in compose and natively. A test
fails when the committed rules are older than the budgets.

For each budget the rules give its limit, the tokens the whole fleet used in its rolling
period, and the ratio of the two; per persona-wide budget, the fleet-wide
``hypertool_persona_token_budget_remaining{persona}`` (not the library's per-process
``get_remaining_budget``). Usage in a window is each series' last value in it minus its
last value before it (0 for a series new in the window): no extrapolation, a brand-new
series' first value counted in full, and plain PromQL that Prometheus and Thanos both
evaluate (docs/accounting.md, docs/scale-out.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import yaml

from hypertool_agent import Budget, load_budgets
from hypertool_agent import names as n
from hypertool_tools import contract as c
from hypertool_tools.render._files import write_rendered

BUDGETS_FILE: Final = Path("budgets.yaml")
RULES_FILE: Final = Path("prometheus") / "rules" / "budgets.yml"
ALERTS_FILE: Final = Path("prometheus") / "budget-alerts.yml"
_HEADER: Final = """\
# GENERATED from budgets.yaml by `hypertool render`. Edit budgets.yaml, not this.
#
# Per budget: its limit, the fleet's usage in its rolling period, their ratio, the share at
# which to warn, and burn rates over a long (period/24) and a short (period/288) window;
# per persona-wide budget, hypertool_persona_token_budget_remaining{persona}: fleet-wide,
# every agent process's usage in the period (the library's get_remaining_budget() is the
# per-process view, one process's usage since it started).
# Labels model and workflow are "any" where a budget is not narrowed to one. Then the
# budget alerts of prometheus/budget-alerts.yml, in the same group so that they see this
# evaluation's usage.
"""


def _quote(value: str) -> str:
    """A PromQL string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


_SECONDS: Final = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
#: Burn-rate windows as shares of the period, as SLO alerts use for a 30-day budget
#: (1h and 5m for a day); never shorter than a few scrapes.
_LONG_SHARE, _SHORT_SHARE = 1 / 24, 1 / 288
_MIN_LONG_S, _MIN_SHORT_S = 300, 60


def period_seconds(period: str) -> float:
    """A budget period (Prometheus duration of one unit) in seconds."""
    unit = period.lstrip("0123456789")
    return int(period[: len(period) - len(unit)]) * _SECONDS[unit]


def windowed_usage(series: str, window: str) -> str:
    """Per series, what a counter added in the last ``window``, in PromQL.

    Its last value in the window minus its last value before it; for a series with no value
    before it, minus its lowest in it, the 0 that created-timestamp zero ingestion stores
    at a new series' start.

    ``increase()`` extrapolates to the window's edges (3000 tokens read as about 3121), and
    its exact form, ``increase(...[w] anchored)``, is a Prometheus 3 experiment that Thanos
    v0.42.5 does not parse. This is plain PromQL both evaluate, exact for counters without
    resets, which the collector's ledger keeps across restarts. A reset (a lost ledger)
    undercounts, never overcounts; so does a window reaching past the retention.

    >>> windowed_usage("x", "1d")  # doctest: +ELLIPSIS
    'clamp_min(last_over_time(x[1d]) - (last_over_time(x[1d] offset 1d) or min_over_...), 0)'
    """
    before = f"last_over_time({series}[{window}] offset {window})"
    lowest = f"min_over_time({series}[{window}])"
    return f"clamp_min(last_over_time({series}[{window}]) - ({before} or {lowest}), 0)"


def _selector(budget: Budget) -> str:
    matchers = [f"{n.PERSONA}={_quote(budget.persona)}"]
    if budget.model is not None:
        matchers.append(f"{n.MODEL}={_quote(budget.model)}")
    if budget.workflow is not None:
        matchers.append(f"{n.WORKFLOW}={_quote(budget.workflow)}")
        series = c.WORKFLOW_TOKENS.prometheus_name
    else:
        series = c.TOKENS_USED.prometheus_name
    return f"{series}{{{','.join(matchers)}}}"


def _usage(budget: Budget, window: str | None = None) -> str:
    return f"sum({windowed_usage(_selector(budget), window or budget.period)}) or vector(0)"


def _window(period: str, share: float, minimum: float) -> int:
    return int(max(round(period_seconds(period) * share), minimum))


def _burn_rate(budget: Budget, share: float, minimum: float) -> str:
    window = _window(budget.period, share, minimum)
    period = period_seconds(budget.period)
    return f"({_usage(budget, f'{window}s')}) * {period:g} / ({window} * {budget.tokens})"


PREDICTED: Final = "HypertoolTokenBudgetExhaustionPredicted"


def _per_period(alerts: list[dict[str, Any]], periods: list[str]) -> list[dict[str, Any]]:
    """The predicted-exhaustion alert once per period, `for` twice its short window."""
    out: list[dict[str, Any]] = []
    for alert in alerts:
        if alert.get("alert") != PREDICTED:
            out.append(alert)
            continue
        for period in periods:
            short = _window(period, _SHORT_SHARE, _MIN_SHORT_S)
            selector = f'{{period="{period}"}}'
            expr = alert["expr"].replace(
                c.BUDGET_BURN_RATE_LONG + " ", c.BUDGET_BURN_RATE_LONG + selector + " ", 1
            )
            out.append({**alert, "expr": expr, "for": f"{max(2 * short, 60)}s"})
    return out


def _labels(budget: Budget) -> dict[str, str]:
    values = (budget.persona, budget.model or c.ANY, budget.workflow or c.ANY, budget.period)
    return dict(zip(c.BUDGET_LABELS, values, strict=True))


def render_rules(budgets: list[Budget], alerts: list[dict[str, Any]] | None = None) -> str:
    """The rules file for ``budgets``, with ``alerts`` after the recording rules."""
    rules: list[dict[str, Any]] = []
    for budget in budgets:
        rules.append(
            {
                "record": c.BUDGET_LIMIT,
                "expr": f"vector({budget.tokens})",
                "labels": _labels(budget),
            }
        )
        rules.append({"record": c.BUDGET_USED, "expr": _usage(budget), "labels": _labels(budget)})
        rules.append(
            {
                "record": c.BUDGET_WARNING_RATIO,
                "expr": f"vector({budget.warning_ratio:g})",
                "labels": _labels(budget),
            }
        )
        for record, share, minimum in (
            (c.BUDGET_BURN_RATE_LONG, _LONG_SHARE, _MIN_LONG_S),
            (c.BUDGET_BURN_RATE_SHORT, _SHORT_SHARE, _MIN_SHORT_S),
        ):
            rules.append(
                {
                    "record": record,
                    "expr": _burn_rate(budget, share, minimum),
                    "labels": _labels(budget),
                }
            )
    rules.append(
        {
            "record": c.BUDGET_USED_RATIO,
            "expr": f"{c.BUDGET_USED} / {c.BUDGET_LIMIT}",
        }
    )
    persona_wide = f'{{{n.MODEL}="{c.ANY}",{n.WORKFLOW}="{c.ANY}"}}'
    rules.append(
        {
            "record": c.TOKEN_BUDGET_REMAINING.prometheus_name,
            "expr": (
                f"sum by ({n.PERSONA}) ({c.BUDGET_LIMIT}{persona_wide} - "
                f"{c.BUDGET_USED}{persona_wide})"
            ),
        }
    )
    periods = sorted({b.period for b in budgets}, key=period_seconds)
    rules.extend(_per_period(alerts or [], periods))
    document = {"groups": [{"name": "hypertool-budgets", "rules": rules}]}
    return _HEADER + yaml.dump(document, Dumper=_Dumper, sort_keys=False, width=1000)


class _Dumper(yaml.SafeDumper):
    """Writes multi-line strings (PromQL, descriptions) as readable literal blocks."""


def _text_block(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text_block)


def load_alerts(root: Path) -> list[dict[str, Any]]:
    """The budget alert rules of prometheus/budget-alerts.yml."""
    document = yaml.safe_load((root / ALERTS_FILE).read_text())
    alerts: list[dict[str, Any]] = document["groups"][0]["rules"]
    return alerts


def render_file(root: Path, *, check: bool) -> bool:
    """Write (or, with ``check``, compare) the rules of the repository's budgets.yaml.

    Returns whether the committed rules file already matched.
    """
    text = render_rules(load_budgets(root / BUDGETS_FILE), load_alerts(root))
    return write_rendered(root / RULES_FILE, text, check=check)
