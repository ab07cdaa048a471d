"""Alert and recording rules: the conventions, and a promtool test for every alert."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from hypertool_tools import contract as c

ROOT = Path(__file__).resolve().parents[2]
RULE_FILES = sorted((ROOT / "prometheus/rules").glob("*.yml"))
#: The budget alerts' source, appended to the rendered budgets.yml.
BUDGET_ALERTS = ROOT / "prometheus/budget-alerts.yml"


def rules() -> list[dict[str, Any]]:
    """Every rule Prometheus loads."""
    return [
        r for f in RULE_FILES for g in yaml.safe_load(f.read_text())["groups"] for r in g["rules"]
    ]


def alerts() -> list[dict[str, Any]]:
    """Every alerting rule."""
    return [r for r in rules() if "alert" in r]


#: What PromQL writes with parentheses after it that is not a function call.
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_KEYWORDS = {
    *("and", "or", "unless", "bool", "offset", "anchored", "smoothed", "inf", "nan"),
    *("by", "without", "on", "ignoring", "group_left", "group_right"),
}
_IDENTIFIER = re.compile(r"(?<![\w.:])([A-Za-z_:][\w:]*)(\s*\()?")


def metric_names(expr: str) -> set[str]:
    """The series names a PromQL expression reads: no functions, labels or keywords."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # label values
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", expr)  # matchers and ranges
    expr = _GROUPING.sub(" ", expr)  # label lists
    return {
        match[1]
        for match in _IDENTIFIER.finditer(expr)
        if not match[2] and match[1].lower() not in _KEYWORDS
    }


def contract_names() -> set[str]:
    """Every series name the names contract says the stack makes, and Prometheus' own."""
    names = {
        "up",
        "ALERTS",
        *c.BUDGET_SERIES,
        *c.COLLECTOR_TELEMETRY,
        c.TOKEN_BUDGET_REMAINING.prometheus_name,
    }
    for series in c.COLLECTOR_METRICS:
        name = series.prometheus_name
        names.add(name)
        if series.kind == "histogram":
            names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    return names


def test_metric_names_skip_functions_labels_and_keywords() -> None:
    """The name extraction the next test relies on finds series names, and only those."""
    expr = (
        'histogram_quantile(0.95, sum by (stage, le) (rate(a_bucket{le="1e3"}[5m] offset 1h)))'
        " / on (stage) group_left b:c:d and bool 2e3 unless absent(up)"
    )
    assert metric_names(expr) == {"a_bucket", "b:c:d", "up"}


def test_every_metric_a_rule_reads_is_in_the_names_contract() -> None:
    """Rules and budget alerts read only contract series or series other rules record."""
    files = [*RULE_FILES, BUDGET_ALERTS]
    every = [r for f in files for g in yaml.safe_load(f.read_text())["groups"] for r in g["rules"]]
    known = contract_names() | {r["record"] for r in every if "record" in r}
    read: set[str] = set()
    for rule in every:
        names = metric_names(rule["expr"])
        assert names <= known, (rule.get("alert") or rule.get("record"), names - known)
        read |= names
    # The check reaches every kind of name: agent series, collector telemetry, budgets.
    assert {
        c.TOKENS_USED.prometheus_name,
        c.PIPELINE_REJECTED_POINTS.prometheus_name,
        "otelcol_receiver_accepted_spans",
        c.BUDGET_USED_RATIO,
        "up",
    } <= read


def test_every_required_alert_exists() -> None:
    """The alerts the product promises are all defined."""
    names = {a["alert"] for a in alerts()}
    assert {
        "HypertoolTokenBudgetExhausted",
        "HypertoolTokenBudgetNearlyExhausted",
        "HypertoolTokenBudgetExhaustionPredicted",
        "HypertoolQualityGateFailureRateHigh",
        "HypertoolPersonaSwitchingExcessive",
        "HypertoolWorkflowStageSlow",
        "HypertoolCollectorDown",
        "HypertoolPipelineNoData",
        "HypertoolCounterResetStorm",
    } <= names


def test_alerts_follow_the_conventions() -> None:
    """Each alert is named, timed, labelled and annotated as the conventions require."""
    runbook = (ROOT / "docs/runbook.md").read_text()
    anchors = {h.strip().lower() for h in re.findall(r"^## (\w+)$", runbook, re.MULTILINE)}
    for alert in alerts():
        name = alert["alert"]
        assert re.fullmatch(r"Hypertool(?:[A-Z][a-z0-9]+)+", name), name
        assert re.fullmatch(r"\d+[smh]", alert["for"]), name
        assert alert["labels"]["severity"] in {"critical", "warning"}, name
        notes = alert["annotations"]
        assert notes["summary"], name
        assert re.search(r"\{\{ (with )?\$(labels\.|value)", notes["description"]), name
        assert notes["runbook_url"] == f"docs/runbook.md#{name.lower()}", name
        assert name.lower() in anchors, f"docs/runbook.md has no section {name}"


def test_recording_rules_are_named_level_metric_operations() -> None:
    """Recording rules are level:metric:operations, but for the seed's remaining-budget name."""
    for rule in (r for r in rules() if "record" in r):
        name = rule["record"]
        assert (
            re.fullmatch(r"[a-z_]+:hypertool_[a-z_]+:[a-z0-9_]+", name)
            or name == "hypertool_persona_token_budget_remaining"
        ), name


def test_every_alert_has_a_firing_and_a_quiet_promtool_case() -> None:
    """prometheus/tests has, per alert, a case where it fires and one where it does not."""
    cases: dict[str, set[bool]] = {}
    for path in (ROOT / "prometheus/tests").glob("*_test.yml"):
        for test in yaml.safe_load(path.read_text())["tests"]:
            for case in test.get("alert_rule_test", []):
                cases.setdefault(case["alertname"], set()).add(bool(case["exp_alerts"]))
    for alert in alerts():
        assert cases.get(alert["alert"]) == {True, False}, alert["alert"]
