"""Fairness under memory pressure: a flooding producer is refused before agents are.

At a 40 MiB memory limit the memory_limiter alone refused most of a flood and most of the
well-behaved agents' exports alike (BENCHMARKS.md). With the admission processor first
in each pipeline, the flood (raw OTLP requests of 5,000 points from a resource with no
service.name: the anonymous producer) is refused with a retryable error while every
agent's tokens are counted, and each refused item is counted with its reason and
producer in the collector's own telemetry, which Prometheus scrapes.

The agents use the library as it is, exporting once at exit: an export the collector
refuses is not sent again, so every token counted got through during the flood.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import pytest

from bench.flood import flood_outcomes, start_flooders
from hypertool_tools import contract as c
from tests.conftest import NativeStack, running_stack
from tests.e2e._producers import JOB, assert_settled

pytestmark = pytest.mark.e2e

TOKENS = c.TOKENS_USED.prometheus_name
REFUSED = c.OTELCOL_ADMISSION_REFUSED
POINTS_PER_FLOOD_REQUEST = 5000
FLOODERS = 2
AGENTS = 30
TOKENS_PER_AGENT = 100
SERVICE = "fair-agent"
#: Long enough to outlast the agents, which run two at a time.
FLOOD_SECONDS = 30

AGENT = """
    from hypertool_agent import PersonaMetricsCollector
    PersonaMetricsCollector().record_token_usage("fair-share", "calm", "gpt-4o", 100)
"""


def _agent(native: NativeStack) -> bool:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(AGENT)],
        # No spool: fairness is what the collector lets through while flooded, not what
        # the agents deliver once the flood is over.
        env=native.agent_env(OTEL_SERVICE_NAME=SERVICE, HYPERTOOL_SPOOL="off"),
        check=False,
        timeout=60,
        capture_output=True,
    )
    return done.returncode == 0


def test_a_flood_is_refused_and_every_agent_is_counted(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """At 40 MiB: all agents' tokens counted; the flood refused, counted by reason and producer."""
    tight = {
        "HYPERTOOL_COLLECTOR_MEMORY_LIMIT_MIB": "40",
        "HYPERTOOL_COLLECTOR_MEMORY_SPIKE_MIB": "10",
    }
    with running_stack(tmp_path_factory.mktemp("fair"), "1s", collector_env=tight) as native:
        flooders = start_flooders(native, FLOODERS, FLOOD_SECONDS)
        try:
            with ThreadPoolExecutor(2) as pool:
                exited = list(pool.map(lambda _: _agent(native), range(AGENTS)))
        finally:
            outcomes = flood_outcomes(flooders, FLOOD_SECONDS)
        refused_requests = sum(int(r) for _, r in outcomes)
        assert all(exited)
        assert refused_requests > 0, "the flood was never refused"

        assert_settled(
            native,
            [
                (
                    f'sum({TOKENS}{{{JOB},persona="fair-share"}})',
                    None,
                    {"": AGENTS * TOKENS_PER_AGENT},
                )
            ],
        )
        # Each refused flood request is counted, all its points under the flood's reason and
        # its producer; the agents' producer lost nothing.
        refused = {
            tuple(s.labels.get(k, "") for k in c.ADMISSION_REFUSED_LABELS): s.value
            for s in native.prometheus.wait_for(
                f"sum by (signal, reason, producer) ({REFUSED})", bool
            )
        }
        flood = ("metrics", c.REASON_OVER_FAIR_SHARE, c.ANONYMOUS_PRODUCER)
        assert set(refused) == {flood}, refused
        assert refused[flood] % POINTS_PER_FLOOD_REQUEST == 0
        # The memory_limiter, the last resort, may have refused a flood request too.
        assert 0 < refused[flood] <= refused_requests * POINTS_PER_FLOOD_REQUEST
