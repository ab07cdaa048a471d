"""The seed's demo workflows, run for real against the configured OTLP endpoint."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TextIO

from hypertool_agent._persona import PersonaMetricsCollector
from hypertool_agent._workflow import WorkflowTracer


@dataclass(frozen=True)
class DemoStage:
    """One stage of a demo workflow and what it spends."""

    stage: str
    title: str
    persona: str
    chatmode: str
    model: str
    tokens: int
    task: str
    done: str


@dataclass(frozen=True)
class DemoWorkflow:
    """A named sequence of stages, each in its own persona."""

    name: str
    title: str
    stages: tuple[DemoStage, ...]


PACKAGE_RELEASE = DemoWorkflow(
    name="package_release",
    title="Package Release",
    stages=(
        DemoStage(
            "version_bump",
            "Version Bump",
            "backend-engineer",
            "backend-dev",
            "gpt-4",
            850,
            "Update version to 1.2.0",
            "Backend implementation for",
        ),
        DemoStage(
            "quality_validation",
            "Quality Validation",
            "testing-specialist",
            "testing",
            "gpt-4",
            650,
            "Run full test suite",
            "Tests created for",
        ),
        DemoStage(
            "publish_deploy",
            "Publish & Deploy",
            "devops-engineer",
            "devops",
            "gpt-4",
            550,
            "Publish to PyPI and deploy",
            "Deployed",
        ),
    ),
)

WORKFLOWS = {PACKAGE_RELEASE.name: PACKAGE_RELEASE}


@dataclass
class DemoResult:
    """What a demo run emitted: the ground truth the end-to-end tests compare against."""

    workflow: str
    tokens: list[dict[str, str | int]] = field(default_factory=list)
    switches: list[dict[str, str]] = field(default_factory=list)
    quality_gates: list[dict[str, str]] = field(default_factory=list)
    stage_seconds: list[dict[str, str | float]] = field(default_factory=list)
    budget_remaining: dict[str, int | None] = field(default_factory=dict)


def _span_seconds(span: object) -> float | None:
    start, end = getattr(span, "start_time", None), getattr(span, "end_time", None)
    if isinstance(start, int) and isinstance(end, int):
        return (end - start) / 1e9
    return None


async def run_workflow(
    workflow: DemoWorkflow,
    *,
    collector: PersonaMetricsCollector,
    stage_seconds: float,
    fail_stage: str | None = None,
    say: Callable[[str], None] = lambda _line: None,
) -> DemoResult:
    """Run ``workflow`` as the seed's Basic Usage does, and return what it emitted."""
    result = DemoResult(workflow=workflow.name)
    say(f"🚀 Starting {workflow.title} Workflow")
    say("=" * 60)
    previous: str | None = None
    async with WorkflowTracer(workflow.name, collector) as tracer:
        for number, st in enumerate(workflow.stages, start=1):
            say(f"\n📝 Stage {number}: {st.title}\n   Persona: {st.persona}")
            collector.switch_persona(previous, st.persona, st.chatmode)
            result.switches.append(
                {
                    "from_persona": previous or "none",
                    "to_persona": st.persona,
                    "chatmode": st.chatmode,
                }
            )
            previous = st.persona
            passed = st.stage != fail_stage
            try:
                async with tracer.stage_context(st.stage, st.persona) as span:
                    await asyncio.sleep(stage_seconds)
                    collector.record_token_usage(st.persona, st.chatmode, st.model, st.tokens)
                    if not passed:
                        raise RuntimeError(f"quality gate failed in {st.stage}")  # noqa: TRY301
            except RuntimeError as exc:
                say(f"   ❌ {exc}")
            else:
                say(f"   ✅ {st.done}: {st.task}")
            result.tokens.append(
                {
                    "persona": st.persona,
                    "chatmode": st.chatmode,
                    "model": st.model,
                    "tokens": st.tokens,
                }
            )
            result.quality_gates.append(
                {
                    "workflow": workflow.name,
                    "stage": st.stage,
                    "result": "passed" if passed else "failed",
                }
            )
            seconds = _span_seconds(span)
            if seconds is not None:
                result.stage_seconds.append(
                    {
                        "workflow": workflow.name,
                        "stage": st.stage,
                        "persona": st.persona,
                        "seconds": seconds,
                    }
                )
            remaining = collector.get_remaining_budget(st.persona)
            result.budget_remaining[st.persona] = remaining
            say(f"   📊 Tokens: {st.tokens}\n   💰 Budget remaining: {remaining}")
    say("\n" + "=" * 60)
    say(f"✅ {workflow.title} Workflow Complete!\n\n📊 Workflow Summary:")
    personas = list(dict.fromkeys(st.persona for st in workflow.stages))
    say(f"   Total personas: {len(personas)}")
    say(f"   Total tokens: {sum(st.tokens for st in workflow.stages)}")
    for persona in personas:
        label = persona.split("-")[0].capitalize()
        say(f"   {label} budget remaining: {result.budget_remaining[persona]}")
    return result


def run_demo(
    workflow_name: str,
    *,
    stage_seconds: float,
    fail_stage: str | None,
    as_json: bool,
    out: TextIO,
) -> DemoResult:
    """Run a demo workflow in this process and print the seed-style summary (or JSON)."""
    from hypertool_agent._telemetry import get_telemetry

    workflow = WORKFLOWS[workflow_name]
    telemetry = get_telemetry()
    collector = PersonaMetricsCollector(telemetry=telemetry)

    def say(line: str) -> None:
        if not as_json:
            print(line, file=out)

    started = time.monotonic()
    result = asyncio.run(
        run_workflow(
            workflow,
            collector=collector,
            stage_seconds=stage_seconds,
            fail_stage=fail_stage,
            say=say,
        )
    )
    flushed = telemetry.flush()
    if as_json:
        print(json.dumps(asdict(result), sort_keys=True), file=out)
    else:
        endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4317")
        state = "sent" if flushed else "NOT confirmed (is the collector up?)"
        say(
            f"\n📈 Telemetry {state} over OTLP to {endpoint} "
            f"in {time.monotonic() - started:.1f}s; see Prometheus for hypertool_* series."
        )
    return result
