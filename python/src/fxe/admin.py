"""The org's own settings as flows (:mod:`fxe.ops`): webhook endpoints, API
keys, the org. Both clients' namespaces run these."""

from __future__ import annotations

import json
from typing import Any, Optional, Sequence

from . import flows
from .auth import quote_part
from .models import ApiKeyInfo, Message, WebhookEndpoint
from .ops import Call, Flow


def _json(v: Any) -> bytes:
    return json.dumps(v, separators=(",", ":")).encode("utf-8")


def call(method: str, path: str, scope: str = "admin", body: Optional[bytes] = None) -> Flow[Any]:
    v = yield Call(method, path, scope, body)
    return v


def org() -> Flow[Any]:
    v = yield from call("GET", "/org", "send")
    return v


def _hook(endpoint_id: str, tail: str = "") -> str:
    return f"/webhooks/{quote_part(endpoint_id)}{tail}"


def webhook_create(url: str, events: Sequence[str], description: str) -> Flow[WebhookEndpoint]:
    body = _json({"url": url, "events": list(events), "description": description})
    v = yield from call("POST", "/webhooks", body=body)
    return WebhookEndpoint.from_json(v)


def webhook_list() -> Flow[list[WebhookEndpoint]]:
    items, _ = yield from flows.page("/webhooks?limit=500", "admin")
    return [WebhookEndpoint.from_json(w) for w in items]


def webhook_update(endpoint_id: str, changes: dict[str, Any]) -> Flow[WebhookEndpoint]:
    v = yield from call("PATCH", _hook(endpoint_id), body=_json(changes))
    return WebhookEndpoint.from_json(v)


def webhook_delete(endpoint_id: str) -> Flow[None]:
    yield from call("DELETE", _hook(endpoint_id))


def webhook_rotate_secret(endpoint_id: str) -> Flow[WebhookEndpoint]:
    v = yield from call("POST", _hook(endpoint_id, "/rotate-secret"), body=b"")
    return WebhookEndpoint.from_json(v)


def webhook_test(endpoint_id: str) -> Flow[Any]:
    v = yield from call("POST", _hook(endpoint_id, "/test"), body=b"")
    return v


def webhook_deliveries(endpoint_id: str) -> Flow[list[Any]]:
    items, _ = yield from flows.page(_hook(endpoint_id, "/deliveries?limit=500"), "admin")
    return items


def api_key_create(ctx: flows.Ctx, scopes: Sequence[str], label: str) -> Flow[ApiKeyInfo]:
    v = yield from flows.create_api_key(ctx, scopes, label)
    return ApiKeyInfo.from_json(v)


def api_key_list() -> Flow[list[ApiKeyInfo]]:
    items, _ = yield from flows.page("/api-keys?limit=500", "admin")
    return [ApiKeyInfo.from_json(k) for k in items]


def message_get(message_id: str) -> Flow[Message]:
    v = yield from call("GET", f"/messages/{flows.message_id_arg(message_id)}", "send")
    return Message.from_json(v)
