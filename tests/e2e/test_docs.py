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
- a block that runs ``pip install`` runs in a venv of its own (``bin`` first on ``PATH``,
  ``VIRTUAL_ENV``), kept in the cache between runs and named after its pinned lines: its
  pip installs for real the first time, and finds the same pins installed after that;
- a ``fake llm: PERSONA`` block runs from an empty folder against a fake provider
  (tests/fakes/llm_api.py): the environment adds only what points a user's client at it,
  ``OPENAI_BASE_URL``/``OPENAI_API_KEY``, ``ANTHROPIC_BASE_URL``/``ANTHROPIC_API_KEY``,
  the pinned Claude Code on ``PATH`` (tests/producers/claude_code.py) and a throwaway
  ``HOME``; afterwards Prometheus must count for PERSONA exactly the tokens the fake
  served, per model too, and still a few scrapes later;
- each must exit 0 within its timeout, and print what its ``expect`` markers (or its
  console session's output lines) say; the stack is started again before each block, so a
  block that stops it (`hypertool stack down`) stops only itself.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path

import pytest

from hypertool_agent import names as n
from hypertool_tools.stack.build import cache_dir
from hypertool_tools.stack.launcher import Ports
from tests.conftest import LOOPBACK, ROOT, PrometheusClient, free_stack_ports
from tests.e2e._producers import JOB, SETTLE_SECONDS, TOKENS, keyed, showing
from tests.fakes.llm_api import FakeLLM, Ledger
from tests.producers import claude_code
from tests.unit.test_docs_blocks import Block, runnable_blocks

pytestmark = pytest.mark.e2e

#: What a failing block shows of its output.
OUTPUT_TAIL = 4000
#: Scraped every second: a fake llm block's tokens show up in Prometheus within seconds.
FAST_SCRAPE = ("--scrape-interval", "1s")
#: The usage the fake provider answers every call with.
FAKE_INPUT_TOKENS = 13
FAKE_OUTPUT_TOKENS = 7
#: How long a fake llm block's tokens may take to show up in Prometheus.
COUNT_TIMEOUT = 45.0


@dataclass
class DocsStack:
    """The environment the blocks run in, with the stack's ports, and their folder."""

    env: dict[str, str]
    workdir: Path
    prometheus: PrometheusClient

    def up(self) -> None:
        """Start the stack again if a block stopped it, scraped every second."""
        self.hypertool("stack", "up", *FAST_SCRAPE)

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
    ports = free_stack_ports()
    docs = DocsStack(
        block_env(ports, cache),
        tmp_path_factory.mktemp("workdir"),
        PrometheusClient(f"http://127.0.0.1:{ports.prometheus}"),
    )
    # Started by the command, not in this process: the services are nobody's children
    # here, so a block's `hypertool stack down` stops them cleanly.
    docs.up()
    try:
        yield docs
    finally:
        docs.hypertool("stack", "down")


@contextmanager
def block_venv(block: Block) -> Iterator[dict[str, str]]:
    """The environment of a venv for the block's ``pip install`` lines (none: nothing).

    Kept in the cache as ``venvs/docs-<hash of the lines>``, and locked while the block
    runs: another run of the docs test waits rather than installing into it at once.
    """
    if not block.pip_installs:
        yield {}
        return
    digest = hashlib.sha256("\n".join(block.pip_installs).encode()).hexdigest()[:12]
    venv = cache_dir() / "venvs" / f"docs-{digest}"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with (venv.parent / f"{venv.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / "bin" / "pip").is_file():
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        yield {"VIRTUAL_ENV": str(venv), "PATH": f"{venv / 'bin'}{os.pathsep}"}


def fake_llm_env(llm: FakeLLM, home: Path) -> dict[str, str]:
    """What points a user's clients at the fake provider, and Claude Code on PATH.

    A throwaway HOME keeps Claude Code's settings out of the user's; the pip cache stays
    the user's. Claude Code is told not to update itself or call home (no network here).
    """
    claude = claude_code.binary()
    if not claude.is_file():
        pytest.fail(
            f"Claude Code {claude_code.version()} is not at {claude}: {claude_code.INSTALL_HINT}"
        )
    return {
        "OPENAI_BASE_URL": f"{llm.url}/v1",
        "OPENAI_API_KEY": "test",
        "ANTHROPIC_BASE_URL": llm.url,
        "ANTHROPIC_API_KEY": "test",
        "HOME": str(home),
        "PIP_CACHE_DIR": os.environ.get("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip")),
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "PATH": f"{claude.parent}{os.pathsep}",
    }


def merged(env: dict[str, str], *layers: dict[str, str]) -> dict[str, str]:
    """``env`` with each layer over it; a layer's ``PATH`` goes before the one below."""
    out = dict(env)
    for layer in layers:
        path = layer.get("PATH", "") + out.get("PATH", "")
        out |= layer
        out["PATH"] = path
    return out


def run_block(
    block: Block, env: dict[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run one block to its end, or until its timeout: from ``cwd``, or its kind's folder."""
    if block.kind == "python":
        argv = [sys.executable, "-c", block.script]
    else:
        argv = ["bash", "-euo", "pipefail", "-c", block.script]
    return subprocess.run(
        argv,
        cwd=cwd or ROOT,
        env=env,
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
def test_block_runs_as_written(block: Block, docs_stack: DocsStack, tmp_path: Path) -> None:
    """The block exits 0 against the running stack and prints what it says it prints.

    A ``fake llm`` block's persona then holds exactly the tokens the fake provider served.
    """
    docs_stack.up()  # again, if a block before stopped it
    persona = block.fake_llm_persona
    cwd = docs_stack.workdir if block.kind == "python" else None
    with block_venv(block) as venv:
        if persona is None:
            done = run_block(block, merged(docs_stack.env, venv), cwd)
        else:
            reload_prometheus(docs_stack)
            assert tokens_of(docs_stack, persona) == {}, f"{persona} spent before {block.id}"
            (tmp_path / "home").mkdir()
            (tmp_path / "work").mkdir()
            fake = FakeLLM(input_tokens=FAKE_INPUT_TOKENS, output_tokens=FAKE_OUTPUT_TOKENS)
            with fake as llm:
                env = merged(docs_stack.env, venv, fake_llm_env(llm, tmp_path / "home"))
                done = run_block(block, env, tmp_path / "work")
    output = done.stdout + done.stderr
    assert done.returncode == 0, (
        f"{block.id} exited {done.returncode}:\n{block.script}\n--- output ---\n"
        f"{output[-OUTPUT_TAIL:]}"
    )
    missing = [text for text in block.expected if text not in output]
    assert not missing, f"{block.id} did not print {missing}:\n{output[-OUTPUT_TAIL:]}"
    if persona is not None:
        assert_counted_exactly(docs_stack, persona, fake.ledger, block)


def reload_prometheus(docs: DocsStack) -> None:
    """Make Prometheus read its configuration again: scraped every second.

    `hypertool stack up` wrote it, but a running Prometheus reads it only when started or
    reloaded (a block's `scripts/up` may have written the default interval since).
    """
    request = urllib.request.Request(  # noqa: S310 - our own loopback URL
        f"{docs.prometheus.url}/-/reload", method="POST"
    )
    with LOOPBACK.open(request, timeout=10):
        pass


def tokens_of(docs: DocsStack, persona: str) -> dict[str, float]:
    """The persona's tokens in Prometheus, per model."""
    return keyed(docs.prometheus.query(by_model(persona)), n.MODEL)


def by_model(persona: str) -> str:
    """PromQL: the persona's tokens per model, as the collector's exporter counts them."""
    return f'sum by ({n.MODEL}) ({TOKENS}{{{JOB},{n.PERSONA}="{persona}"}})'


def assert_counted_exactly(docs: DocsStack, persona: str, ledger: Ledger, block: Block) -> None:
    """Prometheus holds the ledger's tokens for ``persona``, per model, and still does later.

    Every token the fake reported counts: Claude Code's cache reads and writes too (none
    here), OpenAI's input and output. Asked again a few scrapes later, so that a late
    duplicate (a cumulative point counted twice) cannot hide behind a right total.
    """
    want = {model: float(tokens) for model, tokens in ledger.by_model().items()}
    assert want, f"{block.id}: the fake provider answered no call"
    promql = by_model(persona)
    got = keyed(docs.prometheus.wait_for(promql, showing(n.MODEL, want), COUNT_TIMEOUT), n.MODEL)
    assert got == want, f"{block.id}: Prometheus counts {got} for {persona}, the fake served {want}"
    time.sleep(SETTLE_SECONDS)
    got = tokens_of(docs, persona)
    assert got == want, f"{block.id}: {persona} became {got} after {want}"
