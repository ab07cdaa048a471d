"""hypertool_agent: OpenTelemetry-native telemetry for multi-persona LLM agent workflows.

The library emits OTLP only; the hypertool collector turns it into ``hypertool_*``
Prometheus series. The implementation lives in private modules; this module re-exports.
Two public modules stand beside it: ``hypertool_agent.names`` (the names the library
emits, the contract the collector reads) and ``hypertool_agent.testing`` (an in-memory
set-up for users' tests).
"""

from hypertool_agent._budgets import DEFAULT_BUDGETS, Budget, load_budgets
from hypertool_agent._llm import LLMCall, ObservableLLM, Usage, extract_usage
from hypertool_agent._persona import PersonaMetricsCollector
from hypertool_agent._pricing import Price, PriceTable
from hypertool_agent._spools import DrainResult, SpoolStatus, drain_spool, spool_status
from hypertool_agent._telemetry import (
    PREFERRED_TEMPORALITY,
    Telemetry,
    configure,
    get_telemetry,
    shutdown,
)
from hypertool_agent._workflow import WorkflowTracer
from hypertool_agent.errors import ConfigurationError
from hypertool_agent.names import (
    NO_PERSONA,
    QUALITY_GATE_RESULTS,
    RESULT_FAILED,
    RESULT_PASSED,
)

__all__ = [
    "DEFAULT_BUDGETS",
    "NO_PERSONA",
    "PREFERRED_TEMPORALITY",
    "QUALITY_GATE_RESULTS",
    "RESULT_FAILED",
    "RESULT_PASSED",
    "Budget",
    "ConfigurationError",
    "DrainResult",
    "LLMCall",
    "ObservableLLM",
    "PersonaMetricsCollector",
    "Price",
    "PriceTable",
    "SpoolStatus",
    "Telemetry",
    "Usage",
    "WorkflowTracer",
    "configure",
    "drain_spool",
    "extract_usage",
    "get_telemetry",
    "load_budgets",
    "shutdown",
    "spool_status",
]
