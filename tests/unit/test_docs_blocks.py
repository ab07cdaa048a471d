"""Every code block of the docs runs in tests/e2e/test_docs.py, or says why not.

The docs are README.md, packages/agent/README.md and docs/*.md. Their fenced ``bash``,
``sh``, ``shell``, ``console`` and ``python`` blocks run for real against a native stack
(tests/e2e/test_docs.py), unless the line right before the fence says otherwise. Those
lines are HTML comments, invisible on GitHub and on the package index, one directive each
(docs/testing.md, "The docs' code blocks"):

- ``<!-- docs: needs docker -->``: not run here (no Docker engine);
- ``<!-- docs: not run: REASON -->``: not run, for the reason given;
- ``<!-- docs: expect: TEXT -->``: run, and TEXT must be in what it prints;
- ``<!-- docs: timeout: SECONDS -->``: run, for at most SECONDS (default 120);
- ``<!-- docs: fake llm: PERSONA -->``: run against a fake LLM provider (OpenAI's,
  Anthropic's and Gemini's APIs), from an empty folder; Prometheus must then count for
  PERSONA exactly the tokens the fake served. ``PERSONA+PERSONA...`` names a multi-agent
  app's agents: their tokens together are the fake's, and each has some.

A block that runs ``pip install`` runs in a virtual environment of its own, and pins what it
installs (``name==version``, as tests/producers/*-requirements.txt pin it) or installs a
folder of this repository.

This module reads the blocks (the e2e test runs what it finds here) and checks, in
process, that every marker is well formed and stands before a block, that runnable blocks
can run against a stack on free ports, that what they install is pinned, and that
README.md stays short.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from hypertool_tools.demo.workflows import WORKFLOWS

ROOT = Path(__file__).resolve().parents[2]
#: A newcomer reads it in five minutes.
README_MAX_LINES = 300
#: The block languages that run, and how: a shell script, a console session, Python.
KINDS = {"bash": "shell", "sh": "shell", "shell": "shell", "console": "console", "python": "python"}
#: How long a block may run unless its marker says otherwise, in seconds.
DEFAULT_TIMEOUT = 120.0
#: The stack's default ports: a runnable block reads them from the environment
#: (``${HYPERTOOL_PROMETHEUS_PORT:-9090}``), since the docs test's stack is on free ports.
DEFAULT_PORTS = ("4317", "4318", "8888", "8889", "9090", "9093", "13133")

#: The personas `hypertool demo` spends (a block before may run it): no fake llm block's.
DEMO_PERSONAS = frozenset(s.persona for w in WORKFLOWS.values() for s in w.stages)
#: The resource attribute that names a whole process's persona.
PERSONA_ATTRIBUTE = "hypertool.persona.name"

MARKER = re.compile(r"^<!-- docs: (?P<directive>.*) -->$")
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
#: A default port written out, but not as the default of a ${VAR:-PORT} expansion.
LITERAL_PORT = re.compile(rf"(?<!:-)(?<![\d.])(?:{'|'.join(DEFAULT_PORTS)})(?!\d)")
#: A shell line that installs Python packages: the block gets a virtual environment.
PIP_INSTALL = re.compile(r"^\s*pip install\b")
#: What a runnable block may install: a pinned distribution, or a folder of the repository.
PINNED = re.compile(
    r"^(?:[A-Za-z0-9][A-Za-z0-9._-]*(?:\[[A-Za-z0-9,._-]+\])?==[A-Za-z0-9.+!-]+|\.?/?packages/[\w./-]+)$"
)


def doc_files() -> list[Path]:
    """The files whose blocks are checked, README.md first."""
    return [
        ROOT / "README.md",
        ROOT / "packages/agent/README.md",
        *sorted((ROOT / "docs").glob("*.md")),
    ]


@dataclass(frozen=True)
class Block:
    """One fenced code block, with the markers right before it."""

    path: str
    #: The line of the opening fence, from 1.
    line: int
    language: str
    code: str
    directives: tuple[str, ...]

    @property
    def id(self) -> str:
        """``file:line``, as test ids and messages name it."""
        return f"{self.path}:{self.line}"

    @property
    def kind(self) -> str | None:
        """``shell``, ``console`` or ``python``; None for a block that never runs (yaml...)."""
        return KINDS.get(self.language)

    @property
    def skip_reason(self) -> str | None:
        """Why the block is not run, or None when it runs."""
        for directive in self.directives:
            if directive == "needs docker":
                return "needs a Docker engine"
            if directive.startswith("not run:"):
                return directive.removeprefix("not run:").strip()
        return None

    @property
    def runs(self) -> bool:
        """Whether the docs test runs it."""
        return self.kind is not None and self.skip_reason is None

    @property
    def timeout(self) -> float:
        """The most seconds it may take."""
        for directive in self.directives:
            if directive.startswith("timeout:"):
                return float(directive.removeprefix("timeout:"))
        return DEFAULT_TIMEOUT

    @property
    def fake_llm_personas(self) -> tuple[str, ...]:
        """The personas a ``fake llm`` block's tokens count for; none: no fake provider.

        One, or a multi-agent app's agents joined by ``+`` (``triage_agent+billing_agent``).
        """
        for directive in self.directives:
            if directive.startswith("fake llm:"):
                names = directive.removeprefix("fake llm:").split("+")
                return tuple(name.strip() for name in names)
        return ()

    @property
    def pip_installs(self) -> tuple[str, ...]:
        """Its ``pip install`` commands, continuation lines joined, comments cut."""
        if self.kind not in ("shell", "console"):
            return ()
        joined = re.sub(r"\\\n", " ", self.script)
        return tuple(
            " ".join(line.split("#", 1)[0].split())
            for line in joined.splitlines()
            if PIP_INSTALL.match(line)
        )

    @property
    def script(self) -> str:
        """What runs: the code, or a console session's commands (its ``$ `` lines)."""
        if self.kind != "console":
            return self.code
        return "\n".join(
            line.removeprefix("$ ") for line in self.code.splitlines() if line.startswith("$ ")
        )

    @property
    def expected(self) -> tuple[str, ...]:
        """Texts its output must hold: ``expect`` markers, and a console session's output."""
        texts = [d.removeprefix("expect:").strip() for d in self.directives if is_expect(d)]
        if self.kind == "console":
            texts += [
                line.strip()
                for line in self.code.splitlines()
                if line.strip() and not line.startswith("$ ")
            ]
        return tuple(texts)


def is_expect(directive: str) -> bool:
    """Whether a directive is an ``expect:``."""
    return directive.startswith("expect:")


def directive_error(directive: str) -> str | None:
    """What is wrong with a marker's directive, or None."""
    if directive == "needs docker":
        return None
    for prefix in ("not run:", "expect:", "fake llm:"):
        if directive.startswith(prefix):
            return None if directive.removeprefix(prefix).strip() else f"{prefix} says nothing"
    if directive.startswith("timeout:"):
        try:
            seconds = float(directive.removeprefix("timeout:"))
        except ValueError:
            return "timeout: not a number of seconds"
        return None if seconds > 0 else "timeout: not positive"
    return f"unknown directive {directive!r} (needs docker, not run:, expect:, timeout:, fake llm:)"


def parse(text: str, path: str) -> tuple[list[Block], list[tuple[int, str]]]:
    """The fenced blocks of a Markdown text, and the markers that stand before no block.

    A marker applies to the block whose opening fence follows it, with nothing but other
    markers in between; markers inside a block are part of its code.
    """
    blocks: list[Block] = []
    stray: list[tuple[int, str]] = []
    pending: list[tuple[int, str]] = []
    lines = text.splitlines()
    number = 0
    while number < len(lines):
        line = lines[number]
        number += 1
        marker = MARKER.match(line.strip())
        if marker:
            pending.append((number, marker["directive"].strip()))
            continue
        fence = FENCE.match(line)
        if not fence:
            stray += pending
            pending = []
            continue
        opening, indent = fence["fence"], len(fence["indent"])
        start, body = number, []
        while number < len(lines):
            inner = lines[number]
            number += 1
            closing = FENCE.match(inner)
            if (
                closing
                and not closing["info"].strip()
                and closing["fence"][0] == opening[0]
                and len(closing["fence"]) >= len(opening)
            ):
                break
            # A fence indented in a list item: its lines lose up to that much indentation.
            body.append(inner[min(indent, len(inner) - len(inner.lstrip(" "))) :])
        language = fence["info"].split()[0].lower() if fence["info"].strip() else ""
        directives = tuple(d for _, d in pending)
        blocks.append(Block(path, start, language, "\n".join(body) + "\n", directives))
        if directives and language not in KINDS:
            stray += pending
        pending = []
    return blocks, stray + pending


def file_blocks(path: Path) -> tuple[list[Block], list[tuple[int, str]]]:
    """``parse`` of one file, named relative to the repository."""
    return parse(path.read_text(), str(path.relative_to(ROOT)))


def doc_blocks() -> list[Block]:
    """Every block of the docs in a language that runs, in reading order."""
    return [b for path in doc_files() for b in file_blocks(path)[0] if b.kind is not None]


def runnable_blocks() -> list[Block]:
    """The blocks tests/e2e/test_docs.py runs."""
    return [b for b in doc_blocks() if b.runs]


def test_readme_is_read_in_five_minutes() -> None:
    """README.md is at most 300 lines; the rest is in docs/."""
    lines = (ROOT / "README.md").read_text().count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; move details into docs/"


@pytest.mark.parametrize("block", doc_blocks(), ids=lambda b: b.id)
def test_each_block_runs_or_says_why_not(block: Block) -> None:
    """A block's markers are well formed: it runs (with what it prints), or says why not."""
    errors = [e for d in block.directives if (e := directive_error(d)) is not None]
    assert not errors, f"{block.id}: {errors}"
    skips = [d for d in block.directives if d == "needs docker" or d.startswith("not run:")]
    assert len(skips) <= 1, f"{block.id}: one reason not to run it is enough: {skips}"
    if not block.runs:
        extra = [d for d in block.directives if d not in skips]
        assert not extra, f"{block.id}: {extra} on a block that does not run"
    assert block.script.strip(), f"{block.id}: nothing to run"


@pytest.mark.parametrize("block", runnable_blocks(), ids=lambda b: b.id)
def test_runnable_blocks_reach_the_stack_through_the_environment(block: Block) -> None:
    """A block that runs names no default port: the docs test's stack is on free ports."""
    found = [m.group() for m in LITERAL_PORT.finditer(block.script)]
    assert not found, (
        f"{block.id} names port(s) {found}: write ${{HYPERTOOL_<NAME>_PORT:-<port>}}, rely "
        "on OTEL_EXPORTER_OTLP_ENDPOINT, or mark the block <!-- docs: not run: why -->"
    )


@pytest.mark.parametrize(
    "block", [b for b in runnable_blocks() if b.pip_installs], ids=lambda b: b.id
)
def test_runnable_blocks_pin_what_they_install(block: Block) -> None:
    """``pip install`` in a block that runs names exact versions, or a folder of the repository.

    The docs test runs it into a venv kept between runs (keyed by these lines): an unpinned
    line would test whatever the index serves that day, not the versions the tests pin.
    """
    for command in block.pip_installs:
        args = command.removeprefix("pip install").split()
        loose = [a for a in args if not a.startswith("-") and not PINNED.match(a)]
        assert args, f"{block.id}: {command!r} installs nothing"
        assert not loose, f"{block.id}: pin {loose} (name==version, as tests/producers pin it)"


def names_persona(script: str, persona: str) -> bool:
    """Whether a block names a persona, as a name of its own (not inside a longer one).

    As ``hypertool.persona.name`` or the service's name, or as one of its app's agents
    (``Agent(name="billing_agent")``): each is what a persona is read from.
    """
    return re.search(rf"(?<![\w.-]){re.escape(persona)}(?![\w-])", script) is not None


@pytest.mark.parametrize(
    "block", [b for b in runnable_blocks() if b.fake_llm_personas], ids=lambda b: b.id
)
def test_fake_llm_personas_are_one_per_block(block: Block) -> None:
    """Each ``fake llm`` block counts under personas no other runnable block names.

    The docs test asserts that Prometheus holds exactly the tokens the fake served for
    them: another block (or the demo a block runs) spending as one of them would make
    that total wrong. A block of
    several personas is a multi-agent app, counted per agent: each persona is one of its
    agents' names, and the block sets no ``hypertool.persona.name`` (which would make the
    whole process one persona).
    """
    personas = block.fake_llm_personas
    for persona in personas:
        assert re.fullmatch(r"[a-z][a-z0-9_-]*", persona), f"{block.id}: {persona!r}"
        others = [b.id for b in runnable_blocks() if b != block and persona in b.script]
        assert not others, f"{block.id}: persona {persona} is spent in {others} too"
        assert persona not in DEMO_PERSONAS, f"{block.id}: `hypertool demo` spends {persona}"
        assert names_persona(block.script, persona), (
            f"{block.id}: the block never names persona {persona}"
        )
    assert len(set(personas)) == len(personas), f"{block.id}: {personas} repeats a persona"
    if len(personas) > 1:
        assert PERSONA_ATTRIBUTE not in block.script, (
            f"{block.id}: {PERSONA_ATTRIBUTE} makes the process one persona, not {personas}"
        )


@pytest.mark.parametrize(
    "block", [b for b in runnable_blocks() if b.kind == "python"], ids=lambda b: b.id
)
def test_runnable_python_blocks_are_whole_programs(block: Block) -> None:
    """A Python block that runs parses as a program of its own (no ``...`` placeholders)."""
    tree = ast.parse(block.code, block.id)
    ellipses = [
        n.lineno for n in ast.walk(tree) if isinstance(n, ast.Constant) and n.value is Ellipsis
    ]
    assert not ellipses, f"{block.id}: placeholder `...` on line(s) {ellipses}"


@pytest.mark.parametrize("path", doc_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_marker_stands_before_a_block_that_runs(path: Path) -> None:
    """A marker not right before a bash, sh, shell, console or python fence is a mistake."""
    _, stray = file_blocks(path)
    assert not stray, [f"{path.relative_to(ROOT)}:{line}: {d}" for line, d in stray]


def test_the_parser_reads_each_form() -> None:
    """Markers, languages, console sessions, nested fences and stray markers are read right."""
    text = "\n".join(
        [
            "Intro.",
            "<!-- docs: needs docker -->",
            "```sh",
            "docker compose up -d",
            "```",
            "<!-- docs: expect: ok -->",
            "<!-- docs: timeout: 30 -->",
            "```python",
            "print('ok')",
            "```",
            "````markdown",
            "```sh",
            "not a block of its own",
            "```",
            "````",
            "```console",
            "$ echo hello",
            "hello",
            "```",
            "<!-- docs: fake llm: release-bot -->",
            "```bash",
            "pip install openai==3.57.0 \\",
            "  opentelemetry-distro==0.66b2  # the distro",
            "claude -p hi",
            "```",
            "<!-- docs: fake llm: triage_agent + billing_agent -->",
            "```sh",
            "python app.py",
            "```",
            "<!-- docs: not run: a yaml block never runs -->",
            "```yaml",
            "a: 1",
            "```",
            "<!-- docs: expect: dangling -->",
            "text between",
            "```",
            "plain",
            "```",
        ]
    )
    blocks, stray = parse(text, "x.md")
    assert [(b.line, b.language) for b in blocks] == [
        (3, "sh"),
        (8, "python"),
        (11, "markdown"),
        (16, "console"),
        (21, "bash"),
        (27, "sh"),
        (31, "yaml"),
        (36, ""),
    ]
    docker, python, nested, console, fake, agents, _, _ = blocks
    assert (docker.runs, docker.skip_reason) == (False, "needs a Docker engine")
    assert (python.runs, python.expected, python.timeout) == (True, ("ok",), 30.0)
    assert nested.kind is None
    assert "not a block of its own" in nested.code
    assert (console.script, console.expected) == ("echo hello", ("hello",))
    assert (fake.runs, fake.fake_llm_personas) == (True, ("release-bot",))
    assert agents.fake_llm_personas == ("triage_agent", "billing_agent")
    assert fake.pip_installs == ("pip install openai==3.57.0 opentelemetry-distro==0.66b2",)
    assert (python.fake_llm_personas, python.pip_installs) == ((), ())
    assert stray == [(30, "not run: a yaml block never runs"), (34, "expect: dangling")]


def test_the_port_check_tells_defaults_from_settings() -> None:
    """``:9090`` is a literal port; ``${HYPERTOOL_PROMETHEUS_PORT:-9090}`` reads the setting."""
    assert LITERAL_PORT.findall("curl http://127.0.0.1:9090/x") == ["9090"]
    assert LITERAL_PORT.findall("curl http://127.0.0.1:${HYPERTOOL_PROMETHEUS_PORT:-9090}/x") == []
    assert LITERAL_PORT.findall("x=14317 z=1.4317 port 43170") == []


def test_the_pin_check_tells_pins_from_ranges() -> None:
    """``name==version`` and repository folders are pinned; bare names and ranges are not."""
    pinned = ["openai==3.57.0", "opentelemetry-distro==0.66b2", "a[yaml]==1.0", "./packages/agent"]
    assert all(PINNED.match(a) for a in pinned)
    assert not any(PINNED.match(a) for a in ["openai", "openai>=3", "hypertool-agent", "x==*"])


def test_a_persona_is_named_as_a_name_of_its_own() -> None:
    """An agent's name, the persona attribute or the service name name it; a longer name not."""
    assert names_persona('Agent(name="billing_agent")', "billing_agent")
    assert names_persona("OTEL_RESOURCE_ATTRIBUTES=hypertool.persona.name=qa-bot", "qa-bot")
    assert names_persona("export OTEL_SERVICE_NAME=qa-bot OTEL_X=1", "qa-bot")
    assert not names_persona('Agent(name="billing_agent_2")', "billing_agent")
    assert not names_persona("hypertool.persona.name=qa-bot-2", "qa-bot")
