"""fxe: send, receive and verify end-to-end encrypted faxes on an fxe relay.

The cryptography is ``fxe-protocol`` (Rust), compiled into ``fxe._native``:
the same code as ``fxe-client`` and the browser, never rewritten in Python.

>>> import fxe                                                    # doctest: +SKIP
>>> client = fxe.Client("keys.zip")                               # doctest: +SKIP
>>> client.send(to="+15550000002", from_="+15550000001", file="scan.pdf", wait=True)  # doctest: +SKIP
"""

from . import errors, models, webhooks
from ._native import Keys, Signer
from ._native import VERSION as __version__
from .auth import Auth, sign_request
from .client import AsyncClient, Client
from .config import load_keys
from .proof import proof_verify
from .errors import *  # noqa: F403 - every error class, listed in errors.__all__
from .models import *  # noqa: F403 - every record type, listed in models.__all__

__all__ = ["__version__", "Client", "AsyncClient", "Auth", "sign_request", "load_keys", "proof_verify", "Keys", "Signer", "webhooks"]
__all__ += errors.__all__
__all__ += models.__all__
