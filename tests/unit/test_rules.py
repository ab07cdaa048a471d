"""Alert and recording rules: the conventions, and a promtool test for every alert."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
RULE_FILES = sorted((ROOT / "prometheus/rules").glob("*.yml"))


def rules() -> list[dict[str, Any]]:
    """Every rule Prometheus loads."""
    return [
        r for f in RULE_FILES for g in yaml.safe_load(f.read_text())["groups"] for r in g["rules"]
    ]


def alerts() -> list[dict[str, Any]]:
    """Every alerting rule."""
    return [r for r in rules() if "alert" in r]


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
