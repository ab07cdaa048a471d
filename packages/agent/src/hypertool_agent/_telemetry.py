"""OpenTelemetry providers for the agent: standard OTEL_* configuration, OTLP gRPC export.

Two promises to the host program: a short-lived process loses no token when it exits (a
final flush, and what the collector cannot take kept in the spool, ``_spool``), and no
process ever waits on the collector longer than a bound (the flush runs on a helper
thread that exit does not wait for beyond ``shutdown_timeout``). A collector that refuses
the connection is an immediate answer: exit writes the last metrics to the spool and does
not wait at all.
"""

from __future__ import annotations

import atexit
import functools
import logging
import math
import os
import socket
import threading
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    MeterProvider,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics.export import AggregationTemporality, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import SERVICE_INSTANCE_ID, SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from hypertool_agent import names as n
from hypertool_agent._instruments import Instruments, create_instruments
from hypertool_agent.errors import ConfigurationError
from hypertool_agent.names import SCOPE_NAME

if TYPE_CHECKING:  # imported where used, so that a disabled or injected setup loads no gRPC
    from hypertool_agent._delivery import DeliveringExporter
    from hypertool_agent._spool import Spool

_log = logging.getLogger("hypertool_agent")

DEFAULT_SERVICE_NAME = "hypertool-agent"
DEFAULT_SHUTDOWN_TIMEOUT_S = 1.0
DEFAULT_EXPORT_INTERVAL_MS = 10_000
ENV_SHUTDOWN_TIMEOUT = "HYPERTOOL_SHUTDOWN_TIMEOUT"
ENV_MAX_LABEL_VALUES = "HYPERTOOL_MAX_LABEL_VALUES"
DEFAULT_MAX_LABEL_VALUES = n.MAX_LABEL_VALUES

#: Counters and histograms are sent as deltas: the collector sums the deltas of every
#: process into one fleet-wide total (see docs/accounting.md). Cumulative counters from
#: many processes cannot be summed exactly, so this is not left to
#: OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE.
PREFERRED_TEMPORALITY: dict[type, AggregationTemporality] = {
    Counter: AggregationTemporality.DELTA,
    Histogram: AggregationTemporality.DELTA,
    ObservableCounter: AggregationTemporality.DELTA,
    UpDownCounter: AggregationTemporality.CUMULATIVE,
    ObservableUpDownCounter: AggregationTemporality.CUMULATIVE,
    ObservableGauge: AggregationTemporality.CUMULATIVE,
}


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() == "true"


def sdk_disabled() -> bool:
    """Whether OTEL_SDK_DISABLED turns the OpenTelemetry SDK, and so the agent, off."""
    return _env_flag("OTEL_SDK_DISABLED")


def _env_seconds(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(
            f"environment variable {name}={raw!r}: expected a number of seconds, e.g. 1.5"
        ) from None
    if not value > 0:
        raise ConfigurationError(
            f"environment variable {name}={raw!r}: expected a positive number of seconds"
        )
    return value


def _env_count(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigurationError(
            f"environment variable {name}={raw!r}: expected a whole number >= 1"
        )
    return int(raw)


def _resource(service_name: str | None) -> Resource:
    # Resource.create reads OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME itself; we only
    # fill in what neither the caller nor the environment said.
    attributes: dict[str, str] = {SERVICE_INSTANCE_ID: str(uuid.uuid4())}
    env_names_service = bool(os.environ.get("OTEL_SERVICE_NAME")) or (
        f"{SERVICE_NAME}=" in os.environ.get("OTEL_RESOURCE_ATTRIBUTES", "")
    )
    if service_name is not None:
        attributes[SERVICE_NAME] = service_name
    elif not env_names_service:
        attributes[SERVICE_NAME] = DEFAULT_SERVICE_NAME
    return Resource.create(attributes)


class PersonaOwner(Protocol):
    """Something that can have a persona open when the process ends (a collector)."""

    def end_persona_opened_by(self, telemetry: Telemetry) -> None:
        """End the current persona if it was entered through ``telemetry``."""


@dataclass(eq=False)  # identity semantics: one set of instruments per Telemetry
class Telemetry:
    """The tracer and meter the agent records with, and everything that lives as long.

    A Telemetry owns the providers it created, the instruments and input guard that every
    collector recording through it shares, and what must happen at exit (ending open
    personas, then the final bounded flush). ``configure()`` makes one; tests and
    applications can pass their own providers::

        telemetry = hypertool_agent.configure(meter_provider=my_provider)
        collector = PersonaMetricsCollector(telemetry=telemetry)
    """

    tracer: trace.Tracer
    meter: metrics.Meter
    enabled: bool
    shutdown_timeout: float
    #: Distinct values kept per label key; new values beyond it are recorded as "other".
    max_label_values: int = DEFAULT_MAX_LABEL_VALUES
    _owned_tracer_provider: TracerProvider | None = None
    _owned_meter_provider: MeterProvider | None = None
    #: Providers the application owns: flushed when asked, never shut down by the agent.
    _borrowed: tuple[object, ...] = ()
    _exit_hooks: list[Callable[[], None]] = field(default_factory=list)
    #: Collectors with a persona open: held until it ends, so that its time is exported
    #: even when the program let go of the collector.
    _open_personas: set[PersonaOwner] = field(default_factory=set)
    _instruments: Instruments | None = None
    #: The owned meter provider's exporter, which keeps failed exports in the spool.
    _delivery: DeliveringExporter | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _closed: bool = False
    #: Set once the owned meter provider has exported (or spooled) for the last time.
    _metrics_stopped: threading.Event = field(default_factory=threading.Event)

    @property
    def instruments(self) -> Instruments:
        """The counters and guard shared by everything recording through this Telemetry."""
        found = self._instruments
        if found is None:
            with self._lock:  # one set, hence one guard and one cardinality bound
                if self._instruments is None:
                    self._instruments = create_instruments(self.meter, self.max_label_values)
                found = self._instruments
        return found

    def add_exit_hook(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` before the final flush, e.g. to record a last measurement."""
        with self._lock:
            self._exit_hooks.append(hook)

    def persona_opened(self, owner: PersonaOwner) -> None:
        """``owner`` entered a persona through this Telemetry: end it at shutdown if open."""
        with self._lock:
            if not self._closed:  # shut down already: nothing would export its span
                self._open_personas.add(owner)

    def persona_closed(self, owner: PersonaOwner) -> None:
        """``owner``'s persona ended: nothing left to end at shutdown."""
        with self._lock:
            self._open_personas.discard(owner)

    def flush(self, timeout: float | None = None) -> bool:
        """Export everything recorded so far; True when it finished within ``timeout``."""
        return self._bounded(self._flush_providers, timeout)

    def shutdown(self, timeout: float | None = None) -> bool:
        """End open personas, export what is left and stop the providers we created."""
        with self._lock:
            if self._closed:
                return True
            self._closed = True
            owners, self._open_personas = self._open_personas, set()
            hooks: list[Callable[[], None]] = [
                functools.partial(o.end_persona_opened_by, self) for o in owners
            ]
            hooks += self._exit_hooks
        atexit.unregister(self.shutdown)
        for hook in hooks:
            try:
                hook()
            except Exception:  # noqa: BLE001 - a failing hook must not cost the flush
                _log.exception("hypertool: exit hook failed")
        if not self._borrowed and (refused := _refusing_endpoint()) is not None:
            # The SDK would retry a refused export with backoff until the bound: the
            # answer is already known, and waiting for it only delays the exit.
            return self._keep_for_later(refused, timeout)
        if self._delivery is not None:
            self._delivery.hurry()  # the collector listens: no backoff to sleep through
        return self._bounded(self._shutdown_providers, timeout, on_timeout=self._go_offline)

    def _keep_for_later(self, refused: str, timeout: float | None) -> bool:
        """Write the metrics not yet sent to the spool; spans not yet sent are dropped."""
        delivery = self._delivery
        if delivery is None or delivery.spool is None:
            _log.warning(
                "hypertool: the collector at %s refused the connection; telemetry not yet "
                "sent is dropped",
                refused,
            )
            return False
        delivery.go_offline()
        kept = self._bounded(self._shutdown_meter_provider, timeout)
        _log.warning(
            "hypertool: the collector at %s refused the connection; metrics not yet sent "
            "wait in %s for the next export or `hypertool spool drain`; spans not yet "
            "sent are dropped",
            refused,
            delivery.spool.directory,
        )
        return kept

    def _go_offline(self) -> None:
        if self._delivery is not None:
            self._delivery.go_offline()

    def _shutdown_meter_provider(self) -> None:
        provider = self._owned_meter_provider
        if provider is not None:
            millis = int(self.shutdown_timeout * 1000)
            # The flush collects and exports on this thread, to the end. Shutdown alone
            # leaves the last export to the reader's thread, which it waits for only
            # shutdown_timeout: a slow export would be cut off when the process exits.
            provider.force_flush(millis)
            provider.shutdown(millis)
        self._metrics_stopped.set()

    def _flush_providers(self, *, metrics: bool = True) -> None:
        millis = int(self.shutdown_timeout * 1000)
        # Metrics first: they are what is billed, and a stuck span export must not hold
        # them up until the bound.
        owned = (self._owned_meter_provider if metrics else None, self._owned_tracer_provider)
        for provider in (*owned, *self._borrowed):
            force_flush = getattr(provider, "force_flush", None)
            if force_flush is not None:
                force_flush(millis)

    def _shutdown_providers(self) -> None:
        # Metrics first (their shutdown collects and exports one last time): they are
        # what is billed, and a stuck span export must not hold them up until the bound.
        self._shutdown_meter_provider()
        self._flush_providers(metrics=False)
        if self._owned_tracer_provider is not None:
            self._owned_tracer_provider.shutdown()

    def _bounded(
        self,
        work: Callable[[], None],
        timeout: float | None,
        on_timeout: Callable[[], None] | None = None,
    ) -> bool:
        # The SDK's own timeouts are per export and per retry; a daemon thread joined with a
        # deadline is the only bound that holds whatever the exporter does.
        if (
            self._owned_tracer_provider is None
            and self._owned_meter_provider is None
            and not self._borrowed
        ):
            return True
        limit = self.shutdown_timeout if timeout is None else timeout
        worker = threading.Thread(target=work, name="hypertool-flush", daemon=True)
        try:
            worker.start()
        except RuntimeError:
            # Python 3.12.0 and 3.12.1 refuse new threads in atexit handlers. Flushing inline
            # is then bounded only by the exporter's own timeout (OTEL_EXPORTER_OTLP_TIMEOUT).
            work()
            return True
        # Part of the bound is kept for cutting a stuck send short, so that what it held
        # reaches the spool and the exit still ends within the bound.
        grace = min(_SPOOL_GRACE_S, limit / 2) if on_timeout is not None else 0.0
        worker.join(limit - grace)
        if worker.is_alive() and on_timeout is not None:
            on_timeout()
            worker.join(grace)
            if self._metrics_stopped.is_set():
                _log.warning(
                    "hypertool: telemetry export did not finish within %.1fs; metrics not "
                    "yet sent were kept in the spool, spans not yet sent are dropped",
                    limit,
                )
                return False
        if worker.is_alive():
            _log.warning(
                "hypertool: telemetry export did not finish within %.1fs; data not yet sent "
                "is dropped. Is the collector at OTEL_EXPORTER_OTLP_ENDPOINT=%s reachable?",
                limit,
                os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4317"),
            )
            return False
        return True


#: How long the exit waits to learn whether anything listens at the endpoint: a refusal
#: on a reachable host comes back in well under a millisecond.
_PROBE_SECONDS = 0.05
#: After the bound, how long exit waits for a cut-short export to reach the spool.
_SPOOL_GRACE_S = 0.2


def _refusing_endpoint() -> str | None:
    """The OTLP endpoint if nothing listens there (connection refused), else None.

    Only a refusal counts: a timeout, a name that does not resolve or an endpoint that is
    not host:port leaves the decision to the bounded flush.
    """
    for variable in ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        if os.environ.get(variable):
            return None  # per-signal endpoints: not worth a probe each
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4317")
    url = urllib.parse.urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
    try:
        port = url.port or 4317
    except ValueError:
        return None
    if url.hostname is None:
        return None
    try:
        with socket.create_connection((url.hostname, port), timeout=_PROBE_SECONDS):
            return None
    except ConnectionRefusedError:
        return endpoint
    except OSError:
        return None


def _disabled(timeout: float, max_label_values: int = DEFAULT_MAX_LABEL_VALUES) -> Telemetry:
    return Telemetry(
        tracer=trace.NoOpTracer(),
        meter=metrics.NoOpMeter(SCOPE_NAME),
        enabled=False,
        shutdown_timeout=timeout,
        max_label_values=max_label_values,
    )


def _checked_label_limit(max_label_values: int | None) -> int:
    if max_label_values is None:
        return _env_count(ENV_MAX_LABEL_VALUES, DEFAULT_MAX_LABEL_VALUES)
    if not _is_int(max_label_values) or max_label_values < 1:
        raise ConfigurationError(f"max_label_values={max_label_values!r}: expected an int >= 1")
    return max_label_values


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _checked_interval(export_interval_ms: int | None) -> int | None:
    if export_interval_ms is not None and (
        not _is_int(export_interval_ms) or export_interval_ms < 1
    ):
        raise ConfigurationError(
            f"export_interval_ms={export_interval_ms!r}: expected an int >= 1 (milliseconds)"
        )
    return export_interval_ms


def _checked_service_name(service_name: str | None) -> str | None:
    if service_name is not None and (not isinstance(service_name, str) or not service_name):
        raise ConfigurationError(f"service_name={service_name!r}: expected a non-empty string")
    return service_name


def _checked_timeout(shutdown_timeout: float | None) -> float:
    if shutdown_timeout is None:
        return _env_seconds(ENV_SHUTDOWN_TIMEOUT, DEFAULT_SHUTDOWN_TIMEOUT_S)
    number = _is_int(shutdown_timeout) or isinstance(shutdown_timeout, float)
    if not number or not math.isfinite(shutdown_timeout) or not shutdown_timeout > 0:
        raise ConfigurationError(
            f"shutdown_timeout={shutdown_timeout!r}: expected a positive number"
        )
    return shutdown_timeout


def _otlp_tracer_provider(resource: Resource) -> TracerProvider:
    # Imported here so that a disabled or injected setup never loads gRPC.
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def metrics_endpoint() -> str:
    """The endpoint the OTLP metric exporter sends to, as the SDK resolves it."""
    return (
        os.environ.get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or "http://localhost:4317"
    )


def _spool() -> Spool | None:
    from hypertool_agent._spool import Spool, spool_enabled

    if not spool_enabled():
        return None
    endpoint = metrics_endpoint()
    try:
        return Spool.for_endpoint(endpoint)
    except OSError as error:
        # Never a crash for the host program: it runs on, as the SDK would, without one.
        _log.warning(
            "hypertool: no spool for %s (%s): exports the collector cannot take are dropped",
            endpoint,
            error,
        )
        return None


def _otlp_meter_provider(
    resource: Resource, export_interval_ms: int | None
) -> tuple[MeterProvider, DeliveringExporter]:
    from hypertool_agent._delivery import DeliveringExporter, RequestExporter

    if export_interval_ms is None and not os.environ.get("OTEL_METRIC_EXPORT_INTERVAL"):
        export_interval_ms = DEFAULT_EXPORT_INTERVAL_MS
    inner = RequestExporter(preferred_temporality=PREFERRED_TEMPORALITY)
    delivery = DeliveringExporter(inner, _spool())
    reader = PeriodicExportingMetricReader(delivery, export_interval_millis=export_interval_ms)
    provider = MeterProvider(resource=resource, metric_readers=[reader], shutdown_on_exit=False)
    return provider, delivery


def _application_providers(
    tracer_provider: trace.TracerProvider | None, meter_provider: metrics.MeterProvider | None
) -> tuple[trace.TracerProvider | None, metrics.MeterProvider | None]:
    # An application that set up OpenTelemetry already keeps its providers: we record
    # through them and leave their configuration and shutdown to it.
    if tracer_provider is None and _is_configured(trace.get_tracer_provider()):
        tracer_provider = trace.get_tracer_provider()
    if meter_provider is None and _is_configured(metrics.get_meter_provider()):
        meter_provider = metrics.get_meter_provider()
        _warn_if_cumulative(meter_provider)
    return tracer_provider, meter_provider


def build(
    *,
    service_name: str | None = None,
    shutdown_timeout: float | None = None,
    export_interval_ms: int | None = None,
    tracer_provider: trace.TracerProvider | None = None,
    meter_provider: metrics.MeterProvider | None = None,
    max_label_values: int | None = None,
) -> Telemetry:
    """A Telemetry from these settings and the environment (``configure`` installs one)."""
    max_label_values = _checked_label_limit(max_label_values)
    timeout = _checked_timeout(shutdown_timeout)
    export_interval_ms = _checked_interval(export_interval_ms)
    service_name = _checked_service_name(service_name)
    if sdk_disabled():
        return _disabled(timeout, max_label_values)
    tracer_provider, meter_provider = _application_providers(tracer_provider, meter_provider)
    borrowed = tuple(p for p in (tracer_provider, meter_provider) if p is not None)
    owned_tp: TracerProvider | None = None
    owned_mp: MeterProvider | None = None
    delivery: DeliveringExporter | None = None
    if tracer_provider is None or meter_provider is None:
        resource = _resource(service_name)  # one instance id for both signals
        if tracer_provider is None:
            tracer_provider = owned_tp = _otlp_tracer_provider(resource)
        if meter_provider is None:
            owned_mp, delivery = _otlp_meter_provider(resource, export_interval_ms)
            meter_provider = owned_mp
    telemetry = Telemetry(
        tracer=tracer_provider.get_tracer(SCOPE_NAME),
        meter=meter_provider.get_meter(SCOPE_NAME),
        enabled=True,
        shutdown_timeout=timeout,
        max_label_values=max_label_values,
        _owned_tracer_provider=owned_tp,
        _owned_meter_provider=owned_mp,
        _borrowed=borrowed,
        _delivery=delivery,
    )
    # Registered after the application's providers, so it runs before their own atexit
    # shutdown: open personas are ended while their spans can still be exported.
    atexit.register(telemetry.shutdown)
    return telemetry


def _is_configured(provider: object) -> bool:
    """Whether a global provider is a real one, not the API's placeholder or no-op."""
    return type(provider).__name__ not in {
        "ProxyTracerProvider",
        "NoOpTracerProvider",
        "_ProxyMeterProvider",
        "NoOpMeterProvider",
    }


def _warn_if_cumulative(provider: metrics.MeterProvider) -> None:
    # The SDK keeps its readers, and each reader's temporality per instrument class, in
    # private fields; a provider that has neither simply gets no warning.
    readers = getattr(provider, "_metric_readers", ())
    for reader in readers:
        by_class = getattr(reader, "_instrument_class_temporality", {})
        counters = [t for cls, t in by_class.items() if issubclass(cls, Counter)]
        if AggregationTemporality.CUMULATIVE in counters:
            _log.warning(
                "hypertool: the application's MeterProvider exports counters as cumulative. "
                "The hypertool collector adds up deltas only, so hypertool's counters from "
                "this process will be rejected (hypertool_pipeline_rejected_points_total). "
                "Pass preferred_temporality=hypertool_agent.PREFERRED_TEMPORALITY to its "
                "OTLP metric exporter."
            )
            return


_current: Telemetry | None = None
_current_lock = threading.Lock()


def configure(
    *,
    service_name: str | None = None,
    shutdown_timeout: float | None = None,
    export_interval_ms: int | None = None,
    tracer_provider: trace.TracerProvider | None = None,
    meter_provider: metrics.MeterProvider | None = None,
    max_label_values: int | None = None,
) -> Telemetry:
    """Set up the agent's telemetry; call once at start-up, or rely on the defaults.

    Everything else comes from the standard variables: ``OTEL_EXPORTER_OTLP_ENDPOINT``
    (default ``http://localhost:4317``), ``OTEL_SERVICE_NAME``,
    ``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_EXPORTER_OTLP_HEADERS``, ``OTEL_SDK_DISABLED``.
    Providers passed in, or set globally by the application before, are used as they are
    and never shut down by the agent.
    """
    built = build(
        service_name=service_name,
        shutdown_timeout=shutdown_timeout,
        export_interval_ms=export_interval_ms,
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        max_label_values=max_label_values,
    )
    previous = install(built)
    if previous is not None:
        previous.shutdown()
    return built


def install(telemetry: Telemetry | None) -> Telemetry | None:
    """Make ``telemetry`` current without shutting down the one before; return that one."""
    # The one process-wide pointer, as OpenTelemetry's global providers are.
    global _current
    with _current_lock:
        previous, _current = _current, telemetry
    return previous


def current() -> Telemetry | None:
    """The configured telemetry, or None before the first use: no lock, no set-up."""
    return _current


def get_telemetry() -> Telemetry:
    """The configured telemetry, configured from the environment on first use.

    Implicit set-up never raises into the host program: a bad setting is logged once and
    the agent records nothing (call ``configure()`` to have it raised instead).
    """
    global _current  # noqa: PLW0603 - see install()
    with _current_lock:
        if _current is None:
            try:
                _current = build()
            except Exception:  # noqa: BLE001 - whatever the SDK raises, the host keeps running
                _log.exception(
                    "hypertool: telemetry set-up failed; recording nothing in this process"
                )
                _current = _disabled(DEFAULT_SHUTDOWN_TIMEOUT_S)
        return _current


def shutdown(timeout: float | None = None) -> bool:
    """Flush and stop the agent's telemetry now instead of at exit."""
    with _current_lock:
        current = _current
    return True if current is None else current.shutdown(timeout)
