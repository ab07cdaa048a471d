"""Trace loss: a call whose agent span never arrives is counted after the wait, not lost.

A real Strands app (tool shape: ``billing_agent`` runs inside ``triage_agent``'s tool call)
exports each span as it ends, every 100 ms. The fake provider answers triage's first call
and holds the second (billing's), so the process is mid-run: triage's chat span has been
exported, and no other span of the run has ended. Then the process is killed with SIGKILL:
its cycle, tool and agent spans never arrive. The collector, whose attribution wait is 2 s
here (``HYPERTOOL_ATTRIBUTION_WAIT``), counts the call once that wait is over under the
app's own persona (its service.name; the resource names none) and in
``hypertool_pipeline_unattributed_total{reason="wait_expired"}``
(docs/accounting.md, "Which agent spent it").

(An app that is no agent at all counts at once, as ``no_agent_span``:
test_agent_frameworks.py.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hypertool_agent import names as n
from hypertool_tools import contract as c
from tests.conftest import LOOPBACK, NativeStack, running_stack
from tests.e2e._producers import AGENT_PROMPTS, JOB, LLM_TOKENS, TOKENS, assert_settled
from tests.fakes.llm_api import FakeLLM
from tests.producers import genai_python
from tests.producers.strands_app import FIRST_AGENT

pytestmark = pytest.mark.e2e

WAIT = "2s"
SERVICE = "strands-killed-app"
SCOPE = "strands.telemetry.tracer"
#: This module's own model, so that its series are told apart by it.
MODEL = "gpt-4.1-nano"
INPUT_TOKENS, OUTPUT_TOKENS = 19, 7
UNATTRIBUTED = c.PIPELINE_UNATTRIBUTED.prometheus_name
SWITCHES = c.PERSONA_SWITCHES.prometheus_name
DURATION_COUNT = f"{c.PERSONA_DURATION.prometheus_name}_count"
ACCEPTED_SPANS = "otelcol_receiver_accepted_spans"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NativeStack]:
    """One stack for the module; usage waits 2 s for its agent span."""
    env = {c.ATTRIBUTION_WAIT_ENV: WAIT}
    with running_stack(tmp_path_factory.mktemp("attribution-loss"), collector_env=env) as native:
        yield native


def accepted_spans(stack: NativeStack) -> float:
    """Spans the collector's receivers accepted so far (its own telemetry)."""
    url = f"http://127.0.0.1:{stack.stack.ports.collector_telemetry}/metrics"
    with LOOPBACK.open(url, timeout=10) as response:
        text = response.read().decode()
    names = (ACCEPTED_SPANS, f"{ACCEPTED_SPANS}_total")
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.split("{", 1)[0].split(" ", 1)[0] in names
    )


def spans_arrived(stack: NativeStack, baseline: float, count: int, timeout: float) -> float:
    """Spans accepted since ``baseline``, once ``count`` are (or after ``timeout``)."""
    deadline = time.monotonic() + timeout
    arrived = accepted_spans(stack) - baseline
    while arrived < count and time.monotonic() < deadline:
        time.sleep(0.05)
        arrived = accepted_spans(stack) - baseline
    return arrived


def test_a_killed_agents_exported_call_counts_after_the_wait(
    stack: NativeStack, tmp_path: Path
) -> None:
    """Killed mid-run after 1 call: its 26 tokens count as the service's, once, wait_expired."""
    why = genai_python.missing(genai_python.STRANDS_REQUIREMENTS)
    if why is not None:
        pytest.fail(why)
    baseline = accepted_spans(stack)
    with FakeLLM(
        input_tokens=INPUT_TOKENS,
        output_tokens=OUTPUT_TOKENS,
        agents=AGENT_PROMPTS,
        hold_from=2,
        hold_seconds=120,
    ) as llm:
        env = genai_python.app_env(
            base_url=llm.url,
            otlp_endpoint=stack.stack.otlp_grpc_endpoint,
            service_name=SERVICE,
            persona=None,
            OTEL_BSP_SCHEDULE_DELAY="100",
        )
        command = genai_python.app_command(
            *("--runs", "1", "--shape", "tool", "--model", MODEL),
            app=genai_python.STRANDS_APP,
            requirements=genai_python.STRANDS_REQUIREMENTS,
        )
        output = (tmp_path / "app.log").open("w")
        app = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            held = llm.holding.wait(90)
            # Triage's chat span, exported within 100 ms of its end: the only span ended.
            arrived = spans_arrived(stack, baseline, 1, timeout=20)
        finally:
            os.killpg(app.pid, signal.SIGKILL)
            app.wait(timeout=30)
            output.close()
        log = (tmp_path / "app.log").read_text()[-3000:]
        assert held, f"the app never made its second call: {log}"
        assert app.returncode == -signal.SIGKILL, log
        # Nothing more arrives from a killed process.
        time.sleep(1)
        assert accepted_spans(stack) - baseline == arrived == 1
    [call] = llm.ledger.snapshot()
    assert (call.agent, call.model, call.total_tokens) == (FIRST_AGENT, MODEL, 26)
    total = float(call.total_tokens)
    assert_settled(
        stack,
        [
            (
                f'sum by ({n.PERSONA}) ({TOKENS}{{{JOB},{n.MODEL}="{MODEL}"}})',
                n.PERSONA,
                {SERVICE: total},
            ),
            (
                f'sum by ({n.TOKEN_TYPE}) ({LLM_TOKENS}{{{JOB},{n.PERSONA}="{SERVICE}"}})',
                n.TOKEN_TYPE,
                {
                    n.TOKEN_TYPE_INPUT: float(INPUT_TOKENS),
                    n.TOKEN_TYPE_OUTPUT: float(OUTPUT_TOKENS),
                },
            ),
            (
                f'sum by ({n.REASON}) ({UNATTRIBUTED}{{{JOB},producer="{SCOPE}"}})',
                n.REASON,
                {c.REASON_WAIT_EXPIRED: 1.0},
            ),
            # No agent span arrived: no switch, no time in a persona.
            (f"sum({SWITCHES}{{{JOB}}})", None, {}),
            (f"sum({DURATION_COUNT}{{{JOB}}})", None, {}),
        ],
    )
