"""The design note's three demo workflows, run for real against the configured OTLP endpoint.

``--exact`` reproduces the design note's package release to the token. Otherwise each run varies
like real traffic: token counts, models, one to three LLM calls per stage through
ObservableLLM, and quality gates that sometimes fail and are retried.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from genai_prices import Usage as GenaiUsage
from genai_prices import calc_price

from hypertool_agent import ObservableLLM, PersonaMetricsCollector, WorkflowTracer, get_telemetry
from hypertool_agent import names as n

#: Chance that a stage's quality gate fails on the first try, in varied runs.
FAILURE_RATE = 0.15


def list_cost(model: str, input_tokens: int, output_tokens: int) -> float | None:
    """What the collector charges for these tokens: genai-prices' list price, or None.

    The agent prices only at your own prices; the demo reports what the fleet's cost
    series will show, so that the tests can compare it.
    """
    usage = GenaiUsage(input_tokens=input_tokens, output_tokens=output_tokens)
    try:
        return float(calc_price(usage, model).total_price)
    except LookupError:
        return None


@dataclass(frozen=True)
class DemoStage:
    """One stage of a demo workflow: who does it, and what it costs in the reference run."""

    stage: str
    title: str
    persona: str
    chatmode: str
    tokens: int
    task: str
    done: str
    models: tuple[str, ...] = ("gpt-4o",)


@dataclass(frozen=True)
class DemoWorkflow:
    """A named sequence of stages, each in its own persona."""

    name: str
    title: str
    stages: tuple[DemoStage, ...]


PACKAGE_RELEASE = DemoWorkflow(
    "package_release",
    "Package Release",
    (
        DemoStage(
            "version_bump",
            "Version Bump",
            "backend-engineer",
            "backend-dev",
            850,
            "Update version to 1.2.0",
            "Backend implementation for",
            ("gpt-4o",),
        ),
        DemoStage(
            "quality_validation",
            "Quality Validation",
            "testing-specialist",
            "testing",
            650,
            "Run full test suite",
            "Tests created for",
            ("gpt-4o-mini",),
        ),
        DemoStage(
            "publish_deploy",
            "Publish & Deploy",
            "devops-engineer",
            "devops",
            550,
            "Publish to PyPI and deploy",
            "Deployed",
            ("gpt-4o-mini",),
        ),
    ),
)
FEATURE_IMPLEMENTATION = DemoWorkflow(
    "feature_implementation",
    "Feature Implementation",
    (
        DemoStage(
            "api_implementation",
            "API Implementation",
            "backend-engineer",
            "backend-dev",
            900,
            "Add the export endpoint",
            "Endpoint implemented",
            ("gpt-4o", "claude-sonnet-4-20250514"),
        ),
        DemoStage(
            "ui_implementation",
            "UI Implementation",
            "frontend-engineer",
            "frontend-dev",
            800,
            "Build the export dialog",
            "Component built",
            ("claude-sonnet-4-20250514",),
        ),
        DemoStage(
            "integration_tests",
            "Integration Tests",
            "testing-specialist",
            "testing",
            600,
            "Cover the export flow end to end",
            "Tests created for",
            ("gpt-4o-mini",),
        ),
    ),
)
BUG_FIX = DemoWorkflow(
    "bug_fix",
    "Bug Fix",
    (
        DemoStage(
            "root_cause_analysis",
            "Root Cause Analysis",
            "observability-expert",
            "observability",
            700,
            "Find why exports time out",
            "Root cause found",
            ("claude-sonnet-4-20250514", "gpt-4o"),
        ),
        DemoStage(
            "fix_implementation",
            "Fix Implementation",
            "backend-engineer",
            "backend-dev",
            650,
            "Stream the export instead of buffering",
            "Fixed",
            ("gpt-4o",),
        ),
        DemoStage(
            "regression_tests",
            "Regression Tests",
            "testing-specialist",
            "testing",
            500,
            "Add a regression test for large exports",
            "Tests created for",
            ("gpt-4o-mini",),
        ),
    ),
)
WORKFLOWS = {w.name: w for w in (PACKAGE_RELEASE, FEATURE_IMPLEMENTATION, BUG_FIX)}


class FakeLLMClient:
    """Answers like a provider SDK, with a usage block: no network, no API key."""

    async def complete(
        self, model: str, input_tokens: int, output_tokens: int, latency: float
    ) -> dict[str, Any]:
        """One response in the shape of the model's provider."""
        await asyncio.sleep(latency)
        if model.startswith("claude"):
            return {
                "model": model,
                "content": [{"type": "text", "text": "ok"}],
                "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
            }
        return {
            "model": model,
            "choices": [{"message": {"content": "ok"}}],
            "usage": {"prompt_tokens": input_tokens, "completion_tokens": output_tokens},
        }


@dataclass
class DemoResult:
    """What the demo emitted: the ground truth the end-to-end tests compare against."""

    runs: int = 0
    tokens: list[dict[str, Any]] = field(default_factory=list)
    llm_tokens: list[dict[str, Any]] = field(default_factory=list)
    llm_calls: list[dict[str, Any]] = field(default_factory=list)
    switches: list[dict[str, str]] = field(default_factory=list)
    quality_gates: list[dict[str, str]] = field(default_factory=list)
    stage_seconds: list[dict[str, Any]] = field(default_factory=list)
    budget_remaining: dict[str, int | None] = field(default_factory=dict)


def _span_seconds(span: object) -> float | None:
    start, end = getattr(span, "start_time", None), getattr(span, "end_time", None)
    if isinstance(start, int) and isinstance(end, int):
        return (end - start) / 1e9
    return None


def _split(total: int, parts: int, rng: random.Random | None) -> list[int]:
    if rng is None or parts == 1:
        return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]
    cuts = sorted(rng.sample(range(1, total), parts - 1))
    return [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]


class DemoRunner:
    """Runs demo workflows and keeps the ground truth of everything they emitted."""

    def __init__(
        self,
        collector: PersonaMetricsCollector,
        *,
        stage_seconds: float,
        rng: random.Random | None,
        fail_stage: str | None = None,
        say: Callable[[str], None] = lambda _line: None,
    ) -> None:
        """``rng`` None runs the reference run's exact numbers; a Random varies each run."""
        self.collector = collector
        self.llm = ObservableLLM(collector)
        self.client = FakeLLMClient()
        self.stage_seconds = stage_seconds
        self.rng = rng
        self.fail_stage = fail_stage
        self.say = say
        self.result = DemoResult()

    async def _llm_calls(self, st: DemoStage, tokens: int) -> None:
        rng = self.rng
        calls = 1 if rng is None else rng.randint(1, 3)
        for part in _split(tokens, calls, rng):
            model = "gpt-4" if rng is None else rng.choice(st.models)
            output = part * 3 // 10 if rng is None else int(part * rng.uniform(0.15, 0.45))
            latency = self.stage_seconds / (2 * calls)
            if rng is not None:
                latency *= rng.uniform(0.5, 1.5)
            async with self.llm.call(model, persona=st.persona, chatmode=st.chatmode) as call:
                response = await self.client.complete(model, part - output, output, latency)
                call.record(response)
            self.result.tokens.append(
                {"persona": st.persona, "chatmode": st.chatmode, "model": model, "tokens": part}
            )
            for token_type, count in (("input", part - output), ("output", output)):
                self.result.llm_tokens.append(
                    {
                        "persona": st.persona,
                        "model": model,
                        "token_type": token_type,
                        "tokens": count,
                    }
                )
            self.result.llm_calls.append(
                {
                    "persona": st.persona,
                    "model": model,
                    "cost_usd": list_cost(model, part - output, output),
                    "seconds": _span_seconds(call.span),
                }
            )

    async def _stage(self, tracer: WorkflowTracer, workflow: DemoWorkflow, st: DemoStage) -> None:
        rng = self.rng
        tokens = st.tokens if rng is None else int(st.tokens * rng.uniform(0.6, 1.4))
        attempts = 0
        while True:
            attempts += 1
            fails = (st.stage == self.fail_stage and attempts == 1) or (
                rng is not None and attempts == 1 and rng.random() < FAILURE_RATE
            )
            try:
                async with tracer.stage_context(st.stage, st.persona) as span:
                    await self._llm_calls(st, tokens if attempts == 1 else tokens // 3)
                    await asyncio.sleep(self.stage_seconds / 2)
                    if fails:
                        raise RuntimeError(f"quality gate failed in {st.stage}")  # noqa: TRY301
            except RuntimeError as exc:
                self.say(f"   ❌ {exc}; retrying")
            else:
                self.say(f"   ✅ {st.done}: {st.task}")
            self.result.quality_gates.append(
                {
                    "workflow": workflow.name,
                    "stage": st.stage,
                    "result": n.RESULT_FAILED if fails else n.RESULT_PASSED,
                }
            )
            seconds = _span_seconds(span)
            if seconds is not None:
                self.result.stage_seconds.append(
                    {
                        "workflow": workflow.name,
                        "stage": st.stage,
                        "persona": st.persona,
                        "seconds": seconds,
                    }
                )
            # The reference run and fixed failures do not retry: their numbers are fixed.
            if not fails or rng is None:
                return

    async def run(self, workflow: DemoWorkflow) -> None:
        """Run ``workflow`` as the design note's Basic Usage does: switch, trace, record."""
        collector = self.collector
        self.say(f"🚀 Starting {workflow.title} Workflow\n" + "=" * 60)
        previous: str | None = None
        first_token = len(self.result.tokens)
        async with WorkflowTracer(workflow.name, collector) as tracer:
            for number, st in enumerate(workflow.stages, start=1):
                self.say(f"\n📝 Stage {number}: {st.title}\n   Persona: {st.persona}")
                collector.switch_persona(previous, st.persona, st.chatmode)
                self.result.switches.append(
                    {
                        "from_persona": previous or n.NO_PERSONA,
                        "to_persona": st.persona,
                        "chatmode": st.chatmode,
                    }
                )
                previous = st.persona
                used_before = sum(t["tokens"] for t in self.result.tokens)
                await self._stage(tracer, workflow, st)
                used = sum(t["tokens"] for t in self.result.tokens) - used_before
                remaining = collector.get_remaining_budget(st.persona)
                self.result.budget_remaining[st.persona] = remaining
                self.say(f"   📊 Tokens: {used}\n   💰 Budget remaining: {remaining}")
        self.result.runs += 1
        self.say("\n" + "=" * 60)
        self.say(f"✅ {workflow.title} Workflow Complete!\n\n📊 Workflow Summary:")
        personas = list(dict.fromkeys(st.persona for st in workflow.stages))
        self.say(f"   Total personas: {len(personas)}")
        total = sum(t["tokens"] for t in self.result.tokens[first_token:])
        self.say(f"   Total tokens: {total}")
        for persona in personas:
            label = persona.split("-")[0].capitalize()
            self.say(f"   {label} budget remaining: {self.result.budget_remaining[persona]}")


def run_demo(
    workflows: list[str],
    *,
    stage_seconds: float,
    exact: bool,
    fail_stage: str | None,
    count: int | None,
    loop_interval: float | None,
    seed: int | None,
    as_json: bool,
    out: TextIO,
) -> DemoResult:
    """Run the demo workflows ``count`` times (or until interrupted when looping)."""
    telemetry = get_telemetry()

    def say(line: str) -> None:
        if not as_json:
            print(line, file=out, flush=True)

    runner = DemoRunner(
        PersonaMetricsCollector(telemetry=telemetry),
        stage_seconds=stage_seconds,
        rng=None if exact else random.Random(seed),
        fail_stage=fail_stage,
        say=say,
    )
    started = time.monotonic()
    iteration = 0
    try:
        while loop_interval is not None or iteration < (count or 1):
            iteration += 1
            for name in workflows:
                asyncio.run(runner.run(WORKFLOWS[name]))
            if loop_interval is not None:
                telemetry.flush()
                time.sleep(loop_interval)
    except KeyboardInterrupt:
        say("\ninterrupted")
    flushed = telemetry.flush()
    result = runner.result
    if as_json:
        print(json.dumps(result.__dict__, sort_keys=True), file=out)
    else:
        endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4317")
        state = "sent" if flushed else "NOT confirmed (is the collector up?)"
        say(
            f"\n📈 {result.runs} workflow run(s); telemetry {state} over OTLP to {endpoint} "
            f"in {time.monotonic() - started:.1f}s. Query Prometheus for hypertool_* series."
        )
    return result
