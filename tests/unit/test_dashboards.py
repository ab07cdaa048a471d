"""Dashboards as code: current JSON, provisioned datasources, contract metric names."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from hypertool_tools import contract as c
from hypertool_tools.render.dashboards import render_dashboards

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = sorted((ROOT / "grafana/dashboards").glob("*.json"))


def dashboards() -> list[dict[str, Any]]:
    """The committed dashboards."""
    return [json.loads(p.read_text()) for p in DASHBOARDS]


def queries(dashboard: dict[str, Any]) -> list[str]:
    """Every PromQL expression of a dashboard: panels, variables and annotations."""
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    exprs += [v["query"]["query"] for v in dashboard["templating"]["list"]]
    exprs += [a["expr"] for a in dashboard["annotations"]["list"]]
    return exprs


def test_committed_dashboards_are_current() -> None:
    """grafana/dashboards is exactly what `hypertool dashboards render` makes."""
    assert len(DASHBOARDS) == 3
    assert render_dashboards(ROOT, check=True), "stale: run `hypertool dashboards render`"


def test_every_datasource_uid_is_provisioned() -> None:
    """Panels, targets and variables only name datasources Grafana is provisioned with."""
    provisioned = yaml.safe_load(
        (ROOT / "grafana/provisioning/datasources/datasources.yml").read_text()
    )
    uids = {d["uid"] for d in provisioned["datasources"]}
    for dashboard in dashboards():
        text = json.dumps(dashboard)
        used = set(re.findall(r'"uid": "([^"]+)"', text)) - {dashboard["uid"]}
        assert used, dashboard["uid"]
        assert used <= uids, (dashboard["uid"], used - uids)


def test_every_metric_a_panel_queries_is_in_the_names_contract() -> None:
    """No dashboard asks for a series the stack does not make."""
    known = {
        "up",
        "ALERTS",
        *c.BUDGET_SERIES,
        *c.COLLECTOR_TELEMETRY,
        c.TOKEN_BUDGET_REMAINING.prometheus_name,
    }
    for metric in (*c.ALL_METRICS, *c.EXTRA_METRICS, c.PIPELINE_REJECTED_POINTS):
        name = metric.prometheus_name
        known |= {name, f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    metric_like = re.compile(
        r"\b(?:hypertool_\w+|\w+:hypertool_\w+:\w+|otelcol_\w+|up|ALERTS)\b"
        r"|([A-Za-z_:][\w:]*)\{"  # any other name with a selector
    )
    for dashboard in dashboards():
        for expr in queries(dashboard):
            for match in metric_like.finditer(expr):
                name = match.group(1) or match.group(0)
                assert name in known, (dashboard["uid"], name, expr)


def test_every_variable_is_used_by_a_panel() -> None:
    """Template variables filter at least one panel each."""
    for dashboard in dashboards():
        panel_exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p.get("targets", []))
        for variable in dashboard["templating"]["list"]:
            assert f"${variable['name']}" in panel_exprs, (dashboard["uid"], variable["name"])


def test_dashboards_cover_what_operators_ask() -> None:
    """The three dashboards carry the panels the product promises, and a health row."""
    titles = {d["uid"]: {p["title"] for p in d["panels"]} for d in dashboards()}
    persona = titles["hypertool-persona-overview"]
    assert {
        "Switch rate",
        "Transitions",
        "Time in each persona",
        "Tokens by persona and model",
        "Budget remaining",
        "Budget used",
        "Pipeline health",
    } <= persona
    assert {
        "Stage duration p50 and p95",
        "Quality-gate pass rate",
        "Failing gates",
        "Slowest stages (p95)",
        "Runs per hour",
        "Pipeline health",
    } <= titles["hypertool-workflow-performance"]
    assert {
        "Period usage against budget",
        "Burn rate",
        "Predicted exhaustion",
        "Cost in USD per hour",
        "Pipeline health",
    } <= titles["hypertool-budgets-cost"]
