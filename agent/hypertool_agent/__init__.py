"""hypertool_agent: OpenTelemetry-native telemetry for multi-persona LLM agent workflows.

The library emits OTLP only; the hypertool collector turns it into ``hypertool_*``
Prometheus series. The implementation lives in private modules; this module re-exports.
"""

from hypertool_agent._names import (
    NO_PERSONA,
    QUALITY_GATE_RESULTS,
    RESULT_FAILED,
    RESULT_PASSED,
)
from hypertool_agent._persona import DEFAULT_BUDGETS, PersonaMetricsCollector
from hypertool_agent._telemetry import (
    ConfigurationError,
    Telemetry,
    configure,
    get_telemetry,
    shutdown,
)
from hypertool_agent._workflow import WorkflowTracer

__all__ = [
    "DEFAULT_BUDGETS",
    "NO_PERSONA",
    "QUALITY_GATE_RESULTS",
    "RESULT_FAILED",
    "RESULT_PASSED",
    "ConfigurationError",
    "PersonaMetricsCollector",
    "Telemetry",
    "WorkflowTracer",
    "configure",
    "get_telemetry",
    "shutdown",
]
