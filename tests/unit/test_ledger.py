"""The ledger processor (collector-config/components/ledgerprocessor) and where it sits.

Its Go tests run in tests/components/test_components.py; the end-to-end behaviour
(repeated SIGKILLs, a flooding producer) is in tests/e2e/test_crash.py and test_guard.py.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from hypertool_agent import Budget, load_budgets
from hypertool_agent import names as n
from hypertool_tools import contract as c
from hypertool_tools.render.collector import pinned_values

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "collector-config" / "otelcol.yaml"
COMPONENTS = ROOT / "collector-config" / "generated" / "components.yaml"
#: The library's spool deletes an export this old unsent (docs/reliability.md).
SPOOL_MAX_AGE_HOURS = 168


def test_nothing_acknowledges_an_export_before_the_ledger_has_it() -> None:
    """No pipeline holds data between the receiver and the ledger (no batch processor)."""
    config = yaml.safe_load(CONFIG.read_text())
    pipelines = config["service"]["pipelines"]
    for name, pipeline in pipelines.items():
        assert "batch" not in pipeline.get("processors", []), name
    assert pipelines["metrics/fleet"]["processors"][-1] == "ledger"
    assert pipelines["metrics/fleet"]["exporters"] == ["prometheus"]
    assert "batch" not in config["processors"]


def test_ledger_names_come_from_the_contract() -> None:
    """The ledger's bound, fold value and counters are the contract's."""
    ledger = yaml.safe_load(COMPONENTS.read_text())["processors"]["ledger"]
    assert ledger["fold_value"] == n.OTHER
    assert ledger["max_label_values"] == (
        f"${{env:{c.FLEET_LABEL_VALUES_ENV}:-{c.FLEET_LABEL_VALUES}}}"
    )
    # A library process within its own bound is never folded by the collector.
    assert (
        ledger["producer_quota"] == f"${{env:HYPERTOOL_PRODUCER_LABEL_QUOTA:-{n.MAX_LABEL_VALUES}}}"
    )
    folded = c.PIPELINE_FOLDED_POINTS
    names = ledger["folded_metric"]
    assert names["name"] == folded.otel_name
    assert (names["metric_label"], names["key_label"], names["producer_label"]) == folded.labels
    assert names["max_producer_bytes"] == n.MAX_LABEL_LENGTH
    unused = ledger["unused_metric"]
    assert unused["name"] == c.PIPELINE_UNUSED.otel_name
    labels = (unused["signal_label"], unused["reason_label"], unused["producer_label"])
    assert labels == c.PIPELINE_UNUSED.labels
    assert unused["unknown_producer"] == c.UNKNOWN_PRODUCER
    reasons = unused["reasons"]
    assert (reasons["too_many_series"], reasons["duplicate"]) == (
        c.REASON_TOO_MANY_SERIES,
        c.REASON_DUPLICATE,
    )
    # Only the library's exports carry delivery ids.
    assert unused["duplicate_producer"] == n.SCOPE_NAME


def test_every_budgeted_name_is_pinned() -> None:
    """Each persona, model and workflow budgets.yaml names is always kept by the ledger."""
    pinned = yaml.safe_load(COMPONENTS.read_text())["processors"]["ledger"]["pinned_values"]
    for budget in load_budgets(ROOT / "budgets.yaml"):
        assert budget.persona in pinned[n.PERSONA]
        if budget.model is not None:
            assert budget.model in pinned[n.MODEL]
        if budget.workflow is not None:
            assert budget.workflow in pinned[n.WORKFLOW]


def test_the_delivery_window_outlasts_the_spool() -> None:
    """A resend can come up to the spool's age limit late: the ledger remembers longer."""
    window = yaml.safe_load(COMPONENTS.read_text())["processors"]["ledger"]["delivery_window"]
    assert window == f"${{env:{c.DELIVERY_WINDOW_ENV}:-{c.DELIVERY_WINDOW}}}"
    assert int(c.DELIVERY_WINDOW.removesuffix("h")) > SPOOL_MAX_AGE_HOURS


def test_the_origin_reaches_the_ledger_under_one_set_of_names() -> None:
    """agent_sums and genai write the origin keys the ledger reads and removes."""
    config = yaml.safe_load(COMPONENTS.read_text())
    ledger = config["processors"]["ledger"]["origin"]
    sums = config["connectors"]["agent_sums"]["origin"]
    genai = config["connectors"]["genai"]["origin"]
    assert sums["delivery_from"] == n.DELIVERY_ID
    for key in ("delivery", "producer", "instance"):
        assert sums[key] == ledger[key]
    for key in ("producer", "instance"):
        assert genai[key] == ledger[key]
    assert (genai["producer_from"], genai["instance_from"]) == (
        c.SERVICE_NAME,
        c.SERVICE_INSTANCE_ID,
    )


def test_fleet_sums_carry_no_per_start_identity() -> None:
    """Both connectors write one fleet resource and scope: a restart begins no new stream."""
    connectors = yaml.safe_load(COMPONENTS.read_text())["connectors"]
    for name in ("agent_sums", "genai"):
        assert connectors[name]["resource"] == c.FLEET_RESOURCE
        assert connectors[name]["scope"] == c.FLEET_SCOPE


def test_narrowed_budgets_pin_their_model_and_workflow() -> None:
    """A budget narrowed to a model or a workflow keeps that value too, each name once."""
    budgets = [
        Budget(persona="qa", tokens=10),
        Budget(persona="qa", tokens=5, model="gpt-4o"),
        Budget(persona="dev", tokens=5, workflow="release"),
    ]
    assert pinned_values(budgets) == {
        n.PERSONA: ["dev", "qa"],
        n.MODEL: ["gpt-4o"],
        n.WORKFLOW: ["release"],
    }
    assert pinned_values([]) == {}
