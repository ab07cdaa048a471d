"""Dashboards as code: current JSON, provisioned datasources, contract metric names."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from hypertool_agent import Budget
from hypertool_tools import contract as c
from hypertool_tools.render.dashboards import DASHBOARDS_DIR, render_all, render_dashboards

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = sorted((ROOT / DASHBOARDS_DIR).glob("*.json"))
#: File -> (uid, title): what Grafana links, bookmarks and provisioning know them by.
EXPECTED = {
    "budgets-and-cost.json": ("hypertool-budgets-cost", "hypertool / Budgets and cost"),
    "persona-overview.json": ("hypertool-persona-overview", "hypertool / Persona overview"),
    "workflow-performance.json": (
        "hypertool-workflow-performance",
        "hypertool / Workflow performance",
    ),
}


def dashboards() -> list[dict[str, Any]]:
    """The committed dashboards."""
    return [json.loads(p.read_text()) for p in DASHBOARDS]


def queries(dashboard: dict[str, Any]) -> list[str]:
    """Every PromQL expression of a dashboard: panels, variables and annotations."""
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    exprs += [v["query"]["query"] for v in dashboard["templating"]["list"]]
    exprs += [a["expr"] for a in dashboard["annotations"]["list"]]
    return exprs


def datasources(node: Any) -> Iterator[dict[str, Any]]:  # noqa: ANN401 - any JSON value
    """Every datasource reference in a JSON document, however deep."""
    if isinstance(node, dict):
        if isinstance(node.get("datasource"), dict):
            yield node["datasource"]
        for value in node.values():
            yield from datasources(value)
    elif isinstance(node, list):
        for value in node:
            yield from datasources(value)


def project(tmp_path: Path, budgets: str | None = None) -> Path:
    """A copy of what rendering reads and writes: budgets.yaml and grafana/dashboards."""
    shutil.copytree(ROOT / DASHBOARDS_DIR, tmp_path / DASHBOARDS_DIR)
    budgets_file = tmp_path / "budgets.yaml"
    if budgets is None:
        shutil.copy(ROOT / "budgets.yaml", budgets_file)
    else:
        budgets_file.write_text(budgets)
    return tmp_path


def orange_steps(rendered: dict[str, str]) -> set[float]:
    """Where the budget gauges of every rendered dashboard turn orange."""
    return {
        step["value"]
        for text in rendered.values()
        for panel in json.loads(text)["panels"]
        if panel["title"] == "Budget used"
        for step in panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
        if step["color"] == "orange"
    }


def test_committed_dashboards_are_current() -> None:
    """grafana/dashboards is exactly what `hypertool dashboards render` makes."""
    assert [p.name for p in DASHBOARDS] == sorted(EXPECTED)
    assert render_dashboards(ROOT, check=True), "stale: run `hypertool dashboards render`"


def test_a_stale_dashboard_fails_the_check_and_render_rewrites_it(tmp_path: Path) -> None:
    """--check reports an edited or missing file and leaves it; render restores both."""
    root = project(tmp_path)
    edited = root / DASHBOARDS_DIR / "persona-overview.json"
    edited.write_text(edited.read_text().replace("Switch rate", "Switches"))
    (root / DASHBOARDS_DIR / "budgets-and-cost.json").unlink()

    assert not render_dashboards(root, check=True)
    assert "Switches" in edited.read_text()
    assert not (root / DASHBOARDS_DIR / "budgets-and-cost.json").exists()

    assert not render_dashboards(root, check=False)
    assert render_dashboards(root, check=True)
    assert edited.read_text() == (ROOT / DASHBOARDS_DIR / edited.name).read_text()


def test_every_dashboard_keeps_its_uid_and_title() -> None:
    """Each file holds the dashboard its uid and title promise, tagged for the link menu."""
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        assert (dashboard["uid"], dashboard["title"]) == EXPECTED[path.name]
        assert dashboard["tags"] == ["hypertool"]


def test_budget_thresholds_follow_budgets_yaml(tmp_path: Path) -> None:
    """The gauges turn orange at the lowest warning ratio, or Budget's default without any."""
    custom = """\
budgets:
  - {persona: a, tokens: 10, warning_ratio: 0.6}
  - {persona: b, tokens: 10}
"""
    assert orange_steps(render_all(project(tmp_path / "custom", custom))) == {0.6}
    none = render_all(project(tmp_path / "none", "budgets: []\n"))
    assert orange_steps(none) == {Budget(persona="x", tokens=1).warning_ratio}


def test_every_datasource_uid_is_provisioned() -> None:
    """Panels, targets, variables and annotations only name provisioned datasources."""
    provisioned = yaml.safe_load(
        (ROOT / "grafana/provisioning/datasources/datasources.yml").read_text()
    )
    types = {d["uid"]: d["type"] for d in provisioned["datasources"]}
    for dashboard in dashboards():
        used = list(datasources(dashboard))
        assert used, dashboard["uid"]
        for ref in used:
            assert ref["uid"] in types, (dashboard["uid"], ref)
            assert ref["type"] == types[ref["uid"]], (dashboard["uid"], ref)


def test_every_metric_a_panel_queries_is_in_the_names_contract() -> None:
    """No dashboard asks for a series the stack does not make."""
    known = {
        "up",
        "ALERTS",
        *c.BUDGET_SERIES,
        *c.COLLECTOR_TELEMETRY,
        c.TOKEN_BUDGET_REMAINING.prometheus_name,
    }
    for metric in (*c.ALL_METRICS, *c.COLLECTOR_METRICS):
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


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_panels_fit_the_grid_without_overlapping(path: Path) -> None:
    """Every panel lies inside Grafana's 24 columns and covers no other panel."""
    taken: set[tuple[int, int]] = set()
    for panel in json.loads(path.read_text())["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] >= 0, panel["title"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        cells = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & taken, panel["title"]
        taken |= cells


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
