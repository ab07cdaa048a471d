"""Small pieces the span-making context managers share."""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Generic, TypeVar

from opentelemetry.trace import Span, Status, StatusCode

T = TypeVar("T")


def mark_error(span: Span, exc: BaseException) -> None:
    """Record ``exc`` on ``span`` and set the span's status to error."""
    span.record_exception(exc)
    span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))


class SyncAndAsync(ABC, Generic[T]):
    """A context manager usable with both ``with`` and ``async with``."""

    @abstractmethod
    def __enter__(self) -> T:
        """Enter the context."""

    @abstractmethod
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        """Leave the context."""

    async def __aenter__(self) -> T:
        """Enter the context, from async code: nothing here blocks."""
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        """Leave the context, from async code."""
        return self.__exit__(exc_type, exc, tb)
