"""WorkflowTracer: span nesting, sync and async use, errors, and the seed's Basic Usage."""

from __future__ import annotations

import asyncio

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.trace import StatusCode

from hypertool_agent import PersonaMetricsCollector, WorkflowTracer
from hypertool_agent import names as n
from tests.unit.conftest import Recorded, attrs


def test_seed_basic_usage_runs_unchanged(recorded: Recorded) -> None:
    """The seed's Basic Usage example, with only its import line changed, records it all."""

    async def design_api_func() -> str:
        await asyncio.sleep(0)
        return "api"

    def create_tests_func() -> str:
        return "tests"

    async def seed_example() -> tuple[str, str]:
        # --- the seed's example, verbatim but for the import ---
        from hypertool_agent import PersonaMetricsCollector, WorkflowTracer

        # Initialize
        collector = PersonaMetricsCollector()

        # Track workflow
        async with WorkflowTracer("my_workflow") as tracer:
            # Stage 1
            collector.switch_persona(None, "backend-engineer", "chatmode")
            result1 = await tracer.trace_stage("api_design", "backend-engineer", design_api_func)
            collector.record_token_usage("backend-engineer", "chatmode", "gpt-4", 800)

            # Stage 2
            collector.switch_persona("backend-engineer", "testing-specialist", "chatmode")
            result2 = await tracer.trace_stage("testing", "testing-specialist", create_tests_func)
            collector.record_token_usage("testing-specialist", "chatmode", "gpt-4", 600)
        # --- end of the seed's example ---
        return result1, result2

    assert asyncio.run(seed_example()) == ("api", "tests")
    assert recorded.points(n.TOKENS_USED.otel_name) == {
        attrs(persona="backend-engineer", chatmode="chatmode", model="gpt-4"): 800,
        attrs(persona="testing-specialist", chatmode="chatmode", model="gpt-4"): 600,
    }
    assert recorded.points(n.QUALITY_GATE.otel_name) == {
        attrs(workflow="my_workflow", stage="api_design", result="passed"): 1,
        attrs(workflow="my_workflow", stage="testing", result="passed"): 1,
    }
    # Tokens recorded inside the run are also charged to the workflow.
    assert recorded.points(n.WORKFLOW_TOKENS.otel_name) == {
        attrs(workflow="my_workflow", persona="backend-engineer", model="gpt-4"): 800,
        attrs(workflow="my_workflow", persona="testing-specialist", model="gpt-4"): 600,
    }
    (workflow,) = recorded.spans(n.SPAN_TYPE_WORKFLOW)
    stages = recorded.spans(n.SPAN_TYPE_STAGE)
    personas = recorded.spans(n.SPAN_TYPE_PERSONA)
    assert [s.name for s in stages] == ["stage api_design", "stage testing"]
    for span in [*stages, *personas]:
        assert span.parent is not None
        assert span.parent.span_id == workflow.context.span_id
    # Persona switches show in the trace as events on the workflow span.
    switches = [dict(e.attributes or {}) for e in workflow.events]
    assert switches == [
        {
            "hypertool.persona.from": "none",
            "hypertool.persona.to": "backend-engineer",
            n.ATTR_CHATMODE: "chatmode",
        },
        {
            "hypertool.persona.from": "backend-engineer",
            "hypertool.persona.to": "testing-specialist",
            n.ATTR_CHATMODE: "chatmode",
        },
    ]
    # Both personas were timed: the last one when the workflow ended.
    assert sorted(str((s.attributes or {})[n.ATTR_PERSONA]) for s in personas) == [
        "backend-engineer",
        "testing-specialist",
    ]


def test_sync_workflow_with_stage_context_and_run_stage(recorded: Recorded) -> None:
    """Without an event loop, `with` and run_stage trace stages under the workflow span."""
    collector = PersonaMetricsCollector(telemetry=recorded.telemetry)
    with WorkflowTracer("bug_fix", collector, telemetry=recorded.telemetry) as tracer:
        with tracer.stage_context("root_cause", "observability-expert"):
            pass
        assert tracer.run_stage("fix", "backend-engineer", lambda x: x * 2, 21) == 42
    (workflow,) = recorded.spans(n.SPAN_TYPE_WORKFLOW)
    stages = recorded.spans(n.SPAN_TYPE_STAGE)
    assert [(s.attributes or {})[n.ATTR_STAGE] for s in stages] == ["root_cause", "fix"]
    assert all(
        s.parent is not None and s.parent.span_id == workflow.context.span_id for s in stages
    )
    assert (workflow.attributes or {})[n.GEN_AI_OPERATION_NAME] == "invoke_workflow"


def test_failing_async_stage_records_error_on_stage_and_workflow(recorded: Recorded) -> None:
    """An exception from an async stage fails its gate and marks both spans as errors."""
    collector = PersonaMetricsCollector(telemetry=recorded.telemetry)

    async def broken() -> None:
        raise RuntimeError("tests failed")

    async def run() -> None:
        async with WorkflowTracer("release", collector, telemetry=recorded.telemetry) as tracer:
            await tracer.trace_stage("validate", "testing-specialist", broken)

    with pytest.raises(RuntimeError, match="tests failed"):
        asyncio.run(run())
    (stage,) = recorded.spans(n.SPAN_TYPE_STAGE)
    (workflow,) = recorded.spans(n.SPAN_TYPE_WORKFLOW)
    assert stage.status.status_code is StatusCode.ERROR
    assert workflow.status.status_code is StatusCode.ERROR
    assert recorded.points(n.QUALITY_GATE.otel_name) == {
        attrs(workflow="release", stage="validate", result="failed"): 1
    }


def test_async_stage_context(recorded: Recorded) -> None:
    """`async with stage_context` yields the live stage span."""
    collector = PersonaMetricsCollector(telemetry=recorded.telemetry)

    async def run() -> bool:
        tracer = WorkflowTracer("release", collector, telemetry=recorded.telemetry)
        async with tracer, tracer.stage_context("publish", "devops-engineer") as span:
            return span.is_recording()

    assert asyncio.run(run()) is True
    assert [s.name for s in recorded.spans(n.SPAN_TYPE_STAGE)] == ["stage publish"]


def test_persona_entered_inside_a_stage_ends_with_its_workflow(recorded: Recorded) -> None:
    """A switch made inside a stage still has its persona timed up to the workflow's end."""
    collector = PersonaMetricsCollector(telemetry=recorded.telemetry)
    with WorkflowTracer("feature", collector, telemetry=recorded.telemetry) as tracer:
        with tracer.stage_context("frontend", "frontend-engineer"):
            collector.switch_persona(None, "frontend-engineer", "ui")
        assert recorded.spans(n.SPAN_TYPE_PERSONA) == []
    (persona,) = recorded.spans(n.SPAN_TYPE_PERSONA)
    assert (persona.attributes or {})[n.ATTR_PERSONA] == "frontend-engineer"
    assert collector.current_persona is None


def test_persona_outside_any_workflow_outlives_a_workflow(recorded: Recorded) -> None:
    """Ending a workflow leaves alone a persona that was entered outside of it."""
    collector = PersonaMetricsCollector(telemetry=recorded.telemetry)
    collector.switch_persona(None, "data-scientist", "analysis")
    with WorkflowTracer("other", collector, telemetry=recorded.telemetry):
        pass
    assert recorded.spans(n.SPAN_TYPE_PERSONA) == []
    assert collector.current_persona == "data-scientist"


def test_reentering_a_tracer_is_one_run(recorded: Recorded) -> None:
    """A nested `with` of the same tracer neither leaks a span nor ends the run early."""
    tracer = WorkflowTracer(
        "wf", PersonaMetricsCollector(telemetry=recorded.telemetry), telemetry=recorded.telemetry
    )
    with tracer, tracer:
        pass
    assert len(recorded.spans(n.SPAN_TYPE_WORKFLOW)) == 1
    assert tracer.span is None


def test_exit_in_another_context_does_not_raise(recorded: Recorded) -> None:
    """Entering in one task and exiting in another (async fixtures do this) is tolerated."""
    tracer = WorkflowTracer(
        "wf", PersonaMetricsCollector(telemetry=recorded.telemetry), telemetry=recorded.telemetry
    )

    async def run() -> None:
        await asyncio.get_running_loop().create_task(tracer.__aenter__())
        await asyncio.get_running_loop().create_task(tracer.__aexit__(None, None, None))

    asyncio.run(run())
    assert len(recorded.spans(n.SPAN_TYPE_WORKFLOW)) == 1


def test_configure_after_a_collector_exists_takes_effect(recorded: Recorded) -> None:
    """A collector created before configure() records through the new configuration."""
    from hypertool_agent import configure

    collector = PersonaMetricsCollector()  # uses the current default: `recorded`
    collector.record_token_usage("a", "x", "m", 1)
    reader = InMemoryMetricReader()
    telemetry = configure(
        meter_provider=MeterProvider(metric_readers=[reader]),
        tracer_provider=recorded.tracer_provider,
    )
    collector.record_token_usage("a", "x", "m", 2)
    data = reader.get_metrics_data()
    assert data is not None
    values = [
        getattr(p, "value", None)
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
        if m.name == n.TOKENS_USED.otel_name
        for p in m.data.data_points
    ]
    assert values == [2]
    telemetry.shutdown()
