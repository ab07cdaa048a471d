"""Our collector components (collector-config/components): their Go tests, run here.

With the Go the stack is built with, and the race detector: the connector and the
processor are called from many receiver goroutines at once.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from hypertool_tools.stack.build import COMPONENTS, go_binary

pytestmark = pytest.mark.go

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(p.parent.name for p in (ROOT / COMPONENTS).glob("*/go.mod"))


def test_every_component_is_found() -> None:
    """Our components, the price book and the module they share are here to test."""
    assert MODULES == [
        "admissionprocessor",
        "agentsumsconnector",
        "genaiconnector",
        "genaiprices",
        "internal",
        "ledgerprocessor",
    ]


@pytest.mark.parametrize("module", MODULES)
def test_go_tests_pass(module: str) -> None:
    """The component's Go tests pass, with the race detector."""
    done = subprocess.run(
        [go_binary(), "test", "-race", "-count=1", "./..."],
        cwd=ROOT / COMPONENTS / module,
        env={**os.environ, "GOTOOLCHAIN": "auto", "GOFLAGS": "-mod=mod"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
