"""Delivery through the spool against the real collector: once, however often it is sent.

An agent exits while the collector is down; its tokens wait in the spool. The file is
then duplicated, as a drainer killed between the collector's answer and the file's
removal leaves it for the next: ``hypertool spool drain`` sends both copies, and the
ledger counts the tokens once and the second copy's points as ``duplicate``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hypertool_tools import contract as c
from tests.conftest import NativeStack, running_stack

pytestmark = pytest.mark.e2e

AGENT = """
    from hypertool_agent import PersonaMetricsCollector
    collector = PersonaMetricsCollector()
    collector.record_token_usage("spooled", "code-gen", "gpt-4o", 300)
    collector.record_token_usage("spooled", "code-gen", "claude-sonnet-4", 70)
"""
TOKENS = c.TOKENS_USED.prometheus_name
UNUSED = c.PIPELINE_UNUSED.prometheus_name


@pytest.fixture(scope="module")
def native(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NativeStack]:
    """A stack of this module's own."""
    with running_stack(tmp_path_factory.mktemp("stack")) as stack:
        yield stack


def hypertool(native: NativeStack, *args: str) -> subprocess.CompletedProcess[str]:
    """The ``hypertool`` command, as a user runs it next to the agents."""
    return subprocess.run(
        [sys.executable, "-m", "hypertool_tools", *args],
        env=native.agent_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_spooled_export_sent_twice_is_counted_once(native: NativeStack) -> None:
    """Two copies of one spooled export, drained after the restart: 370 tokens, not 740."""
    native.stack.crash("collector")
    native.run_python(AGENT)
    status = json.loads(hypertool(native, "spool", "status", "--json").stdout)
    assert [(s["files"], s["points"]) for s in status] == [(1, 2)]
    (waiting,) = Path(status[0]["directory"]).glob("*.json")
    shutil.copy(waiting, waiting.with_name(waiting.name.replace(".json", "-copy.json")))
    native.stack.up()
    drained = hypertool(native, "spool", "drain")
    assert drained.returncode == 0, drained.stdout + drained.stderr
    assert "sent 2 files, 0 wait" in drained.stdout
    total = f'sum({TOKENS}{{persona="spooled"}})'
    native.prometheus.wait_for(total, lambda r: bool(r) and r[0].value >= 370)
    duplicates = f'sum({UNUSED}{{reason="{c.REASON_DUPLICATE}"}})'
    native.prometheus.wait_for(duplicates, lambda r: bool(r) and r[0].value >= 2)
    assert native.prometheus.query(total)[0].value == 370
    assert native.prometheus.query(duplicates)[0].value == 2  # the copy's two points
    assert json.loads(hypertool(native, "spool", "status", "--json").stdout)[0]["files"] == 0
