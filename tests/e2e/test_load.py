"""Load without loss: 200 agent processes at once, and one process recording from 32 threads.

Each process is the real library, exporting at exit; the totals in Prometheus must equal
what the processes recorded, to the token. The collector's CPU time and peak RSS over
the run are printed for docs/reliability.md (no test asserts a time).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest

from hypertool_agent import names as n
from hypertool_tools import contract as c
from tests.conftest import NativeStack, running_stack
from tests.e2e._producers import JOB, assert_settled

pytestmark = pytest.mark.e2e

TOKENS = c.TOKENS_USED.prometheus_name
PROCESSES = 200
THREADS = 32
#: One short agent process: a few seconds of calls spread over three personas.
AGENT = """
    import os, time
    from hypertool_agent import PersonaMetricsCollector
    index = int(os.environ["INDEX"])
    collector = PersonaMetricsCollector()
    for step in range(5):
        collector.record_token_usage(f"load-{(index + step) % 3}", "load", "gpt-4o", index + step)
        time.sleep(0.4)
"""
THREADED = """
    import os, threading
    from hypertool_agent import PersonaMetricsCollector
    collector = PersonaMetricsCollector()
    def work(thread):
        for i in range(1000):
            collector.record_token_usage(f"threads-{thread % 4}", "load", "gpt-4o", 1 + i % 7)
    count = int(os.environ["THREADS"])
    threads = [threading.Thread(target=work, args=(t,)) for t in range(count)]
    for t in threads: t.start()
    for t in threads: t.join()
"""


def expected_processes() -> dict[str, float]:
    """What AGENT records in total per persona over PROCESSES processes."""
    totals: dict[str, float] = {}
    for index in range(PROCESSES):
        for step in range(5):
            persona = f"load-{(index + step) % 3}"
            totals[persona] = totals.get(persona, 0) + index + step
    return totals


def collector_usage(native: NativeStack) -> tuple[float, float]:
    """The collector's CPU seconds so far and its peak RSS in MiB over the last 10 minutes."""
    cpu = native.prometheus.query('otelcol_process_cpu_seconds{job="otel-collector"}')
    rss = native.prometheus.query(
        f'max_over_time({c.OTELCOL_MEMORY_RSS}{{job="otel-collector"}}[10m])'
    )
    return (cpu[0].value if cpu else 0.0), (rss[0].value / 2**20 if rss else 0.0)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NativeStack]:
    """A stack of its own: the load must not share a collector with other tests."""
    with running_stack(tmp_path_factory.mktemp("load"), "1s") as native:
        yield native


def test_200_processes_at_once_add_up(stack: NativeStack) -> None:
    """200 agent processes started together, each a few seconds long: every token counted."""
    cpu_before, _ = collector_usage(stack)
    code = textwrap.dedent(AGENT)
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", code],
            env=stack.agent_env(INDEX=str(index)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for index in range(PROCESSES)
    ]
    codes = [p.wait(300) for p in processes]
    assert codes == [0] * PROCESSES
    want = expected_processes()
    assert_settled(
        stack,
        [(f'sum by ({n.PERSONA}) ({TOKENS}{{{JOB},{n.PERSONA}=~"load-.*"}})', n.PERSONA, want)],
        timeout=120,
    )
    cpu_after, rss = collector_usage(stack)
    print(f"\n200 processes: collector CPU {cpu_after - cpu_before:.1f} s, peak RSS {rss:.0f} MiB")


def test_32_threads_in_one_process_add_up(stack: NativeStack) -> None:
    """32 threads recording 1000 usages each, at once, in one process: exact per persona."""
    stack.run_python(THREADED, THREADS=str(THREADS))
    want: dict[str, float] = {}
    for thread in range(THREADS):
        persona = f"threads-{thread % 4}"
        want[persona] = want.get(persona, 0) + sum(1 + i % 7 for i in range(1000))
    assert_settled(
        stack,
        [(f'sum by ({n.PERSONA}) ({TOKENS}{{{JOB},{n.PERSONA}=~"threads-.*"}})', n.PERSONA, want)],
    )
