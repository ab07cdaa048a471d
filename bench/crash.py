"""What a collector crash loses: usage acknowledged against usage counted, under repeated SIGKILLs.

The run is tests/e2e/test_crash.py's: agent processes (the library) run one after another,
each recording a known number of tokens and exiting, while the collector is killed with
SIGKILL every few seconds and started again at once. The hour's usage as the budget rules
read it (``increase(...[1h] anchored)``) is compared with what the agents had exported
without error, at the test scrape interval (1 s) and at the compose default (15 s).
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import Any

from tests.e2e.test_crash import crash_run


def _run(interval: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        run = crash_run(Path(tmp), interval)
    return {
        **dataclasses.asdict(run),
        "lost": max(run.acknowledged - run.counted, 0.0),
        "counted_beyond_acknowledged": max(run.counted - run.acknowledged, 0.0),
    }


def run() -> dict[str, Any]:
    """The loss at the test scrape interval (1 s) and at the compose default (15 s)."""
    return {"scrape_1s": _run("1s"), "scrape_15s": _run(None)}


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
