"""The zero-code instrumented OpenAI app: where its venv is, and how tests run it.

The app (``openai_app.py``) uses the real ``openai`` SDK; OpenLLMetry's
``opentelemetry-instrumentation-openai`` instruments it from outside under
``opentelemetry-instrument``. Both live in a venv of their own, pinned by
``genai-python-requirements.txt``, so their OpenTelemetry versions never touch the
repository's .venv. ``scripts/lib/genai-python.sh`` (``ensure_genai_python``) builds it at
the path this module computes; run as a script, the module prints that path, so the
shell and the tests agree on it from one place::

    python3 tests/producers/genai_python.py    # the venv's directory

Standard library only: the set-up script runs it with any Python 3.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "genai-python-requirements.txt"
APP = HERE / "openai_app.py"
#: What ``ensure_genai_python`` prints when the venv is missing, and the tests' fix.
SETUP_HINT = (
    "run `bash -c 'source scripts/lib/setup.sh; ensure_genai_python'` "
    "from the repository root (scripts/test does it)"
)
#: Inherited variables that would steer the app away from what a test gives it.
_DROPPED_PREFIXES = ("OTEL_", "OPENAI_", "TRACELOOP_", "PYTHON", "VIRTUAL_ENV")


def requirements_hash() -> str:
    """A short hash of the pinned requirements: a new pin means a new venv."""
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:12]


def venv_dir() -> Path:
    """``$HYPERTOOL_CACHE/venvs/genai-python-<hash>`` (cache default ~/.cache/hypertool)."""
    cache = os.environ.get("HYPERTOOL_CACHE") or str(Path.home() / ".cache" / "hypertool")
    return Path(cache) / "venvs" / f"genai-python-{requirements_hash()}"


def missing() -> str | None:
    """Why the venv cannot run the app, with the fix; None when it can."""
    venv = venv_dir()
    for tool in ("python", "opentelemetry-instrument"):
        if not (venv / "bin" / tool).is_file():
            return f"{venv / 'bin' / tool} is missing: {SETUP_HINT}"
    return None


@dataclass
class AppRun:
    """One finished run of the app: the usage its SDK returned, and its output."""

    calls: list[dict[str, Any]]
    stdout: str
    stderr: str

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

    ``base_url`` is the provider's (``/v1`` is added); ``persona`` becomes the resource
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


def app_command(*app_args: str) -> list[str]:
    """``opentelemetry-instrument python openai_app.py ARGS`` in the producer venv."""
    bin_dir = venv_dir() / "bin"
    return [str(bin_dir / "opentelemetry-instrument"), str(bin_dir / "python"), str(APP), *app_args]


def run_app(env: dict[str, str], *app_args: str, timeout: float = 60.0) -> AppRun:
    """Run the instrumented app to its end (bounded by ``timeout``); its reported usage."""
    completed = subprocess.run(
        app_command(*app_args),
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"openai_app.py exited {completed.returncode}\n"
            f"stdout: {completed.stdout[-2000:]}\nstderr: {completed.stderr[-4000:]}"
        )
    lines = completed.stdout.strip().splitlines()
    report: dict[str, Any] = json.loads(lines[-1]) if lines else {"calls": []}
    return AppRun(report["calls"], completed.stdout, completed.stderr)


if __name__ == "__main__":
    print(venv_dir())
