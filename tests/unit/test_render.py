"""The collector's generated settings, rendered from the names contract."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from hypertool_agent import load_budgets
from hypertool_agent import names as n
from hypertool_tools import contract as c
from hypertool_tools.cli import main
from hypertool_tools.render import RENDERERS
from hypertool_tools.render.collector import (
    COLLECTOR_CONFIG,
    COMPONENTS_FILE,
    FLEET_PIPELINE,
    NAMESPACE,
    components,
    render_collector,
    render_components,
)
from hypertool_tools.render.kubernetes import GENERATED_DIR

ROOT = Path(__file__).resolve().parents[2]
BUDGETS = load_budgets(ROOT / "budgets.yaml")
TRACES_BACKEND = ROOT / "collector-config" / "traces-backend.yaml"


def merged(*overlays: Path) -> dict[str, Any]:
    """otelcol.yaml with the generated settings merged over it, as the collector does."""

    def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
        for key, value in over.items():
            if isinstance(value, dict) and isinstance(base.get(key), dict):
                merge(base[key], value)
            else:
                base[key] = value  # lists and scalars replace, as in confmap
        return base

    config: dict[str, Any] = yaml.safe_load((ROOT / COLLECTOR_CONFIG).read_text())
    for overlay in (ROOT / COMPONENTS_FILE, *overlays):
        merge(config, yaml.safe_load(overlay.read_text()))
    return config


def genai() -> dict[str, Any]:
    """The genai connector's settings."""
    settings: dict[str, Any] = components(BUDGETS)["connectors"]["genai"]
    return settings


def checkout(tmp_path: Path) -> Path:
    """A copy of the files `hypertool render` reads and writes."""
    for folder in ("collector-config", "prometheus", "grafana", "deploy"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    for name in ("budgets.yaml", ".env"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    """Replace the first occurrence of ``old`` in ``path``."""
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def test_committed_components_are_current() -> None:
    """collector-config/generated/components.yaml is what `hypertool render` makes."""
    assert render_collector(ROOT, check=True), "stale: run `hypertool render`"
    assert (ROOT / COMPONENTS_FILE).read_text() == render_components(BUDGETS)


def test_the_hand_written_config_is_short_and_generates_nothing() -> None:
    """otelcol.yaml stays under 300 lines and configures none of our components."""
    text = (ROOT / COLLECTOR_CONFIG).read_text()
    assert len(text.splitlines()) <= 300
    config = yaml.safe_load(text)
    for kind, ours in components(BUDGETS).items():
        assert not set(ours) & set(config.get(kind) or {}), kind


def test_every_component_a_pipeline_names_is_configured_and_used() -> None:
    """With and without the traces backend, pipelines and components match exactly."""
    for config in (merged(), merged(TRACES_BACKEND)):
        pipelines = config["service"]["pipelines"]
        used = {
            name
            for pipeline in pipelines.values()
            for role in ("receivers", "processors", "exporters")
            for name in pipeline.get(role, [])
        }
        configured = {
            name
            for kind in ("receivers", "processors", "exporters", "connectors")
            for name in config.get(kind) or {}
        }
        assert used == configured


def steps(config: dict[str, Any], start: str = "otlp") -> int:
    """The most components one item crosses from ``start`` to an exporter, both counted."""
    pipelines = config["service"]["pipelines"].values()
    connectors = set(config.get("connectors") or {})

    def longest(receiver: str) -> int:
        best = 0
        for pipeline in pipelines:
            if receiver not in pipeline["receivers"]:
                continue
            for exporter in pipeline["exporters"]:
                tail = 1 + longest(exporter) if exporter in connectors else 1
                best = max(best, len(pipeline.get("processors", [])) + tail)
        return best

    return 1 + longest(start)


def test_one_token_crosses_at_most_six_steps() -> None:
    """Receiver, admission, memory_limiter, a connector, the ledger, the exporter."""
    assert steps(merged()) == 6
    assert steps(merged(TRACES_BACKEND)) == 6  # the backend's branch ends in its exporter


def test_memory_limiter_runs_once_per_item() -> None:
    """Only the pipelines the receiver feeds limit memory; after a connector, none does."""
    for config in (merged(), merged(TRACES_BACKEND)):
        for name, pipeline in config["service"]["pipelines"].items():
            fed_by_otlp = pipeline["receivers"] == ["otlp"]
            assert ("memory_limiter" in pipeline.get("processors", [])) == fed_by_otlp, name


def test_agent_sums_sums_each_counter_of_the_contract_by_its_labels() -> None:
    """One counter entry per library counter, with the contract's name, unit and labels."""
    settings = components(BUDGETS)["connectors"]["agent_sums"]
    assert settings["prefix"] == NAMESPACE
    assert settings["sums"] == [FLEET_PIPELINE]
    assert settings["skip_others"] is True
    assert [(e["name"], e["unit"], tuple(e["labels"])) for e in settings["counters"]] == [
        (s.otel_name, s.unit, s.labels) for s in c.FLEET_COUNTERS
    ]


def test_genai_writes_the_contracts_series() -> None:
    """Each series genai writes has the contract's name, unit and labels."""
    series = genai()["series"]
    for key, contract in (
        ("tokens", c.TOKENS_USED),
        ("workflow_tokens", c.WORKFLOW_TOKENS),
        ("tokens_by_type", c.LLM_TOKENS),
        ("cost", c.LLM_COST),
        ("unpriced", c.LLM_UNPRICED_TOKENS),
        ("switches", c.PERSONA_SWITCHES),
    ):
        entry = series[key]
        assert (entry["name"], entry["unit"], tuple(entry["labels"])) == (
            contract.otel_name,
            contract.unit,
            contract.labels,
        ), key
    unused = genai()["unused"]
    labels = (unused["signal_label"], unused["reason_label"], unused["producer_label"])
    assert (unused["name"], labels) == (c.PIPELINE_UNUSED.otel_name, c.PIPELINE_UNUSED.labels)


def test_genai_reads_labels_in_the_contracts_order() -> None:
    """Every foreign label's sources, first that is set wins, constants as value:."""
    labels = genai()["labels"]
    assert list(labels) == list(c.FOREIGN_LABEL_SOURCES)
    # An explicit persona first, and each of its sources is one genai treats as explicit.
    explicit = genai()["attribution"]["explicit"]
    assert labels[n.PERSONA][: len(explicit)] == explicit == list(c.EXPLICIT_PERSONA)
    assert labels[n.PERSONA][len(explicit)] == f"point:{n.GEN_AI_AGENT_NAME}"
    assert labels[n.MODEL][-1] == f"value:{n.UNKNOWN}"


def test_genai_knows_each_foreign_usage_metric_and_span_series() -> None:
    """One usage entry per contract.FOREIGN_TOKENS; one span entry per SPAN_SERIES."""
    settings = genai()
    assert [u["name"] for u in settings["usage"]] == [u.metric for u in c.FOREIGN_TOKENS]
    assert settings["costs"] == [{"name": c.CLAUDE_CODE_COST}]
    spans = settings["span_series"]
    assert [(e["name"], e["span_type"]) for e in spans["series"]] == [
        (s.otel_name, s.span_type) for s in c.SPAN_SERIES
    ]
    assert spans["buckets"] == list(c.DURATION_BUCKETS_SECONDS)
    for entry, series in zip(spans["series"], c.SPAN_SERIES, strict=True):
        assert sorted(entry["labels"]) == sorted(series.labels)


def test_genai_and_agent_sums_write_into_the_same_streams() -> None:
    """The same resource and scope: the ledger adds everyone's usage into one stream."""
    connectors = components(BUDGETS)["connectors"]
    for key in ("resource", "scope"):
        assert connectors["genai"][key] == connectors["agent_sums"][key]


def test_render_check_passes_on_the_repository(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`hypertool render --check` exits 0 here and reports every renderer's target current."""
    monkeypatch.setenv("HYPERTOOL_HOME", str(ROOT))
    assert main(["render", "--check"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split() for line in lines] == [[str(r.target), "current"] for r in RENDERERS]


def test_render_check_fails_on_a_stale_copy_until_rendered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--check exits 1 and names the stale file; `hypertool render` makes it current."""
    monkeypatch.setenv("HYPERTOOL_HOME", str(checkout(tmp_path)))
    edit(tmp_path / COMPONENTS_FILE, "- 0.05", "- 0.01")
    assert main(["render", "--check"]) == 1
    out = capsys.readouterr().out
    lines = [line.split() for line in out.splitlines()]
    assert [str(COMPONENTS_FILE), "stale"] in lines
    # The Kubernetes ConfigMaps carry a copy of the collector config: stale with it.
    assert [str(GENERATED_DIR), "stale"] in lines
    assert out.count("current") == len(RENDERERS) - 2
    assert main(["render"]) == 0
    rendered_lines = capsys.readouterr().out.splitlines()
    assert any(line.split()[:2] == [str(COMPONENTS_FILE), "rendered"] for line in rendered_lines)
    assert main(["render", "--check"]) == 0
    assert (tmp_path / COMPONENTS_FILE).read_text() == (ROOT / COMPONENTS_FILE).read_text()


def test_older_verbs_run_only_their_renderer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`hypertool budgets render --check` looks at the budget rules only."""
    monkeypatch.setenv("HYPERTOOL_HOME", str(checkout(tmp_path)))
    edit(tmp_path / COMPONENTS_FILE, "- 0.05", "- 0.01")
    assert main(["budgets", "render", "--check"]) == 0
    assert capsys.readouterr().out.split() == ["prometheus/rules/budgets.yml", "current"]
    assert main(["dashboards", "render", "--check"]) == 0
    assert capsys.readouterr().out.split() == ["grafana/dashboards", "current"]


def test_admission_comes_first_where_the_otlp_receiver_feeds_and_nowhere_else() -> None:
    """Producers over their share are refused before any work, and before any sum."""
    config = merged(TRACES_BACKEND)
    for name, pipeline in config["service"]["pipelines"].items():
        processors = pipeline.get("processors", [])
        if pipeline["receivers"] == ["otlp"]:
            assert processors[:2] == ["admission", "memory_limiter"], name
        else:
            # A refusal after a connector would come once part of the export is summed.
            assert "admission" not in processors, name
    names = config["processors"]["admission"]["names"]
    assert names["refused_metric"] == c.OTELCOL_ADMISSION_REFUSED
    assert (names["signal_label"], names["reason_label"], names["producer_label"]) == (
        c.ADMISSION_REFUSED_LABELS
    )
    assert names["over_fair_share"] == c.REASON_OVER_FAIR_SHARE
