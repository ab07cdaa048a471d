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
- a ``fake llm: PERSONA`` block (or ``PERSONA+PERSONA...``: a multi-agent app, one
  persona per agent) runs from an empty folder (a new git repository) against a fake
  provider (tests/fakes/llm_api.py): the environment adds only what points a user's
  clients at it, as their own settings would, ``OPENAI_BASE_URL``/``OPENAI_API_KEY``,
  ``ANTHROPIC_BASE_URL``/``ANTHROPIC_API_KEY``, ``GOOGLE_GEMINI_BASE_URL`` with
  ``GEMINI_API_KEY``/``GOOGLE_API_KEY``, the pinned coding agents on ``PATH`` (Claude
  Code, Gemini CLI, Qwen Code, Codex CLI: tests/producers/) and a throwaway ``HOME``
  holding their settings; afterwards Prometheus must count for the personas together
  exactly the tokens the fake served, per model, each persona some, and still a few
  scrapes later;
- each must exit 0 within its timeout, and print what its ``expect`` markers (or its
  console session's output lines) say; the stack is started again before each block, so a
  block that stops it (`hypertool stack down`) stops only itself.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
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
from tests.producers import claude_code, codex_cli, gemini_cli, qwen_code
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
#: The Gemini functions the fake provider calls when a request declares them: Google ADK's
#: transfer between agents (Gemini CLI declares no such function).
GEMINI_CALLS: dict[str, dict[str, str]] = {"transfer_to_agent": {}}
#: The coding agents a fake llm block finds on PATH, each as its module names it.
CODING_AGENTS = (claude_code, gemini_cli, qwen_code, codex_cli)


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
    """What points a user's clients at the fake provider, and the coding agents on PATH.

    The variables a user sets for their SDKs and Gemini CLI; in a throwaway HOME, the
    coding agents' own settings as a user has them: Gemini CLI's API-key auth, Qwen
    Code's OpenAI auth, Codex's provider (at the fake), telemetry left to the block. The
    pip cache stays the user's. None of the agents updates itself or calls home (no
    network here).
    """
    missing = [f"{m.binary()}: {m.INSTALL_HINT}" for m in CODING_AGENTS if not m.binary().is_file()]
    if missing:
        pytest.fail("coding agents not installed:\n" + "\n".join(missing))
    (home / ".gemini").mkdir()
    (home / ".gemini" / "settings.json").write_text(json.dumps(gemini_cli.user_settings()))
    (home / ".qwen").mkdir()
    (home / ".qwen" / "settings.json").write_text(json.dumps(qwen_code.user_settings()))
    (home / ".codex").mkdir()
    codex = codex_cli.config(base_url=llm.url, otlp_endpoint=None)
    (home / ".codex" / "config.toml").write_text(codex)
    return {
        "OPENAI_BASE_URL": f"{llm.url}/v1",
        "OPENAI_API_KEY": "test",
        "ANTHROPIC_BASE_URL": llm.url,
        "ANTHROPIC_API_KEY": "test",
        "GOOGLE_GEMINI_BASE_URL": llm.url,
        "GEMINI_API_KEY": "test",
        "GOOGLE_API_KEY": "test",
        codex_cli.API_KEY_VARIABLE: "test",
        "HOME": str(home),
        "PIP_CACHE_DIR": os.environ.get("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip")),
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        # A user runs Gemini CLI in a folder they trust; headless, it refuses any other.
        "GEMINI_CLI_TRUST_WORKSPACE": "true",
        "PATH": "".join(f"{m.binary().parent}{os.pathsep}" for m in CODING_AGENTS),
    }


def git() -> str:
    """The ``git`` command: the repository's own tool, so it is there."""
    found = shutil.which("git")
    if found is None:
        pytest.fail("git is not on PATH")
    return found


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
        stdin=subprocess.DEVNULL,
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

    A ``fake llm`` block's personas then hold exactly the tokens the fake provider served.
    """
    docs_stack.up()  # again, if a block before stopped it
    personas = block.fake_llm_personas
    cwd = docs_stack.workdir if block.kind == "python" else None
    with block_venv(block) as venv:
        if not personas:
            done = run_block(block, merged(docs_stack.env, venv), cwd)
        else:
            reload_prometheus(docs_stack)
            spent = tokens_each(docs_stack, personas)
            assert not spent, f"{block.id}: {spent} spent before it ran"
            home, work = tmp_path / "home", tmp_path / "work"
            home.mkdir()
            # An empty repository, as a coding agent's project is: `codex exec` runs in one.
            subprocess.run([git(), "init", "-q", str(work)], check=True)
            fake = FakeLLM(
                input_tokens=FAKE_INPUT_TOKENS,
                output_tokens=FAKE_OUTPUT_TOKENS,
                gemini_calls=GEMINI_CALLS,
            )
            with fake as llm:
                env = merged(docs_stack.env, venv, fake_llm_env(llm, home))
                done = run_block(block, env, work)
    output = done.stdout + done.stderr
    assert done.returncode == 0, (
        f"{block.id} exited {done.returncode}:\n{block.script}\n--- output ---\n"
        f"{output[-OUTPUT_TAIL:]}"
    )
    missing = [text for text in block.expected if text not in output]
    assert not missing, f"{block.id} did not print {missing}:\n{output[-OUTPUT_TAIL:]}"
    if personas:
        assert_counted_exactly(docs_stack, personas, fake.ledger, block)


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


def selector(personas: tuple[str, ...]) -> str:
    """The collector exporter's token series of these personas (names of [a-z0-9_-]*)."""
    return f'{TOKENS}{{{JOB},{n.PERSONA}=~"{"|".join(personas)}"}}'


def tokens_of(docs: DocsStack, personas: tuple[str, ...]) -> dict[str, float]:
    """The personas' tokens together in Prometheus, per model."""
    return keyed(docs.prometheus.query(by_model(personas)), n.MODEL)


def tokens_each(docs: DocsStack, personas: tuple[str, ...]) -> dict[str, float]:
    """Each persona's tokens in Prometheus (a persona with none is left out)."""
    return keyed(docs.prometheus.query(f"sum by ({n.PERSONA}) ({selector(personas)})"), n.PERSONA)


def by_model(personas: tuple[str, ...]) -> str:
    """PromQL: the personas' tokens together, per model, as the collector's exporter counts."""
    return f"sum by ({n.MODEL}) ({selector(personas)})"


def assert_counted_exactly(
    docs: DocsStack, personas: tuple[str, ...], ledger: Ledger, block: Block
) -> None:
    """Prometheus holds the ledger's tokens for ``personas``, per model, and still does later.

    Every token the fake reported counts: Claude Code's cache reads and writes too (none
    here), OpenAI's input and output. The personas' tokens together are the ledger's (a
    multi-agent app: each call counted once, for one of its agents), and each persona has
    some (no agent's calls counted for another). Asked again a few scrapes later, so that
    a late duplicate (a cumulative point counted twice) cannot hide behind a right total.
    """
    want = {model: float(tokens) for model, tokens in ledger.by_model().items()}
    assert want, f"{block.id}: the fake provider answered no call"
    promql = by_model(personas)
    got = keyed(docs.prometheus.wait_for(promql, showing(n.MODEL, want), COUNT_TIMEOUT), n.MODEL)
    assert got == want, (
        f"{block.id}: Prometheus counts {got} for {personas}, the fake served {want}"
    )
    each = tokens_each(docs, personas)
    print(f"{block.id}: the fake served {want}; Prometheus counts {got}, per persona {each}")
    idle = [p for p in personas if each.get(p, 0.0) <= 0]
    assert not idle, f"{block.id}: {idle} counted no tokens; per persona {each}, served {want}"
    time.sleep(SETTLE_SECONDS)
    got = tokens_of(docs, personas)
    assert got == want, f"{block.id}: {personas} became {got} after {want}"
    later = tokens_each(docs, personas)
    assert later == each, f"{block.id}: per persona {each} became {later}"
