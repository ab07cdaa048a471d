"""What a collector restart loses: tokens recorded against tokens counted, spool off and on.

Two runs, each with the spool off (``HYPERTOOL_SPOOL=off``: failed exports dropped, as
before the spool) and on:

- ``restart``: issue 20's case. 20 short-lived agents, started 0.2 s apart, each record
  10 x 100 tokens over about 2 s with a metric export every 500 ms. The collector is
  SIGKILLed when the 10th starts and is back 2.7 s later. Then one more agent records a
  token under another persona: its export is the "next export of any agent" that sends
  what waits in the spool.
- ``chaos``: tests/e2e/test_crash.py's run: agents starting and exiting continuously while
  the collector is killed and kept down for 3 s, five times.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

from hypertool_agent import spool_status
from tests.conftest import NativeStack, running_stack
from tests.e2e.test_crash import AGENT, crash_run

AGENTS = 20
KILL_AFTER = 10
START_EVERY_S = 0.2
OUTAGE_S = 2.7
RECORDS = 10
TOKENS = 100


def _counted(native: NativeStack, persona: str) -> float:
    result = native.prometheus.query(
        f'sum(hypertool_persona_tokens_used_total{{persona="{persona}"}})'
    )
    return result[0].value if result else 0.0


def _agent(native: NativeStack, persona: str, records: int, spool: bool) -> subprocess.Popen[bytes]:
    env = native.agent_env(
        PERSONA=persona,
        RECORDS=str(records),
        TOKENS=str(TOKENS),
        OTEL_METRIC_EXPORT_INTERVAL="500",
        HYPERTOOL_SPOOL="on" if spool else "off",
    )
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(AGENT)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def restart(spool: bool) -> dict[str, Any]:
    """Issue 20's restart: 20 agents, a SIGKILL at the 10th, back after 2.7 s."""
    persona = f"restart-{'spool' if spool else 'nospool'}"
    with tempfile.TemporaryDirectory() as tmp, running_stack(Path(tmp), "1s") as native:
        procs = []
        killed_at = None
        for i in range(AGENTS):
            procs.append(_agent(native, persona, RECORDS, spool))
            if i + 1 == KILL_AFTER:
                native.stack.crash("collector")
                killed_at = time.monotonic()
            if killed_at is not None and time.monotonic() - killed_at >= OUTAGE_S:
                native.stack.up()
                killed_at = None
            time.sleep(START_EVERY_S)
        if killed_at is not None:
            time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - killed_at)))
            native.stack.up()
        for p in procs:
            p.wait(120)
        time.sleep(3)
        before_next = _counted(native, persona)
        waiting = sum(s.files for s in spool_status(native.spool_dir))
        _agent(native, f"{persona}-next", 1, spool).wait(120)
        time.sleep(3)
        emitted = AGENTS * RECORDS * TOKENS
        counted = _counted(native, persona)
    return {
        "emitted": emitted,
        "counted_before_next_agent": before_next,
        "files_waiting_before_next_agent": waiting,
        "counted": counted,
        "lost": emitted - counted,
        "lost_share": round((emitted - counted) / emitted, 4),
    }


def chaos(spool: bool) -> dict[str, Any]:
    """Five SIGKILLs, 3 s down each, agents starting and exiting throughout."""
    with tempfile.TemporaryDirectory() as tmp:
        run = crash_run(Path(tmp), spool=spool, persona=f"chaos-{spool}")
    return {
        **dataclasses.asdict(run),
        "lost": run.emitted - run.counted,
        "lost_share": round((run.emitted - run.counted) / max(run.emitted, 1), 4),
    }


def run() -> dict[str, Any]:
    """Both scenarios, spool off (before) and on (after), in one run."""
    return {
        "restart": {"spool_off": restart(False), "spool_on": restart(True)},
        "chaos": {"spool_off": chaos(False), "spool_on": chaos(True)},
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
