"""A collector killed with SIGKILL, again and again, loses no token and counts none twice.

Agent processes (the library) start and exit continuously, several at a time, each
recording a known number of tokens over about two seconds with a metric export every
500 ms. Meanwhile the collector is killed and stays down for a few seconds, five times:
processes start, export, fail and exit while it is down. What they could not send waits
in the spool and goes out with the next successful export of any agent; what the
collector journaled but could not answer is sent again and recognised by its delivery
id. Prometheus must end up with exactly the tokens the agents recorded, and the spool
empty, without anyone draining it by hand.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from hypertool_agent import spool_status
from hypertool_tools import contract as c
from tests.conftest import NativeStack, running_stack

pytestmark = pytest.mark.e2e

CRASHES = 5
#: Between a restart and the next kill: agents export, and drain the spool.
SECONDS_UP = 4.0
#: How long the collector stays down each time: longer than an agent lives.
SECONDS_DOWN = 3.0
PARALLEL_AGENTS = 3
RECORDS_PER_AGENT = 10
TOKENS_PER_RECORD = 100
AGENT = """
    import os, time
    from hypertool_agent import PersonaMetricsCollector
    collector = PersonaMetricsCollector()
    for _ in range(int(os.environ["RECORDS"])):
        collector.record_token_usage(os.environ["PERSONA"], "bench", "gpt-4o",
                                     int(os.environ["TOKENS"]))
        time.sleep(0.2)
"""


@dataclass(frozen=True)
class CrashRun:
    """What the agents recorded, what Prometheus counted, and what still waits."""

    crashes: int
    processes: int
    emitted: int
    counted: float
    windowed: float
    waiting_files: int
    spool: bool


def _windowed(persona: str) -> str:
    return f'sum(increase({c.TOKENS_USED.prometheus_name}{{persona="{persona}"}}[1h] anchored))'


def _total(persona: str) -> str:
    return f'sum({c.TOKENS_USED.prometheus_name}{{persona="{persona}"}})'


class Agents:
    """Agent processes started one after another on ``PARALLEL_AGENTS`` threads."""

    def __init__(self, native: NativeStack, persona: str, spool: bool) -> None:
        """Agents of ``persona``; ``spool=False`` runs them as before the spool existed."""
        self.env = native.agent_env(
            PERSONA=persona,
            RECORDS=str(RECORDS_PER_AGENT),
            TOKENS=str(TOKENS_PER_RECORD),
            OTEL_METRIC_EXPORT_INTERVAL="500",
            HYPERTOOL_SPOOL="on" if spool else "off",
        )
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.processes = self.emitted = 0
        self.threads = [threading.Thread(target=self._loop) for _ in range(PARALLEL_AGENTS)]

    def __enter__(self) -> Agents:
        """Start the threads."""
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *_: object) -> None:
        """Let the running processes finish."""
        self.stop.set()
        for t in self.threads:
            t.join()

    def _loop(self) -> None:
        while not self.stop.is_set():
            done = subprocess.run(
                [sys.executable, "-c", textwrap.dedent(AGENT)],
                env=self.env,
                check=False,
                capture_output=True,
                timeout=120,
            )
            assert done.returncode == 0, done.stderr[-2000:]
            with self.lock:  # recorded, whatever became of the export
                self.processes += 1
                self.emitted += RECORDS_PER_AGENT * TOKENS_PER_RECORD


def crash_run(
    state_dir: Path,
    crashes: int = CRASHES,
    *,
    spool: bool = True,
    persona: str = "crash",
    seconds_down: float = SECONDS_DOWN,
) -> CrashRun:
    """Agents running while the collector is SIGKILLed and kept down ``crashes`` times."""
    with running_stack(state_dir, "1s") as native:
        with Agents(native, persona, spool) as agents:
            for _ in range(crashes):
                time.sleep(SECONDS_UP)
                native.stack.crash("collector")
                time.sleep(seconds_down)
                native.stack.up()
            time.sleep(SECONDS_UP)  # the agents after the last restart drain the spool
        waiting = sum(s.files for s in spool_status(native.spool_dir))
        emitted = agents.emitted
        native.prometheus.wait_for(_total(persona), lambda r: bool(r) and r[0].value >= emitted)
        time.sleep(3)  # a few more scrapes: a late duplicate would show now
        total = native.prometheus.query(_total(persona))
        windowed = native.prometheus.query(_windowed(persona))
    return CrashRun(
        crashes=crashes,
        processes=agents.processes,
        emitted=emitted,
        counted=total[0].value if total else 0.0,
        windowed=windowed[0].value if windowed else 0.0,
        waiting_files=waiting,
        spool=spool,
    )


def test_five_sigkills_with_agents_exiting_while_down_lose_and_double_no_token(
    tmp_path: Path,
) -> None:
    """Five SIGKILLs with agents exiting while down: every token counted once, spool empty."""
    run = crash_run(tmp_path)
    assert run.processes >= 3 * CRASHES, run  # enough traffic, some of it while down
    assert run.counted == run.emitted, run
    assert run.windowed == run.emitted, run  # what the budget rules read
    assert run.waiting_files == 0, run
