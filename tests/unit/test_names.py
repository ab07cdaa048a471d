"""The names contract: the agent, the pins and compose agree.

The collector's aggregation blocks are rendered from the contract: tests/unit/test_render.py
checks them. What is checked here is written by hand.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from hypertool_agent import names as n
from hypertool_tools import contract as c
from hypertool_tools.render.rules import windowed_usage
from hypertool_tools.stack.build import manifest_version, read_env_file

ROOT = Path(__file__).resolve().parents[2]


def load(relative: str) -> Any:  # noqa: ANN401 - parsed YAML
    """Parse a YAML file of the repository."""
    return yaml.safe_load((ROOT / relative).read_text())


def test_prometheus_names_follow_the_exporter_rules() -> None:
    """Each contract entry's Prometheus name is the seed's name."""
    assert [m.prometheus_name for m in c.ALL_METRICS] == [  # the seed's six
        "hypertool_persona_switches_total",
        "hypertool_persona_duration_seconds",
        "hypertool_persona_tokens_used_total",
        "hypertool_persona_token_budget_remaining",
        "hypertool_workflow_stage_duration_seconds",
        "hypertool_workflow_quality_gate_total",
    ]


def test_span_series_come_from_the_spans_that_measure_them() -> None:
    """Each span-derived series is made from the span type the agent gives that work."""
    assert {s.otel_name: s.span_type for s in c.SPAN_SERIES} == {
        "hypertool.workflow.stage.duration": n.SPAN_TYPE_STAGE,
        "hypertool.persona.duration": n.SPAN_TYPE_PERSONA,
        "hypertool.llm.call.duration": n.SPAN_TYPE_LLM_CALL,
        "hypertool.workflow.runs": n.SPAN_TYPE_WORKFLOW,
    }


def test_every_span_series_label_has_a_span_attribute() -> None:
    """The genai connector can read each span series' labels from a span attribute."""
    for series in c.SPAN_SERIES:
        assert set(series.labels) <= set(c.SPAN_ATTRIBUTE_LABELS.values()), series.otel_name


def test_manifest_builds_exactly_the_components_the_config_uses() -> None:
    """The builder manifest lists each component type the collector configs use, no more."""
    files = [
        "collector-config/otelcol.yaml",
        "collector-config/generated/components.yaml",
        "collector-config/traces-backend.yaml",
    ]
    files += [
        str(p.relative_to(ROOT))
        for folder in ("security", "profiling")
        for p in sorted((ROOT / "collector-config" / folder).glob("*.yaml"))
    ]
    used: dict[str, set[str]] = {}
    for file in files:
        config = load(file) or {}
        for section in ("receivers", "processors", "exporters", "connectors", "extensions"):
            used.setdefault(section, set()).update(
                key.split("/")[0] for key in config.get(section) or {}
            )
    manifest = load("collector-config/builder-manifest.yaml")
    module_type = {
        "otlpreceiver": "otlp",
        "memorylimiterprocessor": "memory_limiter",
        "ledgerprocessor": "ledger",
        "admissionprocessor": "admission",
        "transformprocessor": "transform",
        "prometheusexporter": "prometheus",
        "otlpexporter": "otlp_grpc",
        "nopexporter": "nop",
        "forwardconnector": "forward",
        "genaiconnector": "genai",
        "agentsumsconnector": "agent_sums",
        "healthcheckextension": "health_check",
        "bearertokenauthextension": "bearertokenauth",
        "pprofextension": "pprof",
    }
    for section, types in used.items():
        modules = [entry["gomod"].split()[0].rsplit("/", 1)[1] for entry in manifest[section]]
        assert {module_type[m] for m in modules} == types, section


def test_collector_versions_are_pinned_together() -> None:
    """Every manifest module, the dist version and .env's OTELCOL_VERSION share one version."""
    manifest_text = (ROOT / "collector-config/builder-manifest.yaml").read_text()
    version = manifest_version(ROOT)
    # Our own components (a local path) are versioned with this repository instead.
    component_versions = set(
        re.findall(
            r"gomod: (?!github\.com/hypertool-observability/)\S+ v(0\.\d+\.\d+)", manifest_text
        )
    )
    assert component_versions == {version}
    # The confmap providers live on the stable v1 line released with each v0 version.
    provider_versions = set(
        re.findall(r"gomod: \S+/confmap/provider/\S+ v(1\.\d+\.\d+)", manifest_text)
    )
    assert len(provider_versions) == 1
    assert manifest_text.count("gomod:") == len(re.findall(r"gomod: \S+ v\d", manifest_text))
    # Compose builds the collector with the builder of this release and tags it with it.
    assert read_env_file(ROOT)["OTELCOL_VERSION"] == version


def test_images_are_pinned_in_env_and_never_latest() -> None:
    """Compose takes every image from .env, and .env pins each to a version."""
    compose = load("docker-compose.yml")
    pins = read_env_file(ROOT)
    for name, service in compose["services"].items():
        if "build" in service:  # built here, from the base images and versions in .env
            for arg, value in service["build"]["args"].items():
                assert value == f"${{{arg}}}", f"{name}: build arg {arg} must come from .env"
                assert not pins[arg].endswith(":latest"), pins[arg]
            continue
        image = service["image"]
        match = re.fullmatch(r"\$\{(\w+)\}", image)
        assert match is not None, f"{name}: image must come from .env, got {image}"
        pinned = pins[match.group(1)]
        assert not pinned.endswith(":latest"), pinned
        assert re.search(r":v?\d+\.\d+\.\d+$", pinned), pinned


def test_budget_rules_are_current_with_budgets_yaml() -> None:
    """prometheus/rules/budgets.yml is what `hypertool budgets render` makes of budgets.yaml."""
    from hypertool_tools.render.rules import render_file

    assert render_file(ROOT, check=True), "stale: run `hypertool budgets render`"


def test_budget_rules_narrow_by_model_and_workflow() -> None:
    """Narrowed budgets select their model, or the workflow series for a workflow."""
    from hypertool_agent import Budget
    from hypertool_tools.render.rules import render_rules

    rules = yaml.safe_load(
        render_rules(
            [
                Budget("backend-engineer", 500, "1h", model="gpt-4"),
                Budget("qa", 90, "30d", workflow='bug "fix"'),
            ]
        )
    )["groups"][0]["rules"]
    used = [r for r in rules if r["record"] == c.BUDGET_USED]
    gpt4 = 'hypertool_persona_tokens_used_total{persona="backend-engineer",model="gpt-4"}'
    assert used[0]["expr"] == f"sum({windowed_usage(gpt4, '1h')}) or vector(0)"
    assert used[0]["labels"] == {
        "persona": "backend-engineer",
        "model": "gpt-4",
        "workflow": "any",
        "period": "1h",
    }
    qa = 'hypertool_workflow_tokens_used_total{persona="qa",workflow="bug \\"fix\\""}'
    assert used[1]["expr"] == f"sum({windowed_usage(qa, '30d')}) or vector(0)"
    limits = [(r["expr"], r["labels"]["period"]) for r in rules if r["record"] == c.BUDGET_LIMIT]
    assert limits == [("vector(500)", "1h"), ("vector(90)", "30d")]


def test_series_retention_outlives_every_budget_period() -> None:
    """The collector keeps fleet streams longer than the longest budget period."""
    from hypertool_agent import load_budgets
    from hypertool_tools.render.rules import period_seconds

    longest = max(period_seconds(b.period) for b in load_budgets(ROOT / "budgets.yaml"))
    config = (ROOT / "collector-config/otelcol.yaml").read_text()
    config += (ROOT / "collector-config/generated/components.yaml").read_text()
    retention = re.findall(r"\$\{env:HYPERTOOL_SERIES_RETENTION:-(\d+)h\}", config)
    assert len(retention) == 2  # the ledger's max_stale and the exporter's expiration
    assert all(int(h) * 3600 >= max(longest, 30 * 86400) for h in retention)
    # Prometheus keeps each window and the baseline before it.
    prometheus = yaml.safe_load((ROOT / "prometheus/prometheus.yml").read_text())
    days = prometheus["storage"]["tsdb"]["retention"]["time"].removesuffix("d")
    assert int(days) * 86400 >= 2 * max(longest, 30 * 86400)


def test_predicted_exhaustion_waits_longer_than_a_spike_for_every_period() -> None:
    """Each period gets its own predicted-exhaustion rule, `for` twice its short window."""
    from hypertool_agent import Budget
    from hypertool_tools.render.rules import load_alerts, render_rules

    budgets = [Budget("a", 1000, "30m"), Budget("b", 30000, "30d"), Budget("c", 2000, "1d")]
    rules = yaml.safe_load(render_rules(budgets, load_alerts(ROOT)))["groups"][0]["rules"]
    predicted = {
        re.search(r'period="(\w+)"', r["expr"]).group(1): r["for"]  # type: ignore[union-attr]
        for r in rules
        if r.get("alert") == "HypertoolTokenBudgetExhaustionPredicted"
    }
    # Short windows: 30m -> 60s (the floor), 1d -> 300s, 30d -> 9000s.
    assert predicted == {"30m": "120s", "1d": "600s", "30d": "18000s"}


def test_budget_names_that_would_break_the_rules_are_refused(tmp_path: Path) -> None:
    """Control characters, and "any" as a model or workflow, fail when loading."""
    import pytest

    from hypertool_agent import ConfigurationError, load_budgets

    for entry in (
        '{persona: "a\\nb", tokens: 1}',
        "{persona: a, model: any, tokens: 1}",
        "{persona: a, workflow: any, tokens: 1}",
    ):
        path = tmp_path / "b.yaml"
        path.write_text(f"budgets:\n  - {entry}\n")
        with pytest.raises(ConfigurationError, match=r"budgets\[0\]\.(persona|model|workflow)"):
            load_budgets(path)


def test_prometheus_keeps_samples_longer_than_every_budget_period() -> None:
    """Budget usage is computed from stored samples: retention outlives the periods."""
    config = yaml.safe_load((ROOT / "prometheus/prometheus.yml").read_text())
    retention = config["storage"]["tsdb"]["retention"]["time"]
    assert retention.endswith("d")
    assert int(retention[:-1]) > 30


def test_every_agent_counter_has_one_fleet_series() -> None:
    """The contract sums each counter the library records, and no other, fleet-wide."""
    assert [s.otel_name for s in c.FLEET_COUNTERS] == [i.otel_name for i in n.COUNTERS]
    named = [c.TOKENS_USED, c.PERSONA_SWITCHES, c.QUALITY_GATE, c.WORKFLOW_TOKENS]
    named += [c.LLM_TOKENS, c.LLM_COST, c.LLM_UNPRICED_TOKENS, c.DROPPED_MEASUREMENTS]
    assert sorted(named, key=str) == sorted(c.FLEET_COUNTERS, key=str)
