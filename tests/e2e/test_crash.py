"""A collector killed with SIGKILL, again and again, loses no acknowledged token.

Agent processes (the library) run one after another, each recording a known number of
tokens and exiting; meanwhile the collector is killed every few seconds and started again
at once. An agent's tokens count as acknowledged when it exited having exported them (no
export error on its stderr). The collector journals each export before acknowledging it
(the ledger processor), so Prometheus' windowed usage must hold every acknowledged token,
at the compose scrape interval (15 s) that used to lose up to one interval per crash.
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

from hypertool_tools import contract as c
from tests.conftest import running_stack

pytestmark = pytest.mark.e2e

CRASHES = 5
SECONDS_BETWEEN_CRASHES = 6.0
TOKENS_PER_PROCESS = 100
AGENT = """
    import os
    from hypertool_agent import PersonaMetricsCollector
    tokens = int(os.environ["TOKENS"])
    PersonaMetricsCollector().record_token_usage("crash", "bench", "gpt-4o", tokens)
"""
WINDOWED = f'sum(increase({c.TOKENS_USED.prometheus_name}{{persona="crash"}}[1h] anchored))'


@dataclass(frozen=True)
class CrashRun:
    """What the agents had acknowledged, what failed to export, and what Prometheus counted."""

    scrape_interval: str
    crashes: int
    acknowledged: int
    failed: int
    counted: float


def crash_run(state_dir: Path, interval: str | None, crashes: int = CRASHES) -> CrashRun:
    """Agents in a loop while the collector is SIGKILLed ``crashes`` times; None: 15 s scrape."""
    with running_stack(state_dir, interval) as native:
        stop = threading.Event()
        tally = {"acknowledged": 0, "failed": 0}

        def agents() -> None:
            while not stop.is_set():
                done = subprocess.run(
                    [sys.executable, "-c", textwrap.dedent(AGENT)],
                    env=native.agent_env(TOKENS=str(TOKENS_PER_PROCESS)),
                    check=False,
                    capture_output=True,
                    timeout=60,
                )
                failed = b"dropped" in done.stderr or b"Failed to export" in done.stderr
                ok = done.returncode == 0 and not failed
                tally["acknowledged" if ok else "failed"] += TOKENS_PER_PROCESS

        runner = threading.Thread(target=agents, daemon=True)
        runner.start()
        for _ in range(crashes):
            time.sleep(SECONDS_BETWEEN_CRASHES)
            native.stack.crash("collector")
            native.stack.up()
        time.sleep(SECONDS_BETWEEN_CRASHES)
        stop.set()
        runner.join()
        scrape = 15 if interval is None else 1
        time.sleep(2 * scrape + 2)  # two scrapes: the last totals are stored
        result = native.prometheus.query(WINDOWED)
    return CrashRun(
        scrape_interval=interval or "15s",
        crashes=crashes,
        acknowledged=tally["acknowledged"],
        failed=tally["failed"],
        counted=result[0].value if result else 0.0,
    )


def test_repeated_sigkills_lose_no_acknowledged_token(tmp_path: Path) -> None:
    """Five SIGKILLs at the compose scrape interval: every acknowledged token is counted."""
    run = crash_run(tmp_path, None)
    assert run.acknowledged >= 20 * TOKENS_PER_PROCESS, run  # enough traffic to mean something
    assert run.counted >= run.acknowledged, run
    # More can be counted than acknowledged only by exports the collector journaled but
    # could not answer before it died: those agents retry or report a failure.
    assert run.counted <= run.acknowledged + run.failed + run.crashes * TOKENS_PER_PROCESS, run
