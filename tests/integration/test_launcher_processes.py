"""The native launcher with real processes: a service that dies at start-up.

Stand-ins for the binaries (shell scripts), so no build is needed; the launcher's checks
that start nothing are in tests/unit/test_stack.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hypertool_tools.stack.build import StackError
from tests.conftest import free_stack_ports
from tests.unit.test_stack import stack_with

pytestmark = pytest.mark.integration


def test_a_service_that_dies_at_start_up_is_reported_with_its_log(tmp_path: Path) -> None:
    """A binary that exits at once fails `up` straight away, quoting its log."""
    stack = stack_with(tmp_path, ports=free_stack_ports())
    assert stack.bins is not None
    stack.bins.collector.write_text("#!/bin/sh\necho 'config is broken' >&2\nexit 3\n")
    for healthy_enough in (stack.bins.prometheus, stack.bins.alertmanager):
        healthy_enough.write_text("#!/bin/sh\nexec sleep 60\n")
    for binary in (stack.bins.collector, stack.bins.prometheus, stack.bins.alertmanager):
        binary.chmod(0o755)
    with pytest.raises(StackError, match=r"(?s)collector exited during start-up.*config is broken"):
        stack.up(timeout=30)
    # The failed start cleaned up after itself: nothing is left running.
    assert set(stack.status().values()) == {"stopped"}
