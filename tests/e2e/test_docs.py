"""The code blocks of README.md, packages/agent/README.md and docs/*.md, run for real.

Every fenced bash, sh, shell, console and python block that no marker keeps from running
(tests/unit/test_docs_blocks.py reads them and checks the markers) runs here, in reading
order, against one native stack on free loopback ports, as a reader would run it after
`scripts/up`:

- the stack's state lives in a cache folder of the test's own (``HYPERTOOL_CACHE``), whose
  built binaries are links to the real cache: `scripts/up`, `hypertool stack status` and
  `hypertool stack down` in a block act on this stack, never on one the user runs;
- every port is given as the launcher's own setting (``HYPERTOOL_<NAME>_PORT``), agents get
  ``OTEL_EXPORTER_OTLP_ENDPOINT``, and ``.venv/bin`` leads ``PATH``;
- shell blocks run with ``bash -euo pipefail`` from the repository's root, Python blocks
  with this interpreter (the repository's .venv) from an empty folder;
- each must exit 0 within its timeout, and print what its ``expect`` markers (or its
  console session's output lines) say; the stack is started again before each block, so a
  block that stops it (`hypertool stack down`) stops only itself.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path

import pytest

from hypertool_tools.stack.build import cache_dir
from hypertool_tools.stack.launcher import Ports
from tests.conftest import ROOT, free_stack_ports
from tests.unit.test_docs_blocks import Block, runnable_blocks

pytestmark = pytest.mark.e2e

#: What a failing block shows of its output.
OUTPUT_TAIL = 4000


@dataclass
class DocsStack:
    """The environment the blocks run in, with the stack's ports, and their folder."""

    env: dict[str, str]
    workdir: Path

    def hypertool(self, *args: str) -> None:
        """Run the `hypertool` command in the blocks' environment; fail with its output."""
        done = subprocess.run(
            [sys.executable, "-m", "hypertool_tools.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"hypertool {' '.join(args)}: {done.stdout}{done.stderr}"


def linked_cache(cache: Path) -> None:
    """A cache folder whose entries (built binaries, tools) link to the real cache's.

    Everything but ``stack``, the state folder `hypertool stack` uses by default: the
    blocks' `scripts/up` and `hypertool stack ...` then find the binaries built and
    the test's stack, not the user's.
    """
    cache.mkdir(parents=True)
    real = cache_dir()
    for entry in sorted(real.iterdir()) if real.is_dir() else []:
        if entry.name != "stack":
            (cache / entry.name).symlink_to(entry)


def block_env(ports: Ports, cache: Path) -> dict[str, str]:
    """The environment of every block: the stack's ports and endpoint, .venv/bin first."""
    settings = {
        f"HYPERTOOL_{f.name.upper()}_PORT": str(getattr(ports, f.name)) for f in fields(ports)
    }
    return {
        **os.environ,
        **settings,
        "HYPERTOOL_CACHE": str(cache),
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{ports.otlp_grpc}",
        # This stack's own spool: what its agents could not send stays with it.
        "HYPERTOOL_SPOOL_DIR": str(cache / "stack" / "spool"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }


@pytest.fixture(scope="module")
def docs_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DocsStack]:
    """One stack for every block, started as `scripts/up` starts it, in a cache of its own."""
    cache = tmp_path_factory.mktemp("docs") / "cache"
    linked_cache(cache)
    docs = DocsStack(block_env(free_stack_ports(), cache), tmp_path_factory.mktemp("workdir"))
    # Started by the command, not in this process: the services are nobody's children
    # here, so a block's `hypertool stack down` stops them cleanly.
    docs.hypertool("stack", "up")
    try:
        yield docs
    finally:
        docs.hypertool("stack", "down")


def run_block(block: Block, docs: DocsStack) -> subprocess.CompletedProcess[str]:
    """Run one block to its end, or until its timeout."""
    if block.kind == "python":
        argv, cwd = [sys.executable, "-c", block.script], docs.workdir
    else:
        argv, cwd = ["bash", "-euo", "pipefail", "-c", block.script], ROOT
    return subprocess.run(
        argv,
        cwd=cwd,
        env=docs.env,
        capture_output=True,
        text=True,
        timeout=block.timeout,
        check=False,
    )


@pytest.mark.parametrize(
    "block",
    [
        pytest.param(b, id=b.id, marks=pytest.mark.timeout(b.timeout + 90))
        for b in runnable_blocks()
    ],
)
def test_block_runs_as_written(block: Block, docs_stack: DocsStack) -> None:
    """The block exits 0 against the running stack and prints what it says it prints."""
    docs_stack.hypertool("stack", "up")  # again, if a block before stopped it
    done = run_block(block, docs_stack)
    output = done.stdout + done.stderr
    assert done.returncode == 0, (
        f"{block.id} exited {done.returncode}:\n{block.script}\n--- output ---\n"
        f"{output[-OUTPUT_TAIL:]}"
    )
    missing = [text for text in block.expected if text not in output]
    assert not missing, f"{block.id} did not print {missing}:\n{output[-OUTPUT_TAIL:]}"
