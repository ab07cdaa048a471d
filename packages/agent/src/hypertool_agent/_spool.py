"""Exports the collector could not take, kept on disk until it can: the spool.

A metrics export that fails (the collector restarts, is killed, refuses the connection at
exit) is written here instead of being dropped, and sent by the next successful export of
any agent on the host that exports to the same endpoint, or by ``hypertool spool drain``.

Exactly once: every export carries ``names.DELIVERY_ID`` (``<process uuid>:<sequence>``),
and a resend carries the original's. The collector's ledger journals the ids it applied
with the totals, so a file sent twice (a sender killed after the collector's answer and
before the file's removal; an answer lost in a timeout) is counted once.

Layout: one directory per user and endpoint, ``0700``; one file per export, ``0600``,
holding the ``ExportMetricsServiceRequest`` in OTLP's JSON encoding on one line (as the
collector's file exporter writes it). A file appears whole or not at all (written aside,
then renamed), and is removed only after the collector acknowledged it. What does not fit
the bound, or waited longer than the maximum age, is dropped and counted: the count waits
in ``dropped.json`` (an export of ``hypertool.agent.dropped_measurements`` itself, exempt
from the bound) until it can be delivered like the rest.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import logging
import os
import stat
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2

from hypertool_agent import names as n
from hypertool_agent._spools import DrainResult, SpoolStatus
from hypertool_agent.errors import ConfigurationError

_log = logging.getLogger("hypertool_agent")

ENV_SPOOL = "HYPERTOOL_SPOOL"
ENV_SPOOL_DIR = "HYPERTOOL_SPOOL_DIR"
ENV_SPOOL_MAX_BYTES = "HYPERTOOL_SPOOL_MAX_BYTES"
ENV_SPOOL_MAX_AGE = "HYPERTOOL_SPOOL_MAX_AGE"
DEFAULT_MAX_BYTES = 64 << 20
#: A week. The collector's ledger remembers delivery ids for longer (192 h), so a file
#: resent at any age the spool allows is still recognised.
DEFAULT_MAX_AGE_S = 7 * 24 * 3600.0
#: Files one successful export sends on its way (a file takes about a millisecond on
#: loopback): an outage's backlog of a host goes at once, a larger one over a few exports.
DRAIN_PER_EXPORT = 256

#: ``hypertool.agent.dropped_measurements`` reasons for what the spool could not keep.
REASON_SPOOL_FULL = n.REASON_SPOOL_FULL
REASON_SPOOL_EXPIRED = n.REASON_SPOOL_EXPIRED
REASON_SPOOL_UNREADABLE = n.REASON_SPOOL_UNREADABLE
REASON_SPOOL_WRITE_FAILED = n.REASON_SPOOL_WRITE_FAILED

_SUFFIX = ".json"
_DROPPED = "dropped.json"
_ENDPOINT_FILE = "endpoint"
_LOCK = "lock"
_TMP_PREFIX = ".tmp-"
#: A file being written for longer than this belongs to a writer that died.
_ABANDONED_TMP_S = 60.0


def default_root() -> Path:
    """``$HYPERTOOL_SPOOL_DIR``, else ``$XDG_STATE_HOME/hypertool/spool`` (per user)."""
    explicit = os.environ.get(ENV_SPOOL_DIR, "").strip()
    if explicit:
        return Path(explicit)
    state = os.environ.get("XDG_STATE_HOME", "").strip()
    base = Path(state) if state else Path.home() / ".local" / "state"
    return base / "hypertool" / "spool"


def spool_enabled() -> bool:
    """Off only when ``HYPERTOOL_SPOOL=off``: then a failed export is dropped, as the SDK does."""
    return os.environ.get(ENV_SPOOL, "").strip().lower() not in {"off", "false", "0"}


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(
            f"environment variable {name}={raw!r}: expected a number"
        ) from None
    if not value > 0:
        raise ConfigurationError(f"environment variable {name}={raw!r}: expected a positive number")
    return value


def _limits() -> tuple[int, float]:
    """The spool's bound in bytes and its maximum age in seconds, from the environment."""
    return (
        int(_env_number(ENV_SPOOL_MAX_BYTES, DEFAULT_MAX_BYTES)),
        _env_number(ENV_SPOOL_MAX_AGE, DEFAULT_MAX_AGE_S),
    )


def points_in(request: ExportMetricsServiceRequest) -> int:
    """The data points of ``request``: what a drop of it loses, in measurements."""
    total = 0
    for rm in request.resource_metrics:
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                kind = m.WhichOneof("data")
                if kind is not None:
                    total += len(getattr(m, kind).data_points)
    return total


def tag(request: ExportMetricsServiceRequest, delivery_id: str) -> None:
    """Name ``request``'s delivery on each of its resources (replacing an earlier name)."""
    for rm in request.resource_metrics:
        attributes = rm.resource.attributes
        for i in reversed(range(len(attributes))):
            if attributes[i].key == n.DELIVERY_ID:
                del attributes[i]
        attributes.append(KeyValue(key=n.DELIVERY_ID, value=AnyValue(string_value=delivery_id)))


class Spool:
    """The spool of one endpoint, safe to share between threads and processes."""

    def __init__(self, directory: Path, *, max_bytes: int, max_age_s: float) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.max_age_s = max_age_s

    @classmethod
    def for_endpoint(cls, endpoint: str, root: Path | None = None) -> Spool:
        """The spool of ``endpoint`` under ``root`` (default: ``default_root()``).

        Raises ConfigurationError for bad limits and OSError when the directory cannot
        be made private to this user.
        """
        max_bytes, max_age = _limits()
        key = hashlib.sha256(endpoint.encode()).hexdigest()[:16]
        directory = (root or default_root()) / key
        _private_directory(directory)
        marker = directory / _ENDPOINT_FILE
        if not marker.exists():  # for `hypertool spool status` and `drain`: where to send
            _write_atomically(directory, _ENDPOINT_FILE, endpoint.encode())
        return cls(directory, max_bytes=max_bytes, max_age_s=max_age)

    @property
    def endpoint(self) -> str:
        """The endpoint this spool's exports are for."""
        try:
            return (self.directory / _ENDPOINT_FILE).read_text().strip()
        except OSError:
            return ""

    def put(self, request: ExportMetricsServiceRequest) -> bool:
        """Keep ``request`` until it can be delivered; False (counted) when it cannot."""
        data = json_format.MessageToJson(request, indent=None, use_integers_for_enums=True)
        line = data.encode() + b"\n"
        points = points_in(request)
        try:
            with self._locked():
                if self._used_bytes() + len(line) > self.max_bytes:
                    self._count_dropped(points, REASON_SPOOL_FULL)
                    return False
                _write_atomically(self.directory, _file_name(), line)
        except OSError as error:
            reason = REASON_SPOOL_FULL if error.errno in _DISK_FULL else REASON_SPOOL_WRITE_FAILED
            _log.warning("hypertool: spool write failed in %s: %s", self.directory, error)
            self._count_dropped_unlocked(points, reason)
            return False
        return True

    def waiting(self) -> list[Path]:
        """The files waiting, oldest first (names start with their creation time)."""
        try:
            names = sorted(
                e.name
                for e in os.scandir(self.directory)
                if e.name.endswith(_SUFFIX) and e.name != _DROPPED
            )
        except FileNotFoundError:
            return []
        return [self.directory / name for name in names]

    def drain(
        self,
        send: Callable[[ExportMetricsServiceRequest], bool],
        max_files: int | None = DRAIN_PER_EXPORT,
    ) -> DrainResult:
        """Send waiting files, oldest first, until one fails or ``max_files`` were sent.

        Each file is held under an exclusive lock while it is sent and removed only once
        ``send`` succeeded, so two drainers never send one file at the same time; a
        drainer that dies in between leaves the file to the next, and the collector
        recognises the resend by its delivery id.
        """
        sent = 0
        failed = False
        for _ in range(2):  # a second pass delivers what the first counted as dropped
            self._release_dropped()
            for path in self.waiting():
                if max_files is not None and sent >= max_files:
                    break
                outcome = self._deliver(path, send)
                if outcome is False:
                    failed = True
                    break
                sent += outcome is True
            if failed or not (self.directory / _DROPPED).exists():
                break
        self._remove_abandoned()
        return DrainResult(sent=sent, failed=failed, waiting=len(self.waiting()))

    def status(self) -> SpoolStatus:
        """What waits here now."""
        files = self.waiting()
        points = size = 0
        oldest: float | None = None
        for path in files:
            with contextlib.suppress(OSError, json_format.ParseError):
                size += path.stat().st_size
                points += points_in(_read(path))
                oldest = oldest or time.time() - _created(path)
        dropped = 0
        with contextlib.suppress(OSError, json_format.ParseError):
            dropped = _dropped_value(_read(self.directory / _DROPPED))
        return SpoolStatus(
            directory=self.directory,
            endpoint=self.endpoint,
            files=len(files),
            points=points,
            bytes=size,
            oldest_age_s=oldest,
            dropped_pending=dropped,
        )

    # Delivery of one file: True sent, None skipped (another drainer has it, or it was
    # dropped), False the collector did not take it.
    def _deliver(
        self, path: Path, send: Callable[[ExportMetricsServiceRequest], bool]
    ) -> bool | None:
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return None  # delivered by another drainer meanwhile
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return None
            if not _still_linked(fd, path):
                return None  # another drainer delivered and removed it before our lock
            request = self._readable(path, fd)
            if request is None:
                return None
            if not send(request):
                return False
            path.unlink(missing_ok=True)
            return True
        finally:
            os.close(fd)

    def _readable(self, path: Path, fd: int) -> ExportMetricsServiceRequest | None:
        """The request in ``path``, or None once dropped as unreadable or too old."""
        try:
            with os.fdopen(os.dup(fd), "rb") as f:
                request = json_format.Parse(f.read(), ExportMetricsServiceRequest())
        except (OSError, ValueError, json_format.ParseError) as error:
            _log.warning("hypertool: spool file %s is unreadable, dropped: %s", path, error)
            self._count_dropped_unlocked(1, REASON_SPOOL_UNREADABLE)
            path.unlink(missing_ok=True)
            return None
        if time.time() - _created(path) > self.max_age_s:
            _log.warning("hypertool: spool file %s is older than its maximum age, dropped", path)
            self._count_dropped_unlocked(points_in(request), REASON_SPOOL_EXPIRED)
            path.unlink(missing_ok=True)
            return None
        return request

    def _used_bytes(self) -> int:
        total = 0
        for path in self.waiting():
            with contextlib.suppress(OSError):
                total += path.stat().st_size
        return total

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        # One lock for the bound and dropped.json: files themselves are locked one by one.
        fd = os.open(self.directory / _LOCK, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _count_dropped_unlocked(self, points: int, reason: str) -> None:
        try:
            with self._locked():
                self._count_dropped(points, reason)
        except OSError as error:
            _log.error(
                "hypertool: %d measurements dropped (%s), uncounted: %s", points, reason, error
            )

    def _count_dropped(self, points: int, reason: str) -> None:
        """Add ``points`` to the pending drop count (the caller holds the lock)."""
        _log.warning(
            "hypertool: %d measurements dropped from the spool in %s (%s)",
            points,
            self.directory,
            reason,
        )
        path = self.directory / _DROPPED
        try:
            request = _read(path)
        except (OSError, ValueError, json_format.ParseError):
            request = _dropped_request()
        _add_dropped(request, reason, points)
        data = json_format.MessageToJson(request, indent=None, use_integers_for_enums=True)
        _write_atomically(self.directory, _DROPPED, data.encode() + b"\n")

    def _release_dropped(self) -> None:
        """Turn the pending drop count into a waiting file, delivered like the others."""
        path = self.directory / _DROPPED
        if not path.exists():
            return
        with contextlib.suppress(OSError), self._locked():
            os.rename(path, self.directory / _file_name())

    def _remove_abandoned(self) -> None:
        with contextlib.suppress(OSError):
            for entry in os.scandir(self.directory):
                if entry.name.startswith(_TMP_PREFIX):
                    age = time.time() - entry.stat().st_mtime
                    if age > _ABANDONED_TMP_S:
                        os.unlink(entry.path)


_DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def _private_directory(directory: Path) -> None:
    """Make ``directory`` (and its missing parents) ``0700``, and refuse one others can read."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = directory.stat()
    if info.st_uid != os.getuid():
        raise PermissionError(f"spool directory {directory} belongs to another user")
    if stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(directory, 0o700)


def _file_name() -> str:
    # Creation time first, so that names sort oldest first; the rest makes it unique.
    return f"{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:8]}{_SUFFIX}"


def _created(path: Path) -> float:
    try:
        return int(path.name.split("-", 1)[0]) / 1e9
    except ValueError:
        return path.stat().st_mtime


def _write_atomically(directory: Path, name: str, data: bytes) -> None:
    tmp = directory / f"{_TMP_PREFIX}{uuid.uuid4().hex}"
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.rename(tmp, directory / name)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _still_linked(fd: int, path: Path) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def _read(path: Path) -> ExportMetricsServiceRequest:
    return json_format.Parse(path.read_bytes(), ExportMetricsServiceRequest())


def _dropped_request() -> ExportMetricsServiceRequest:
    """An export of the drop counter with no points yet, and a delivery id of its own."""
    request = ExportMetricsServiceRequest()
    rm = request.resource_metrics.add()
    rm.resource.attributes.append(
        KeyValue(key="service.name", value=AnyValue(string_value="hypertool-spool"))
    )
    tag(request, f"{uuid.uuid4().hex}:1")
    sm = rm.scope_metrics.add()
    sm.scope.name = n.SCOPE_NAME
    metric = sm.metrics.add()
    metric.name = n.DROPPED_MEASUREMENTS.otel_name
    metric.unit = n.DROPPED_MEASUREMENTS.unit
    metric.description = n.DROPPED_MEASUREMENTS.description
    metric.sum.aggregation_temporality = metrics_pb2.AGGREGATION_TEMPORALITY_DELTA
    metric.sum.is_monotonic = True
    return request


def _add_dropped(request: ExportMetricsServiceRequest, reason: str, points: int) -> None:
    points_slice = request.resource_metrics[0].scope_metrics[0].metrics[0].sum.data_points
    now = time.time_ns()
    for point in points_slice:
        if point.attributes[0].value.string_value == reason:
            point.as_int += points
            point.time_unix_nano = now
            return
    point = points_slice.add(start_time_unix_nano=now, time_unix_nano=now, as_int=points)
    point.attributes.append(KeyValue(key=n.REASON, value=AnyValue(string_value=reason)))


def _dropped_value(request: ExportMetricsServiceRequest) -> int:
    return sum(
        p.as_int
        for rm in request.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
        for p in m.sum.data_points
    )


def spools(root: Path | None = None) -> list[Spool]:
    """Every endpoint's spool under ``root`` (default: ``default_root()``)."""
    base = root or default_root()
    try:
        entries = sorted(os.scandir(base), key=lambda e: e.name)
    except FileNotFoundError:
        return []
    max_bytes, max_age = _limits()
    return [
        Spool(Path(e.path), max_bytes=max_bytes, max_age_s=max_age)
        for e in entries
        if e.is_dir() and os.path.exists(os.path.join(e.path, _ENDPOINT_FILE))
    ]
