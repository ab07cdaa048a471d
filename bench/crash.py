"""What a collector crash loses: usage emitted against usage counted, under repeated SIGKILLs.

Agent processes (the library) run one after another for the whole measurement, each
recording a known number of tokens and exiting (its exit hook exports). Meanwhile the
collector is killed with SIGKILL every few seconds and started again at once, CRASHES
times. At the end, the hour's usage as the budget rules read it
(``increase(...[1h] anchored)``) is compared with what the agents recorded, at the test
scrape interval (1 s) and at the compose default (15 s).

This measures the open problem of issue 12 ("no acknowledged token lost on a collector
crash"): today the tokens the collector received since Prometheus' last scrape die with
it.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

from tests.conftest import running_stack

CRASHES = 5
SECONDS_BETWEEN_CRASHES = 6.0
TOKENS_PER_PROCESS = 100
AGENT = """
    import os
    from hypertool_agent import PersonaMetricsCollector
    tokens = int(os.environ["TOKENS"])
    PersonaMetricsCollector().record_token_usage("crash", "bench", "gpt-4o", tokens)
"""


def _run(interval: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, running_stack(Path(tmp), interval) as native:
        stop = threading.Event()
        delivered = [0]

        def agents() -> None:
            while not stop.is_set():
                done = subprocess.run(
                    [sys.executable, "-c", textwrap.dedent(AGENT)],
                    env=native.agent_env(TOKENS=str(TOKENS_PER_PROCESS)),
                    check=False,
                    capture_output=True,
                    timeout=60,
                )
                # An agent that could not export says so: those tokens were never
                # acknowledged, so they are not the collector's to lose.
                failed = b"dropped" in done.stderr or b"Failed to export" in done.stderr
                if done.returncode == 0 and not failed:
                    delivered[0] += TOKENS_PER_PROCESS

        runner = threading.Thread(target=agents, daemon=True)
        runner.start()
        for _ in range(CRASHES):
            time.sleep(SECONDS_BETWEEN_CRASHES)
            native.stack.crash("collector")
            native.stack.up()
        time.sleep(SECONDS_BETWEEN_CRASHES)
        stop.set()
        runner.join()
        # Two scrape intervals for the last values to be stored.
        time.sleep(2 * (15 if interval is None else 1) + 2)
        query = 'sum(increase(hypertool_persona_tokens_used_total{persona="crash"}[1h] anchored))'
        result = native.prometheus.query(query)
    counted = result[0].value if result else 0.0
    return {
        "scrape_interval": interval or "15s",
        "crashes": CRASHES,
        "tokens_acknowledged": delivered[0],
        "tokens_counted": counted,
        "lost_share": round(1 - counted / delivered[0], 4) if delivered[0] else None,
    }


def run() -> dict[str, Any]:
    """The loss at the test scrape interval (1 s) and at the compose default (15 s)."""
    return {"scrape_1s": _run("1s"), "scrape_15s": _run(None)}


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
