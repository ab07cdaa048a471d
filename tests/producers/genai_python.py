"""The zero-code instrumented Python apps: where their venvs are, and how tests run them.

The apps use real SDKs and know nothing of OpenTelemetry; ``opentelemetry-instrument`` adds
the instrumentation from outside. Each producer lives in a venv of its own, pinned by one
requirements file, so its OpenTelemetry versions never touch the repository's .venv:

- ``openai_app.py``: the ``openai`` SDK under OpenLLMetry's
  ``opentelemetry-instrumentation-openai`` (``genai-python-requirements.txt``, the default);
- ``agents_app.py``: the OpenAI Agents SDK under the contrib
  ``opentelemetry-instrumentation-openai-agents-v2`` (``agents-requirements.txt``);
- ``openai_app.py`` again under Arize OpenInference's ``openinference-instrumentation-openai``
  (``openinference-requirements.txt``), which reports usage on spans only;
- ``strands_app.py``: Strands Agents, its own OpenTelemetry (``strands-requirements.txt``);
- ``adk_app.py``: Google ADK on the Gemini API, its own OpenTelemetry (``adk-requirements.txt``);
- ``langgraph_app.py``: LangGraph under OpenLLMetry's ``opentelemetry-instrumentation-langchain``
  (``langgraph-requirements.txt``) or OpenInference's ``openinference-instrumentation-langchain``
  (``langgraph-openinference-requirements.txt``).

``scripts/lib/genai-python.sh`` (``ensure_genai_python``) builds them at the paths this
module computes; run as a script, the module prints one, so the shell and the tests agree
on it from one place::

    python3 tests/producers/genai_python.py                    # the GenAI venv's directory
    python3 tests/producers/genai_python.py REQUIREMENTS.txt   # that file's venv

Standard library only: the set-up script runs it with any Python 3.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "genai-python-requirements.txt"
APP = HERE / "openai_app.py"
AGENTS_REQUIREMENTS = HERE / "agents-requirements.txt"
AGENTS_APP = HERE / "agents_app.py"
OPENINFERENCE_REQUIREMENTS = HERE / "openinference-requirements.txt"
STRANDS_REQUIREMENTS = HERE / "strands-requirements.txt"
STRANDS_APP = HERE / "strands_app.py"
ADK_REQUIREMENTS = HERE / "adk-requirements.txt"
ADK_APP = HERE / "adk_app.py"
LANGGRAPH_REQUIREMENTS = HERE / "langgraph-requirements.txt"
LANGGRAPH_OPENINFERENCE_REQUIREMENTS = HERE / "langgraph-openinference-requirements.txt"
LANGGRAPH_APP = HERE / "langgraph_app.py"
#: What ``ensure_genai_python`` prints when the venv is missing, and the tests' fix.
SETUP_HINT = (
    "run `bash -c 'source scripts/lib/setup.sh; ensure_genai_python'` "
    "from the repository root (scripts/test does it)"
)
#: Inherited variables that would steer the app away from what a test gives it.
_DROPPED_PREFIXES = (
    "OTEL_",
    "OPENAI_",
    "TRACELOOP_",
    "OPENINFERENCE_",
    "GOOGLE_",
    "GEMINI_",
    "ADK_",
    "LANGSMITH_",
    "LANGCHAIN_",
    "PYTHON",
    "VIRTUAL_ENV",
)


def requirements_hash(requirements: Path = REQUIREMENTS) -> str:
    """A short hash of the pinned requirements: a new pin means a new venv."""
    return hashlib.sha256(Path(requirements).read_bytes()).hexdigest()[:12]


def venv_dir(requirements: Path = REQUIREMENTS) -> Path:
    """``$HYPERTOOL_CACHE/venvs/<name>-<hash>`` (cache default ~/.cache/hypertool).

    ``<name>`` is the requirements file's name without ``-requirements.txt``:
    ``genai-python``, ``agents``, ``openinference``, ``strands``, ``adk``, ``langgraph``,
    ``langgraph-openinference``.
    """
    requirements = Path(requirements)
    name = requirements.name.removesuffix(".txt").removesuffix("-requirements")
    cache = os.environ.get("HYPERTOOL_CACHE") or str(Path.home() / ".cache" / "hypertool")
    return Path(cache) / "venvs" / f"{name}-{requirements_hash(requirements)}"


def missing(requirements: Path = REQUIREMENTS) -> str | None:
    """Why the venv cannot run its app, with the fix; None when it can."""
    venv = venv_dir(requirements)
    for tool in ("python", "opentelemetry-instrument"):
        if not (venv / "bin" / tool).is_file():
            return f"{venv / 'bin' / tool} is missing: {SETUP_HINT}"
    return None


@dataclass
class AppRun:
    """One finished run of an app: the usage its SDK returned, and its output."""

    calls: list[dict[str, Any]]
    stdout: str
    stderr: str
    #: The app's whole JSON report (``openai_app.py``: ``calls``; ``agents_app.py``: ``runs``).
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def input_tokens(self) -> int:
        """Prompt tokens over all calls, as the SDK returned them."""
        return sum(int(c["input_tokens"]) for c in self.calls)

    @property
    def output_tokens(self) -> int:
        """Completion tokens over all calls, as the SDK returned them."""
        return sum(int(c["output_tokens"]) for c in self.calls)


def app_env(
    *,
    base_url: str,
    otlp_endpoint: str,
    service_name: str,
    persona: str | None,
    temporality: str | None = None,
    **extra: str,
) -> dict[str, str]:
    """The environment of an instrumented run: a user's settings, nothing of ours leaking in.

    ``base_url`` is the provider's (``/v1`` is added for OpenAI; Gemini takes it as is,
    with a fake ``GOOGLE_API_KEY``); ``persona`` becomes the resource
    attribute ``hypertool.persona.name`` (None: none, the service name stands in);
    ``temporality`` sets ``OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE``.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(_DROPPED_PREFIXES) and "proxy" not in k.lower()
    }
    env |= {
        "OPENAI_BASE_URL": f"{base_url}/v1",
        "OPENAI_API_KEY": "test",
        "GOOGLE_GEMINI_BASE_URL": base_url,
        "GOOGLE_API_KEY": "test",
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_METRICS_EXPORTER": "otlp",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_SERVICE_NAME": service_name,
    }
    if persona is not None:
        env["OTEL_RESOURCE_ATTRIBUTES"] = f"hypertool.persona.name={persona}"
    if temporality is not None:
        env["OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"] = temporality
    return env | extra


def app_command(*app_args: str, app: Path = APP, requirements: Path = REQUIREMENTS) -> list[str]:
    """``opentelemetry-instrument python APP ARGS`` in the venv of ``requirements``."""
    bin_dir = venv_dir(requirements) / "bin"
    return [str(bin_dir / "opentelemetry-instrument"), str(bin_dir / "python"), str(app), *app_args]


def run_app(
    env: dict[str, str],
    *app_args: str,
    timeout: float = 60.0,
    app: Path = APP,
    requirements: Path = REQUIREMENTS,
) -> AppRun:
    """Run the instrumented app to its end (bounded by ``timeout``); its reported usage."""
    # Imported here: the set-up scripts run this module as a script, for the venv's path.
    from tests.producers import run_checked

    command = app_command(*app_args, app=app, requirements=requirements)
    completed = run_checked(command, env=env, timeout=timeout)
    lines = completed.stdout.strip().splitlines()
    report: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    return AppRun(report.get("calls", []), completed.stdout, completed.stderr, report)


if __name__ == "__main__":
    print(venv_dir(Path(sys.argv[1]) if len(sys.argv) > 1 else REQUIREMENTS))
