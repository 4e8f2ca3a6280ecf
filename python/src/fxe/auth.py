"""Signed requests (PROTOCOL.md §6) for any HTTP client.

With httpx, pass :class:`Auth`::

    import httpx, fxe
    auth = fxe.Auth(fxe.load_keys("keys.zip").signer("send"))
    httpx.get("https://relay.example/api/v1/org", auth=auth)

With any other client (``requests``, ``aiohttp``), sign the exact request
target and body yourself with :func:`sign_request`::

    import requests, fxe
    signer = fxe.load_keys("keys.zip").signer("send")
    headers = fxe.sign_request(signer, "GET", "/api/v1/org")
    requests.get("https://relay.example/api/v1/org", headers=headers)
"""

from __future__ import annotations

import time
from typing import Generator, Optional, Union
from urllib.parse import quote

import httpx

from ._native import Signer
from .errors import InvalidInputError

__all__ = ["Auth", "sign_request", "quote_part", "UNSIGNED_PAYLOAD"]

UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
_CONTENT_HEADER = "X-FXE-Content-SHA256"


def quote_part(value: str) -> str:
    """Percent-encodes a path segment or query value (``+`` as ``%2B``, as §6 asks)."""
    return quote(value, safe="-_.~")


def sign_request(
    signer: Union[Signer, str],
    method: str,
    path_and_query: str,
    body: Optional[bytes] = b"",
    *,
    timestamp: Optional[int] = None,
) -> dict[str, str]:
    """The five ``X-FXE-*`` headers for one request.

    ``path_and_query`` is the request target exactly as it goes on the wire
    (``/api/v1/directory/%2B15550001?x=1``), ``body`` the exact body bytes
    (``b""`` for none; ``None`` signs ``UNSIGNED-PAYLOAD``, accepted only for
    the ciphertext upload). ``signer`` is a :class:`Signer` or an
    ``fxe_sk_…`` secret string. A fresh nonce is used on every call: sign
    each attempt of a retried request again.

    >>> headers = sign_request(secret, "POST", "/api/v1/messages", b'{"envelope": …}')  # doctest: +SKIP
    """
    if isinstance(signer, str):
        signer = Signer(signer)
    ts = int(time.time()) if timestamp is None else timestamp
    return signer.sign(method, path_and_query, body, ts)


class Auth(httpx.Auth):
    """An ``httpx.Auth`` that signs every request with an API key.

    The request body must be in memory (httpx then knows it); a streamed body
    is signed as ``UNSIGNED-PAYLOAD`` only when the request already carries
    ``X-FXE-Content-SHA256: UNSIGNED-PAYLOAD`` (the ciphertext upload), so a
    100 MiB upload is never buffered.
    """

    requires_request_body = False

    def __init__(self, signer: Union[Signer, str]) -> None:
        self.signer = Signer(signer) if isinstance(signer, str) else signer

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        target = request.url.raw_path.decode("ascii")
        body: Optional[bytes]
        if request.headers.get(_CONTENT_HEADER) == UNSIGNED_PAYLOAD:
            body = None
        else:
            try:
                body = request.content
            except httpx.RequestNotRead:
                raise InvalidInputError(
                    "fxe.Auth cannot sign a streamed body: pass the body as bytes, or set "
                    f"{_CONTENT_HEADER}: {UNSIGNED_PAYLOAD} (allowed only for the ciphertext upload)"
                ) from None
        request.headers.update(sign_request(self.signer, request.method, target, body))
        yield request
