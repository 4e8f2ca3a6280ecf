"""The SDK's one code path: every feature is a generator ("flow") that
yields these operations and gets their results back. :mod:`fxe.transport`
runs the same flow with ``httpx.Client`` or ``httpx.AsyncClient``, so the
sync and async clients cannot drift apart."""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, Any, Callable, Generator, Optional, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Call:
    """A JSON call to ``/api/v1`` + ``path`` (already percent-encoded),
    signed with the API key for ``scope``. ``body`` is the exact JSON text."""

    method: str
    path: str
    scope: str
    body: Optional[bytes] = None


@dataclass(frozen=True)
class Upload:
    """Streams ``length`` bytes of ``file`` (from its start) as ``PUT path``,
    signed ``UNSIGNED-PAYLOAD``; answers the JSON."""

    path: str
    scope: str
    file: IO[bytes]
    length: int


@dataclass(frozen=True)
class Download:
    """A streamed ``GET path``: every piece of the body goes to ``sink`` as it arrives."""

    path: str
    scope: str
    sink: Callable[[bytes], None]


@dataclass(frozen=True)
class Work:
    """Local CPU or disk work (sealing a file): run in a worker thread by the async client."""

    fn: Callable[[], Any]


@dataclass(frozen=True)
class Sleep:
    seconds: float


Op = Any  # one of Call, Upload, Download, Work, Sleep
Flow = Generator[Op, Any, T]
