"""The ledger processor (collector-config/components/ledgerprocessor) and where it sits.

Its Go tests run in test_components.py; the end-to-end behaviour
(repeated SIGKILLs, a flooding producer) is in tests/e2e/test_crash.py and test_guard.py.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from hypertool_agent import names as n
from hypertool_tools import contract as c

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "collector-config" / "otelcol.yaml"


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
    ledger = yaml.safe_load(CONFIG.read_text())["processors"]["ledger"]
    assert ledger["fold_value"] == n.OTHER
    assert (
        ledger["max_label_values"] == f"${{env:HYPERTOOL_MAX_LABEL_VALUES:-{n.MAX_LABEL_VALUES}}}"
    )
    folded = c.PIPELINE_FOLDED_POINTS
    assert ledger["folded_metric"]["name"] == folded.otel_name
    assert (ledger["folded_metric"]["metric_label"], ledger["folded_metric"]["key_label"]) == (
        folded.labels
    )
    unused = ledger["unused_metric"]
    assert unused["name"] == c.PIPELINE_UNUSED.otel_name
    assert tuple(unused["labels"]) == c.PIPELINE_UNUSED.labels
    assert unused["labels"][n.REASON] == c.REASON_TOO_MANY_SERIES


def test_restarts_do_not_begin_new_streams() -> None:
    """The connector's per-start instance id is removed before the ledger keys streams."""
    labels = yaml.safe_load(CONFIG.read_text())["processors"]["transform/labels"]
    resource = labels["metric_statements"][0]
    assert resource["context"] == "resource"
    assert any(c.CONNECTOR_INSTANCE_ATTRIBUTE in st for st in resource["statements"])
