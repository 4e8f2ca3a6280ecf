"""fxe: send, receive and verify end-to-end encrypted faxes on an fxe relay.

The cryptography is ``fxe-protocol`` (Rust), compiled into ``fxe._native``:
the same code as ``fxe-client`` and the browser, never rewritten in Python.

>>> import fxe                                                    # doctest: +SKIP
>>> client = fxe.Client("keys.zip")                               # doctest: +SKIP
>>> client.send(to="+15550000002", from_="+15550000001", file="scan.pdf", wait=True)  # doctest: +SKIP
"""

from . import webhooks
from ._native import Keys, Signer
from ._native import VERSION as __version__
from .auth import Auth, sign_request
from .client import AsyncClient, Client
from .config import load_keys
from .errors import (
    APIError,
    AuthenticationError,
    ConflictError,
    ConnectionError,
    FxeError,
    GoneError,
    InvalidInputError,
    InvalidRequestError,
    KeyChangedError,
    KeysError,
    NotFoundError,
    NotOnNetworkError,
    PermissionDeniedError,
    RateLimitError,
    TimeoutError,
    UnavailableError,
    VerificationError,
)
from .models import ApiKeyInfo, Delivery, Message, Org, ReceivedFax, SentFax, WebhookEndpoint

__all__ = [
    "__version__",
    "Client",
    "AsyncClient",
    "Auth",
    "sign_request",
    "load_keys",
    "Keys",
    "Signer",
    "webhooks",
    "Org",
    "Message",
    "Delivery",
    "SentFax",
    "ReceivedFax",
    "WebhookEndpoint",
    "ApiKeyInfo",
    "FxeError",
    "APIError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "ConflictError",
    "GoneError",
    "InvalidRequestError",
    "RateLimitError",
    "UnavailableError",
    "VerificationError",
    "KeyChangedError",
    "KeysError",
    "InvalidInputError",
    "ConnectionError",
    "TimeoutError",
    "NotOnNetworkError",
]
