"""Verifying webhook deliveries from the relay, with either header scheme
(``X-FXE-Signature`` or Standard Webhooks' ``webhook-signature``)::

    from flask import Flask, request
    import fxe

    app = Flask(__name__)

    @app.post("/fxe")
    def hook():
        try:
            event = fxe.webhooks.verify(request.get_data(), request.headers, SECRET)
        except fxe.VerificationError:
            return "", 400
        if event.type == "message.received":
            queue_receive(event.data["message_id"])
        return "", 204
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from . import _native
from .errors import InvalidInputError, VerificationError

__all__ = ["Event", "verify"]


@dataclass(frozen=True)
class Event:
    """A webhook event: metadata only, never fax content."""

    id: str
    type: str
    created_at: str
    org_id: str
    data: Mapping[str, Any]


def _header(headers: Mapping[str, str], name: str) -> Optional[str]:
    v = headers.get(name)
    if v is None:
        lower = name.lower()
        for k, val in headers.items():
            if k.lower() == lower:
                return val
    return v


def verify(body: bytes, headers: Mapping[str, str], secret: str, tolerance: int = 300) -> Event:
    """Checks the signature (either scheme; any of several values during a
    secret rotation) and the timestamp (within ``tolerance`` seconds), then
    returns the event. Raises :class:`fxe.VerificationError` otherwise.

    ``body`` must be the raw bytes received, before any JSON parsing.
    """
    if isinstance(body, str):
        body = body.encode("utf-8")
    if not isinstance(body, bytes):
        raise InvalidInputError("body must be the raw request body (bytes)")
    if isinstance(tolerance, bool) or not isinstance(tolerance, int) or tolerance < 0:
        raise InvalidInputError(f"tolerance must be a whole number of seconds >= 0, not {tolerance!r}")
    now = int(time.time())
    fxe_sig = _header(headers, "X-FXE-Signature")
    std_sig = _header(headers, "webhook-signature")
    if fxe_sig is not None:
        ts = _header(headers, "X-FXE-Timestamp") or ""
        _native.verify_webhook(secret, ts, fxe_sig, body, now, tolerance)
    elif std_sig is not None:
        wid = _header(headers, "webhook-id") or ""
        ts = _header(headers, "webhook-timestamp") or ""
        _native.verify_webhook(secret, ts, std_sig, body, now, tolerance, webhook_id=wid)
    else:
        err = VerificationError("no webhook signature header (X-FXE-Signature or webhook-signature)")
        err.code = "bad_signature"
        raise err
    try:
        v = json.loads(body)
        return Event(str(v["id"]), str(v["type"]), str(v["created_at"]), str(v["org_id"]), dict(v.get("data") or {}))
    except (ValueError, KeyError, TypeError) as e:
        err = VerificationError(f"the webhook body is not an fxe event: {e}")
        err.code = "invalid_event"
        raise err from None
