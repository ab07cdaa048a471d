"""The Grafana dashboards, as code: `hypertool dashboards render` writes grafana/dashboards.

Every query is built from the names contract (``_names``), and the budget thresholds come
from budgets.yaml, so the dashboards cannot ask for a series the stack does not make. The
tests run every panel's query against a live Prometheus, with each variable set to All and
to one value, and fail when the committed JSON is not what this module renders.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from hypertool_agent import names as n
from hypertool_agent._budgets import DEFAULT_WARNING_RATIO, load_budgets
from hypertool_tools import contract as c

DASHBOARDS_DIR: Final = Path("grafana") / "dashboards"
PROMETHEUS_UID: Final = "hypertool-prometheus"
TEMPO_UID: Final = "hypertool-tempo"
PROM: Final = {"type": "prometheus", "uid": PROMETHEUS_UID}

SWITCHES = c.PERSONA_SWITCHES.prometheus_name
TOKENS = c.TOKENS_USED.prometheus_name
PERSONA_SECONDS = c.PERSONA_DURATION.prometheus_name
STAGE_SECONDS = c.STAGE_DURATION.prometheus_name
GATES = c.QUALITY_GATE.prometheus_name
RUNS = c.WORKFLOW_RUNS.prometheus_name
LLM_TOKENS = c.LLM_TOKENS.prometheus_name
COST = c.LLM_COST.prometheus_name
LLM_SECONDS = c.LLM_CALL_DURATION.prometheus_name


@dataclass
class Panel:
    """One panel: a title, a kind, its queries and how to show them."""

    title: str
    kind: str
    queries: list[tuple[str, str]]  # (PromQL, legend)
    unit: str = "short"
    description: str = ""
    instant: bool = False
    width: int = 12
    height: int = 8
    thresholds: list[tuple[str, float | None]] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    #: fieldConfig.defaults.custom: how timeseries draw (stacking, threshold lines).
    custom: dict[str, Any] = field(default_factory=dict)
    minimum: float | None = None
    maximum: float | None = None
    transformations: list[dict[str, Any]] = field(default_factory=list)


def _variable(name: str, metric: str, label: str) -> dict[str, Any]:
    return {
        "name": name,
        "label": name.capitalize(),
        "type": "query",
        "datasource": PROM,
        "query": {"query": f"label_values({metric}, {label})", "refId": f"var-{name}"},
        "definition": f"label_values({metric}, {label})",
        "refresh": 2,
        "includeAll": True,
        "multi": True,
        "allValue": ".*",
        "current": {"text": "All", "value": "$__all"},
        "sort": 1,
    }


def _panel_json(panel: Panel, panel_id: int, x: int, y: int) -> dict[str, Any]:
    steps = [
        {"color": color, "value": value} for color, value in (panel.thresholds or [("green", None)])
    ]
    targets = [
        {
            "refId": chr(ord("A") + i),
            "datasource": PROM,
            "expr": expr,
            "legendFormat": legend,
            "instant": panel.instant,
            "range": not panel.instant,
            **({"format": "table"} if panel.kind == "table" else {}),
        }
        for i, (expr, legend) in enumerate(panel.queries)
    ]
    return {
        "id": panel_id,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": PROM,
        "gridPos": {"x": x, "y": y, "w": panel.width, "h": panel.height},
        "targets": targets,
        "fieldConfig": {
            "defaults": {
                "unit": panel.unit,
                "thresholds": {"mode": "absolute", "steps": steps},
                **({"custom": panel.custom} if panel.custom else {}),
                **({"min": panel.minimum} if panel.minimum is not None else {}),
                **({"max": panel.maximum} if panel.maximum is not None else {}),
            },
            "overrides": [],
        },
        "options": panel.options,
        **({"transformations": panel.transformations} if panel.transformations else {}),
    }


STACKED: Final = {"stacking": {"mode": "normal", "group": "A"}}
THRESHOLD_LINE: Final = {"thresholdsStyle": {"mode": "line"}}
SORT_DESCENDING: Final = [{"id": "sortBy", "options": {"sort": [{"field": "Value", "desc": True}]}}]


def _row(title: str, panel_id: int, y: int) -> dict[str, Any]:
    return {
        "id": panel_id,
        "type": "row",
        "title": title,
        "collapsed": False,
        "gridPos": {"x": 0, "y": y, "w": 24, "h": 1},
        "panels": [],
    }


def _dashboard(
    uid: str,
    title: str,
    description: str,
    variables: list[dict[str, Any]],
    rows: list[tuple[str, list[Panel]]],
) -> dict[str, Any]:
    panels: list[dict[str, Any]] = []
    y, panel_id = 0, 1
    for row_title, row_panels in rows:
        panels.append(_row(row_title, panel_id, y))
        panel_id, y, x, row_height = panel_id + 1, y + 1, 0, 0
        for panel in row_panels:
            if x + panel.width > 24:  # noqa: PLR2004 - Grafana's grid is 24 wide
                x, y, row_height = 0, y + row_height, 0
            panels.append(_panel_json(panel, panel_id, x, y))
            panel_id, x, row_height = panel_id + 1, x + panel.width, max(row_height, panel.height)
        y += row_height
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["hypertool"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": variables},
        "annotations": {
            "list": [
                {
                    "name": "Budget alerts",
                    "datasource": PROM,
                    "enable": True,
                    "expr": 'ALERTS{alertname=~"HypertoolTokenBudget.*",alertstate="firing"}',
                    "titleFormat": "{{alertname}}",
                    "textFormat": "{{persona}} {{period}}",
                    "iconColor": "red",
                }
            ]
        },
        "links": [
            {
                "title": "hypertool dashboards",
                "type": "dashboards",
                "tags": ["hypertool"],
                "asDropdown": True,
            }
        ],
        "panels": panels,
    }


def _pipeline_row() -> tuple[str, list[Panel]]:
    return (
        "Pipeline health",
        [
            Panel(
                "Collector up",
                "stat",
                [('min(up{job="hypertool-collector"})', "up")],
                description="1 when Prometheus scrapes the collector (HypertoolCollectorDown).",
                instant=True,
                width=4,
                height=4,
                thresholds=[("red", None), ("green", 1)],
            ),
            Panel(
                "Data arriving",
                "timeseries",
                [
                    (
                        'sum(rate(otelcol_receiver_accepted_metric_points{job="otel-collector"}'
                        "[$__rate_interval]))",
                        "metric points/s",
                    ),
                    (
                        'sum(rate(otelcol_receiver_accepted_spans{job="otel-collector"}'
                        "[$__rate_interval]))",
                        "spans/s",
                    ),
                ],
                unit="ops",
                width=8,
                height=4,
                description="What the collector accepts from agents (HypertoolPipelineNoData).",
            ),
            Panel(
                "Kept out of the totals",
                "stat",
                [
                    (
                        f"sum(increase({c.PIPELINE_REJECTED_POINTS.prometheus_name}[$__range])) "
                        "or vector(0)",
                        "cumulative points rejected",
                    ),
                    (
                        f"sum(increase({c.DROPPED_MEASUREMENTS.prometheus_name}[$__range])) or vector(0)",
                        "invalid counts dropped by agents",
                    ),
                ],
                instant=True,
                width=6,
                height=4,
                thresholds=[("green", None), ("orange", 1)],
            ),
            Panel(
                "Firing hypertool alerts",
                "stat",
                [
                    (
                        'count(ALERTS{alertname=~"Hypertool.*",alertstate="firing"}) or vector(0)',
                        "firing",
                    )
                ],
                instant=True,
                width=6,
                height=4,
                thresholds=[("green", None), ("red", 1)],
            ),
        ],
    )


def persona_overview(warning_ratio: float) -> dict[str, Any]:
    """Persona switches, time in persona, tokens and budgets."""
    sel = 'persona=~"$persona",chatmode=~"$chatmode"'
    return _dashboard(
        "hypertool-persona-overview",
        "hypertool / Persona overview",
        "Which personas agents use, how they move between them, what they spend.",
        [
            _variable("persona", TOKENS, n.PERSONA),
            _variable("chatmode", TOKENS, n.CHATMODE),
            _variable("model", TOKENS, n.MODEL),
        ],
        [
            (
                "Switches",
                [
                    Panel(
                        "Switch rate",
                        "timeseries",
                        [
                            (
                                f"sum by (from_persona, to_persona) (rate({SWITCHES}"
                                '{to_persona=~"$persona",chatmode=~"$chatmode"}[$__rate_interval])) * 60',
                                "{{from_persona}} → {{to_persona}}",
                            )
                        ],
                        unit="short",
                        description="Persona switches per minute, by transition.",
                    ),
                    Panel(
                        "Transitions",
                        "table",
                        [
                            (
                                f"sum by (from_persona, to_persona) (increase({SWITCHES}"
                                '{to_persona=~"$persona",chatmode=~"$chatmode"}[$__range]))',
                                "",
                            )
                        ],
                        instant=True,
                        description="Switches in the time range, per transition.",
                    ),
                ],
            ),
            (
                "Time and tokens",
                [
                    Panel(
                        "Time in each persona",
                        "bargauge",
                        [
                            (
                                f"sum by (persona) (increase({PERSONA_SECONDS}_sum{{{sel}}}[$__range]))",
                                "{{persona}}",
                            )
                        ],
                        unit="s",
                        instant=True,
                        minimum=0,
                        description="Total time agents spent in each persona in the time range.",
                    ),
                    Panel(
                        "Tokens by persona and model",
                        "timeseries",
                        [
                            (
                                f'sum by (persona, model) (rate({TOKENS}{{{sel},model=~"$model"}}'
                                "[$__rate_interval])) * 60",
                                "{{persona}} {{model}}",
                            )
                        ],
                        unit="short",
                        description="Tokens per minute.",
                        custom=STACKED,
                    ),
                ],
            ),
            (
                "Budgets",
                [
                    Panel(
                        "Budget remaining",
                        "bargauge",
                        [
                            (
                                f'{c.TOKEN_BUDGET_REMAINING.prometheus_name}{{persona=~"$persona"}}',
                                "{{persona}}",
                            )
                        ],
                        instant=True,
                        description="Tokens left in each persona-wide budget for its period, "
                        "for the whole fleet. Negative when overspent.",
                        thresholds=[("red", None), ("green", 0)],
                    ),
                    Panel(
                        "Budget used",
                        "gauge",
                        [
                            (
                                f'{c.BUDGET_USED_RATIO}{{persona=~"$persona",model="any",workflow="any"}}',
                                "{{persona}} ({{period}})",
                            )
                        ],
                        unit="percentunit",
                        instant=True,
                        description="Share of each persona-wide budget used in its period. "
                        "Thresholds from budgets.yaml.",
                        thresholds=[("green", None), ("orange", warning_ratio), ("red", 1.0)],
                        minimum=0,
                        maximum=1,
                    ),
                ],
            ),
            _pipeline_row(),
        ],
    )


def workflow_performance() -> dict[str, Any]:
    """Stage durations, quality gates and runs."""
    stage_sel = 'workflow=~"$workflow",persona=~"$persona"'
    return _dashboard(
        "hypertool-workflow-performance",
        "hypertool / Workflow performance",
        "How long stages take, how often their quality gates pass, how many runs complete.",
        [
            _variable("workflow", GATES, n.WORKFLOW),
            _variable("persona", f"{STAGE_SECONDS}_count", n.PERSONA),
        ],
        [
            (
                "Stages",
                [
                    Panel(
                        "Stage duration p50 and p95",
                        "timeseries",
                        [
                            (
                                f"histogram_quantile({q}, sum by (workflow, stage, le) (rate("
                                f"{STAGE_SECONDS}_bucket{{{stage_sel}}}[$__rate_interval])))",
                                f"p{int(q * 100)} {{{{workflow}}}}/{{{{stage}}}}",
                            )
                            for q in (0.5, 0.95)
                        ],
                        unit="s",
                    ),
                    Panel(
                        "Slowest stages (p95)",
                        "bargauge",
                        [
                            (
                                f"topk(10, histogram_quantile(0.95, sum by (workflow, stage, le) (rate("
                                f"{STAGE_SECONDS}_bucket{{{stage_sel}}}[$__range]))))",
                                "{{workflow}}/{{stage}}",
                            )
                        ],
                        unit="s",
                        instant=True,
                        minimum=0,
                        transformations=SORT_DESCENDING,
                    ),
                ],
            ),
            (
                "Quality gates",
                [
                    Panel(
                        "Quality-gate pass rate",
                        "timeseries",
                        [
                            (
                                f"sum by (workflow) (increase({GATES}"
                                '{result="passed",workflow=~"$workflow"}[$__rate_interval])) / '
                                f"sum by (workflow) (increase({GATES}"
                                '{workflow=~"$workflow"}[$__rate_interval]))',
                                "{{workflow}}",
                            )
                        ],
                        unit="percentunit",
                    ),
                    Panel(
                        "Failing gates",
                        "table",
                        [
                            (
                                f"sum by (workflow, stage) (increase({GATES}"
                                '{result="failed",workflow=~"$workflow"}[$__range]))',
                                "",
                            )
                        ],
                        instant=True,
                        description="Failed quality gates in the time range.",
                    ),
                ],
            ),
            (
                "Runs",
                [
                    Panel(
                        "Runs per hour",
                        "timeseries",
                        [
                            (
                                f'sum by (workflow, result) (rate({RUNS}{{workflow=~"$workflow"}}'
                                "[$__rate_interval])) * 3600",
                                "{{workflow}} {{result}}",
                            )
                        ],
                        custom=STACKED,
                        width=24,
                    ),
                ],
            ),
            _pipeline_row(),
        ],
    )


def budgets_and_cost(warning_ratio: float) -> dict[str, Any]:
    """Period usage against budgets, burn rates, predicted exhaustion, cost."""
    budget_sel = 'persona=~"$persona",model=~"$model|any",workflow=~"$workflow|any"'
    cost_sel = 'persona=~"$persona",model=~"$model"'
    return _dashboard(
        "hypertool-budgets-cost",
        "hypertool / Budgets and cost",
        "Fleet-wide token budgets per period, how fast they burn, and what the tokens cost.",
        [
            _variable("persona", c.BUDGET_LIMIT, n.PERSONA),
            _variable("model", TOKENS, n.MODEL),
            _variable("workflow", c.WORKFLOW_TOKENS.prometheus_name, n.WORKFLOW),
        ],
        [
            (
                "Budgets",
                [
                    Panel(
                        "Period usage against budget",
                        "timeseries",
                        [
                            (
                                f"{c.BUDGET_USED}{{{budget_sel}}}",
                                "used {{persona}} {{model}} {{workflow}}",
                            ),
                            (
                                f"{c.BUDGET_LIMIT}{{{budget_sel}}}",
                                "limit {{persona}} {{model}} {{workflow}}",
                            ),
                        ],
                        description="Tokens the fleet used in each budget's rolling period.",
                    ),
                    Panel(
                        "Budget used",
                        "bargauge",
                        [
                            (
                                f"{c.BUDGET_USED_RATIO}{{{budget_sel}}}",
                                "{{persona}} {{model}} {{workflow}} ({{period}})",
                            )
                        ],
                        unit="percentunit",
                        instant=True,
                        thresholds=[("green", None), ("orange", warning_ratio), ("red", 1.0)],
                        minimum=0,
                        maximum=1,
                    ),
                    Panel(
                        "Burn rate",
                        "timeseries",
                        [
                            (
                                f"{c.BUDGET_BURN_RATE_LONG}{{{budget_sel}}}",
                                "long {{persona}} ({{period}})",
                            ),
                            (
                                f"{c.BUDGET_BURN_RATE_SHORT}{{{budget_sel}}}",
                                "short {{persona}} ({{period}})",
                            ),
                        ],
                        description="Share of the budget a whole period would use at the pace of the "
                        "long (period/24) and short (period/288) windows. Above 1 it runs "
                        "out early.",
                        thresholds=[("green", None), ("red", 1.0)],
                        custom=THRESHOLD_LINE,
                    ),
                    Panel(
                        "Predicted exhaustion",
                        "bargauge",
                        [
                            (
                                f'{c.TOKEN_BUDGET_REMAINING.prometheus_name}{{persona=~"$persona"}} / '
                                f'sum by (persona) (rate({TOKENS}{{persona=~"$persona"}}[1h]))',
                                "{{persona}}",
                            )
                        ],
                        unit="s",
                        instant=True,
                        minimum=0,
                        description="Time until each persona-wide budget runs out at the last "
                        "hour's pace (negative: already overspent).",
                    ),
                ],
            ),
            (
                "Cost",
                [
                    Panel(
                        "Cost in USD per hour",
                        "timeseries",
                        [
                            (
                                f"sum by (persona, model) (rate({COST}{{{cost_sel}}}[$__rate_interval])) * 3600",
                                "{{persona}} {{model}}",
                            )
                        ],
                        unit="currencyUSD",
                        custom=STACKED,
                    ),
                    Panel(
                        "Cost in the time range",
                        "table",
                        [
                            (
                                f"sum by (persona, model) (increase({COST}{{{cost_sel}}}[$__range]))",
                                "",
                            )
                        ],
                        unit="currencyUSD",
                        instant=True,
                    ),
                    Panel(
                        "Input and output tokens",
                        "timeseries",
                        [
                            (
                                f"sum by (token_type) (rate({LLM_TOKENS}{{{cost_sel}}}[$__rate_interval]))"
                                " * 60",
                                "{{token_type}}",
                            )
                        ],
                    ),
                    Panel(
                        "LLM call duration p95",
                        "timeseries",
                        [
                            (
                                f"histogram_quantile(0.95, sum by (model, le) (rate({LLM_SECONDS}_bucket"
                                f"{{{cost_sel}}}[$__rate_interval])))",
                                "{{model}}",
                            )
                        ],
                        unit="s",
                    ),
                ],
            ),
            _pipeline_row(),
        ],
    )


def render_all(root: Path) -> dict[str, str]:
    """File name -> JSON text of every dashboard."""
    budgets = load_budgets(root / "budgets.yaml")
    warning = min((b.warning_ratio for b in budgets), default=DEFAULT_WARNING_RATIO)
    dashboards = {
        "persona-overview.json": persona_overview(warning),
        "workflow-performance.json": workflow_performance(),
        "budgets-and-cost.json": budgets_and_cost(warning),
    }
    return {
        name: json.dumps(d, indent=2, ensure_ascii=False) + "\n" for name, d in dashboards.items()
    }


def render_dashboards(root: Path, *, check: bool) -> bool:
    """Write (or with ``check`` compare) grafana/dashboards; True when already current."""
    current = True
    for name, text in render_all(root).items():
        path = root / DASHBOARDS_DIR / name
        if not path.is_file() or path.read_text() != text:
            current = False
            if not check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
    return current
