"""`hypertool render`: the collector config rendered from the names contract, and --check."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from hypertool_agent import ConfigurationError, load_budgets
from hypertool_agent import names as n
from hypertool_tools import contract as c
from hypertool_tools.cli import main
from hypertool_tools.render import RENDERERS
from hypertool_tools.render.collector import (
    AGENT_CONNECTOR,
    BEGIN,
    COLLECTOR_CONFIG,
    END,
    FLEET_PIPELINE,
    FOREIGN_PIPELINE,
    NAMESPACE,
    render_collector,
    render_config,
)
from hypertool_tools.render.kubernetes import GENERATED_DIR
from hypertool_tools.render.prices import AGENT_PRICES, PRICE_ATTRIBUTE

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = (ROOT / COLLECTOR_CONFIG).read_text()
BUDGETS = load_budgets(ROOT / "budgets.yaml")


def rendered() -> dict[str, Any]:
    """The collector config as the renderer makes it from the committed file, parsed."""
    config: dict[str, Any] = yaml.safe_load(render_config(COMMITTED, BUDGETS))
    return config


def signal_to_metrics() -> dict[str, list[dict[str, Any]]]:
    """signal_to_metrics' entries (foreign usage, spans, logs), by signal."""
    connector: dict[str, list[dict[str, Any]]] = rendered()["connectors"]["signal_to_metrics"]
    return connector


def agent_sums() -> dict[str, Any]:
    """The agent_sums connector's settings: the library's own counters."""
    connector: dict[str, Any] = rendered()["connectors"][AGENT_CONNECTOR]
    return connector


def fleet_metrics() -> dict[str, dict[str, Any]]:
    """The first signal_to_metrics entry of every metric it defines, by name."""
    found: dict[str, dict[str, Any]] = {}
    for signal in signal_to_metrics().values():
        for metric in signal:
            found.setdefault(metric["name"], metric)
    return found


def entries(signal: str, name: str) -> list[dict[str, Any]]:
    """Every rendered signal_to_metrics entry of ``signal`` that makes ``name``."""
    return [m for m in signal_to_metrics()[signal] if m["name"] == name]


def renamed(key: str) -> str:
    """The Prometheus label transform/labels makes of a span attribute key."""
    return c.SPAN_ATTRIBUTE_LABELS.get(key, key)


def checkout(tmp_path: Path) -> Path:
    """A copy of the files `hypertool render` reads and writes."""
    for folder in ("collector-config", "prometheus", "grafana", "deploy"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    for name in ("budgets.yaml", ".env"):
        shutil.copy(ROOT / name, tmp_path / name)
    agent_prices = tmp_path / AGENT_PRICES
    agent_prices.parent.mkdir(parents=True)
    shutil.copy(ROOT / AGENT_PRICES, agent_prices)
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    """Replace the one occurrence of ``old`` in ``path``."""
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))


def test_committed_collector_config_is_current() -> None:
    """collector-config/otelcol.yaml is exactly what `hypertool render` makes of it."""
    assert render_collector(ROOT, check=True), "stale: run `hypertool render`"
    assert render_config(COMMITTED, BUDGETS) == COMMITTED


def test_agent_sums_sums_each_counter_of_the_contract_by_its_labels() -> None:
    """agent_sums lists each agent counter, in order, with the contract's names and labels."""
    sums = agent_sums()
    assert [
        (m["name"], m["unit"], m["description"], tuple(m["labels"])) for m in sums["counters"]
    ] == [(s.otel_name, s.unit, s.description, s.labels) for s in c.FLEET_COUNTERS]
    rejected = c.PIPELINE_REJECTED_POINTS
    assert sums["rejected"] == {
        "name": rejected.otel_name,
        "unit": rejected.unit,
        "description": rejected.description,
    }
    unused = sums["unused"]
    assert unused["name"] == c.PIPELINE_UNUSED.otel_name
    labels = (unused["signal_label"], unused["reason_label"], unused["producer_label"])
    assert labels == c.PIPELINE_UNUSED.labels
    assert unused["unknown_producer"] == c.UNKNOWN_PRODUCER
    assert set(unused["reasons"].values()) == {
        c.REASON_NOT_A_NUMBER,
        c.REASON_NEGATIVE,
        c.REASON_TOO_LARGE,
        c.REASON_NOT_SUMMABLE,
        c.REASON_NOT_USAGE,
    }
    # One stream per label set, in the streams foreign usage adds into.
    assert sums["resource"] == c.FLEET_RESOURCE
    assert sums["scope"] == c.FLEET_SCOPE
    assert sums["max_label_bytes"] == n.MAX_LABEL_LENGTH


def test_one_entry_per_foreign_usage_and_span_series() -> None:
    """The rendered YAML parses; each foreign usage and span series has one entry, in order."""
    connector = signal_to_metrics()
    foreign = []
    for usage in c.FOREIGN_TOKENS:
        foreign += [c.TOKENS_USED, c.WORKFLOW_TOKENS, c.LLM_TOKENS]
        if not usage.reports_cost:  # estimated cost, or unpriced tokens
            foreign += [c.LLM_COST, c.LLM_UNPRICED_TOKENS]
    unused = c.PIPELINE_UNUSED.otel_name
    assert [m["name"] for m in connector["datapoints"]] == [
        *(s.otel_name for s in foreign),
        c.LLM_COST.otel_name,
        unused,  # not usage
        unused,  # not summable
        unused,  # unknown token type
        unused,  # invalid value (transform/guard)
    ]
    span_usage = [c.TOKENS_USED, c.WORKFLOW_TOKENS, c.LLM_TOKENS, c.LLM_TOKENS]
    span_usage += [c.LLM_COST, c.LLM_UNPRICED_TOKENS]
    assert [m["name"] for m in connector["spans"]] == [
        *(s.otel_name for s in c.SPAN_SERIES),
        c.PERSONA_SWITCHES.otel_name,  # handoffs between a framework's agents
        *(s.otel_name for s in span_usage),  # a span-only producer's usage
        unused,  # usage on spans of a producer counted from its metric
        unused,  # traces only
        unused,  # invalid usage (transform/guard)
    ]
    assert [m["name"] for m in connector["logs"]] == [unused]


def test_every_entry_carries_its_contract_unit_labels_and_kind() -> None:
    """Merged or not, each entry has the contract's unit, description, labels and shape."""
    defined = fleet_metrics()
    made_by_connectors = [m for m in c.COLLECTOR_METRICS if m not in c.LEDGER_METRICS]
    sums = agent_sums()
    summed = {m["name"] for m in sums["counters"]} | {sums["rejected"]["name"]}
    assert set(defined) | summed == {m.otel_name for m in made_by_connectors}
    made_by_connector = [m for m in made_by_connectors if m.otel_name in defined]
    kinds = {"sum": "counter", "gauge": "gauge", "histogram": "histogram"}
    for metric in made_by_connector:
        spec = defined[metric.otel_name]
        assert (spec["unit"], spec["description"]) == (metric.unit, metric.description)
        labels = tuple(renamed(a["key"]) for a in spec.get("attributes", []))
        assert labels == metric.labels, metric.otel_name
        (shape,) = [k for k in kinds if k in spec]
        assert kinds[shape] == metric.kind, metric.otel_name
        # The fleet's resource, and who sent it (for the ledger, which removes it).
        assert spec["include_resource_attributes"] == [
            {"key": "hypertool.aggregation", "default_value": "fleet"},
            {"key": c.SERVICE_NAME},
            {"key": c.SERVICE_INSTANCE_ID},
        ]
        if shape == "sum":
            assert spec["sum"]["monotonic"] is True
            if metric.source == "span":
                assert spec["sum"]["value"] == "1"  # one per span
        if shape == "histogram":
            assert tuple(spec["histogram"]["buckets"]) == c.DURATION_BUCKETS_SECONDS


def test_span_series_select_their_span_type() -> None:
    """Each span series selects its spans by the library's span type."""
    defined = fleet_metrics()
    for metric in c.SPAN_SERIES:
        (condition,) = defined[metric.otel_name]["conditions"]
        assert condition == f'attributes["{n.SPAN_TYPE}"] == "{metric.span_type}"'


def test_foreign_sums_take_only_valid_deltas() -> None:
    """Foreign usage entries sum delta points transform/guard did not mark invalid."""
    for entry in signal_to_metrics()["datapoints"]:
        if entry["name"] == c.PIPELINE_UNUSED.otel_name:
            continue
        (condition,) = entry["conditions"]
        assert "and metric.aggregation_temporality == AGGREGATION_TEMPORALITY_DELTA" in condition
        assert f'datapoint.attributes["{c.ATTR_INVALID}"] == nil' in condition


def test_foreign_usage_feeds_the_agents_series() -> None:
    """Each foreign usage metric, once delta, is summed into the agents' token series."""
    for usage in c.FOREIGN_TOKENS:
        for series in (c.TOKENS_USED, c.WORKFLOW_TOKENS, c.LLM_TOKENS):
            (entry,) = [
                e
                for e in entries("datapoints", series.otel_name)
                if f'metric.name == "{usage.metric}"' in e["conditions"][0]
            ]
            assert "== AGGREGATION_TEMPORALITY_DELTA" in entry["conditions"][0]
            in_workflow = f'datapoint.attributes["{n.WORKFLOW}"] != nil' in entry["conditions"][0]
            assert in_workflow == (series == c.WORKFLOW_TOKENS)  # only usage inside a run
            assert tuple(a["key"] for a in entry["attributes"]) == series.labels
            value = entry["sum"]["value"]
            assert value == (
                "datapoint.sum"
                if usage.shape == "histogram"
                else "Double(value_int) + value_double"
            )
    reported = [
        e
        for e in entries("datapoints", c.LLM_COST.otel_name)
        if f'metric.name == "{c.CLAUDE_CODE_COST}"' in e["conditions"][0]
    ]
    assert len(reported) == 1


def test_usage_without_a_reported_cost_is_priced_or_unpriced() -> None:
    """The GenAI metric's tokens cost tokens times the list price, or count as unpriced."""
    price = f'datapoint.attributes["{PRICE_ATTRIBUTE}"]'
    usage = c.GENAI_CLIENT_TOKENS
    (cost,) = [
        e
        for e in entries("datapoints", c.LLM_COST.otel_name)
        if f'metric.name == "{usage.metric}"' in e["conditions"][0]
    ]
    assert cost["conditions"][0].endswith(f"{price} != nil")
    assert cost["sum"]["value"] == f"datapoint.sum * {price} / 1000000.0"
    assert tuple(a["key"] for a in cost["attributes"]) == c.LLM_COST.labels
    (unpriced,) = entries("datapoints", c.LLM_UNPRICED_TOKENS.otel_name)
    assert unpriced["conditions"][0].endswith(f"{price} == nil")
    assert unpriced["sum"]["value"] == "datapoint.sum"


def test_foreign_labels_follow_the_contracts_order() -> None:
    """transform/genai names persona, chatmode, workflow, model from the contract's order."""
    processor = rendered()["processors"]["transform/genai"]
    statements = processor["metric_statements"][0]["statements"]
    for label, sources in c.FOREIGN_LABEL_SOURCES.items():
        target = f'set(datapoint.attributes["{label}"], '
        found = [s for s in statements if s.startswith(target)]
        read = [s.removeprefix(target).split(") where ")[0] for s in found]
        wanted = [src.partition(":")[2] or src for src in sources if src != f"point:{label}"]
        assert all(key in getter for key, getter in zip(wanted, read, strict=True)), label
        # Each source applies only while the label is still unset: the first set wins.
        assert all(f'where datapoint.attributes["{label}"] == nil' in s for s in found), label
    cumulative = rendered()["processors"]["cumulative_to_delta/genai"]
    assert cumulative["include"]["metrics"] == list(c.FOREIGN_METRICS)


def test_a_handoff_span_is_a_persona_switch_between_its_agents() -> None:
    """transform/genai names a handoff's agents; signal_to_metrics counts it as a switch."""
    (entry,) = entries("spans", c.PERSONA_SWITCHES.otel_name)
    assert f'== "{c.HANDOFF.operation}"' in entry["conditions"][0]
    labels = tuple(renamed(a["key"]) for a in entry["attributes"])
    assert labels == c.PERSONA_SWITCHES.labels
    processor = rendered()["processors"]["transform/genai"]
    (handoff,) = [s for s in processor["trace_statements"] if "agent_handoff" in str(s)]
    for ours, theirs in (
        (c.ATTR_SWITCH_FROM, c.HANDOFF.from_attribute),
        (c.ATTR_SWITCH_TO, c.HANDOFF.to_attribute),
    ):
        assert any(
            st.startswith(f'set(span.attributes["{ours}"], span.attributes["{theirs}"])')
            for st in handoff["statements"]
        )


def test_what_is_received_and_not_used_is_counted_by_reason() -> None:
    """Unused metric points, spans and log records each have an entry with its reason."""
    reasons = {
        (signal, {a["key"]: a.get("default_value") for a in e["attributes"]}[c.ATTR_REASON])
        for signal in ("datapoints", "spans", "logs")
        for e in entries(signal, c.PIPELINE_UNUSED.otel_name)
    }
    assert reasons == {
        ("datapoints", "not_usage"),
        ("datapoints", "not_summable"),
        ("datapoints", "unknown_token_type"),
        ("datapoints", None),  # the reason transform/guard set
        ("spans", None),
        ("spans", "span_usage_ignored"),
        ("spans", "traces_only"),
        ("logs", "not_kept"),
    }
    pipelines = rendered()["service"]["pipelines"]
    assert pipelines["logs/agents"]["exporters"] == ["signal_to_metrics"]
    traces = pipelines["traces/agents"]["processors"]
    assert traces.index("transform/redact") < traces.index("transform/genai")


def test_agent_sums_keeps_ours_and_passes_everyone_elses_on() -> None:
    """Every metric meets agent_sums; the rest go on to signal_to_metrics; both reach the ledger."""
    config = rendered()
    pipelines = config["service"]["pipelines"]
    (intake,) = [p for p in pipelines.values() if AGENT_CONNECTOR in p.get("exporters", [])]
    assert intake["receivers"] == ["otlp"]
    # Nothing between but the gates: one pass.
    assert intake["processors"] == ["admission", "memory_limiter"]
    sums = agent_sums()
    assert sums["sums"] == [FLEET_PIPELINE]
    assert sums["others"] == [FOREIGN_PIPELINE]
    assert pipelines[FOREIGN_PIPELINE]["receivers"] == [AGENT_CONNECTOR]
    assert pipelines[FOREIGN_PIPELINE]["exporters"] == ["signal_to_metrics"]
    assert set(pipelines[FLEET_PIPELINE]["receivers"]) == {AGENT_CONNECTOR, "signal_to_metrics"}
    # Ours by the prefix, foreign usage not: each point is summed by one connector.
    assert sums["prefix"] == NAMESPACE
    assert all(m["name"].startswith(NAMESPACE) for m in sums["counters"])
    assert not any(m.startswith(NAMESPACE) for m in c.FOREIGN_METRICS)


def test_label_transform_renames_every_span_attribute() -> None:
    """transform/labels renames each span attribute, then drops the namespaced keys."""
    processor = rendered()["processors"]["transform/labels"]
    statements = processor["metric_statements"][-1]["statements"]
    for attribute, label in c.SPAN_ATTRIBUTE_LABELS.items():
        assert attribute.startswith(NAMESPACE)  # else the final delete would keep it
        assert (
            f'set(datapoint.attributes["{label}"], datapoint.attributes["{attribute}"])'
            f' where datapoint.attributes["{attribute}"] != nil'
        ) in statements
    assert statements[-1] == 'delete_matching_keys(datapoint.attributes, "^hypertool\\\\.")'


def test_an_edited_entry_is_stale_and_render_restores_it(tmp_path: Path) -> None:
    """A hand edit inside a generated section fails --check and render undoes it."""
    config = checkout(tmp_path) / COLLECTOR_CONFIG
    edit(config, "description: Quality-gate results.", "description: Gates.")
    edited = config.read_text()
    assert not render_collector(tmp_path, check=True)
    assert config.read_text() == edited  # --check writes nothing
    assert not render_collector(tmp_path, check=False)
    assert config.read_text() == COMMITTED
    assert render_collector(tmp_path, check=True)


def test_hand_written_parts_are_left_alone(tmp_path: Path) -> None:
    """Lines outside the generated sections are the operator's: render keeps them."""
    config = checkout(tmp_path) / COLLECTOR_CONFIG
    edit(config, "check_interval: 1s", "check_interval: 2s  # ours")
    assert render_collector(tmp_path, check=True)
    assert "check_interval: 2s  # ours" in config.read_text()


def test_empty_sections_are_filled(tmp_path: Path) -> None:
    """A section reduced to its two markers renders back to the committed block."""
    config = checkout(tmp_path) / COLLECTOR_CONFIG
    head = COMMITTED.index(BEGIN + "signal_to_metrics") + len(BEGIN + "signal_to_metrics\n")
    tail = COMMITTED.index("  " + END + "signal_to_metrics")
    config.write_text(COMMITTED[:head] + COMMITTED[tail:])
    assert not render_collector(tmp_path, check=False)
    assert config.read_text() == COMMITTED


def test_a_contract_change_reaches_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A counter added to the contract makes the committed config stale, and render adds it."""
    config = checkout(tmp_path) / COLLECTOR_CONFIG
    added = c.Series.of_counter(
        n.Instrument("hypertool.persona.retries", "{retry}", (n.PERSONA,), "Retries.")
    )
    monkeypatch.setattr(c, "FLEET_COUNTERS", (*c.FLEET_COUNTERS, added))
    assert not render_collector(tmp_path, check=True)
    assert not render_collector(tmp_path, check=False)
    sums = yaml.safe_load(config.read_text())["connectors"][AGENT_CONNECTOR]
    entry = next(m for m in sums["counters"] if m["name"] == added.otel_name)
    assert entry["unit"] == "{retry}"
    assert entry["labels"] == [n.PERSONA]


def test_missing_markers_are_reported(tmp_path: Path) -> None:
    """A config without a section's END marker fails with the section's name."""
    config = checkout(tmp_path) / COLLECTOR_CONFIG
    edit(config, END + "transform/labels", "# end")
    with pytest.raises(ConfigurationError, match="transform/labels"):
        render_collector(tmp_path, check=True)


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
    edit(tmp_path / COLLECTOR_CONFIG, "buckets: [0.05,", "buckets: [0.01,")
    assert main(["render", "--check"]) == 1
    out = capsys.readouterr().out
    lines = [line.split() for line in out.splitlines()]
    assert [str(COLLECTOR_CONFIG), "stale"] in lines
    # The Kubernetes ConfigMaps carry a copy of the collector config: stale with it.
    assert [str(GENERATED_DIR), "stale"] in lines
    assert out.count("current") == len(RENDERERS) - 2
    assert main(["render"]) == 0
    rendered_lines = capsys.readouterr().out.splitlines()
    assert any(line.split()[:2] == [str(COLLECTOR_CONFIG), "rendered"] for line in rendered_lines)
    assert main(["render", "--check"]) == 0
    assert (tmp_path / COLLECTOR_CONFIG).read_text() == COMMITTED


def test_older_verbs_run_only_their_renderer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`hypertool budgets render --check` looks at the budget rules only."""
    monkeypatch.setenv("HYPERTOOL_HOME", str(checkout(tmp_path)))
    edit(tmp_path / COLLECTOR_CONFIG, "buckets: [0.05,", "buckets: [0.01,")
    assert main(["budgets", "render", "--check"]) == 0
    assert capsys.readouterr().out.split() == ["prometheus/rules/budgets.yml", "current"]
    assert main(["dashboards", "render", "--check"]) == 0
    assert capsys.readouterr().out.split() == ["grafana/dashboards", "current"]


def test_span_usage_counts_once_per_span_from_the_first_attribute_set() -> None:
    """A span-only producer's tokens come from the first usage attribute it sets."""
    processor = rendered()["processors"]["transform/genai"]
    (usage,) = [
        block
        for block in processor["trace_statements"]
        if any(c.ATTR_USAGE_INPUT in st for st in block["statements"])
    ]
    assert "instrumentation_scope.name" in usage["conditions"][0]
    target = f'set(span.attributes["{c.ATTR_USAGE_INPUT}"], span.attributes["'
    read = [
        st.removeprefix(target).split('"]')[0]
        for st in usage["statements"]
        if st.startswith(target)
    ]
    assert tuple(read) == c.SPAN_USAGE.input_attributes
    guard = f'where span.attributes["{c.ATTR_USAGE_INPUT}"] == nil'
    assert all(guard in st for st in usage["statements"] if st.startswith(target))
    (tokens,) = entries("spans", c.TOKENS_USED.otel_name)
    assert tokens["conditions"] == [
        f'attributes["{c.ATTR_USAGE_INPUT}"] != nil and attributes["{c.ATTR_INVALID}"] == nil'
    ]


def test_guard_marks_bad_values_before_any_sum() -> None:
    """transform/guard runs before the sums and checks every value kind against the ceiling."""
    config = rendered()
    guard = config["processors"]["transform/guard"]
    points = guard["metric_statements"][-1]["statements"]
    for reason in ("not_a_number", "negative", "too_large"):
        assert any(f'"{reason}")' in st for st in points), reason
    ceiling = f"${{env:{c.MAX_POINT_VALUE_ENV}:-{c.DEFAULT_MAX_POINT_VALUE}}}"
    assert sum(ceiling in st for st in points) == 3  # value_double, value_int, sum
    pipelines = config["service"]["pipelines"]
    for name in ("metrics/foreign", "traces/agents"):
        processors = pipelines[name]["processors"]
        assert processors.index("transform/guard") < processors.index("transform/prices"), name
    # The library's own points: agent_sums checks them against the same ceiling.
    assert agent_sums()["max_value"] == ceiling
    metrics = pipelines["metrics/foreign"]["processors"]
    assert metrics.index("cumulative_to_delta/genai") < metrics.index("transform/guard")


def test_admission_comes_first_where_the_otlp_receiver_feeds_and_nowhere_else() -> None:
    """Producers over their share are refused before any work, and before any sum."""
    config = rendered()
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
