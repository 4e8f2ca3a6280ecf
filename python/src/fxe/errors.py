"""Typed errors. Every error is an :class:`FxeError` with a stable ``code``;
errors the relay answered are :class:`APIError` with its HTTP ``status`` and
its error ``code`` (``{"error": {"code", "message"}}``)."""

from __future__ import annotations

import email.utils
import json
import time
from typing import Mapping, Optional

from ._native import (
    FxeError,
    InvalidInputError,
    KeyChangedError,
    KeysError,
    VerificationError,
)

__all__ = [
    "FxeError",
    "InvalidInputError",
    "VerificationError",
    "KeyChangedError",
    "KeysError",
    "APIError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "ConflictError",
    "GoneError",
    "InvalidRequestError",
    "RateLimitError",
    "UnavailableError",
    "ConnectionError",
    "TimeoutError",
    "NotOnNetworkError",
]


class APIError(FxeError):
    """The relay refused the call: ``status`` (HTTP) and ``code`` (the relay's)."""

    def __init__(self, message: str, *, status: int, code: str, retry_after: Optional[float] = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.retry_after = retry_after


class AuthenticationError(APIError):
    """401: unknown or revoked key, clock skew, bad signature, replay, body hash."""


class PermissionDeniedError(APIError):
    """403: authenticated but not allowed (scope, role, a number not yours)."""


class NotFoundError(APIError):
    """404: no such message, org or number (``not_on_network`` for a number)."""


class ConflictError(APIError):
    """409: already done, in progress, or an id or key reused differently."""


class GoneError(APIError):
    """410: the ciphertext is gone (delivered or expired), an invite used up."""


class InvalidRequestError(APIError):
    """400, 413 and 422: the request is malformed or not acceptable."""


class RateLimitError(APIError):
    """429 ``rate_limited``: retried by the client while retries last; ``retry_after`` seconds."""


class UnavailableError(APIError):
    """503 ``unavailable``: the relay did nothing and the call may be repeated."""


class ConnectionError(FxeError):  # noqa: A001 - the SDK's own, not the builtin
    """The relay cannot be reached (connection, DNS, TLS)."""

    code = "relay_unreachable"


class TimeoutError(FxeError):  # noqa: A001 - the SDK's own, not the builtin
    """A call, or waiting for a receipt, took longer than allowed."""

    code = "timeout"


class NotOnNetworkError(FxeError):
    """``send`` to a number that is not on fxe: send it through the PSTN carrier."""

    code = "not_on_network"


_BY_STATUS: Mapping[int, type[APIError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    410: GoneError,
    413: InvalidRequestError,
    422: InvalidRequestError,
    429: RateLimitError,
    503: UnavailableError,
}


def retry_after_seconds(value: Optional[str]) -> Optional[float]:
    """A ``Retry-After`` header (seconds or an HTTP date) in seconds from now."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def error_for(status: int, body: bytes, retry_after: Optional[str] = None) -> APIError:
    """The typed error for a non-2xx answer."""
    code, message = f"http_{status}", body[:200].decode("utf-8", "replace")
    try:
        detail = json.loads(body)["error"]
        code, message = str(detail["code"]), str(detail["message"])
    except (ValueError, KeyError, TypeError):
        pass
    cls = _BY_STATUS.get(status, APIError)
    return cls(
        f"the relay refused ({status} {code}): {message}",
        status=status,
        code=code,
        retry_after=retry_after_seconds(retry_after),
    )
