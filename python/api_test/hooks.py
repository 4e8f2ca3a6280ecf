"""Schemathesis hooks for ``make test-api`` (loaded by run.py through
``SCHEMATHESIS_HOOKS``).

* With ``FXE_API_TEST_SIGNED=1`` every request is signed with the org's API
  key by the SDK (``fxe.sign_request``, PROTOCOL.md §6), over the exact
  request target and body bytes that go on the wire: the signature is made
  in a ``requests`` auth handler, after schemathesis has serialised the case.
* Path parameters are sometimes swapped for ids that exist (run.py's
  fixtures: messages, webhook endpoints, deliveries, users, orgs, numbers),
  so the fuzzer gets past ``404 not_found`` into the code behind it.
* The org's signing key is never revoked by the fuzzer (a ``DELETE
  /api-keys/{key_id}`` naming it, e.g. from a stateful link to ``GET
  /api-keys``, gets the spare key's id instead): the rest of the run would
  only see ``401 key_revoked``.
"""

from __future__ import annotations

import json
import os
from typing import Any

import requests
import schemathesis
from hypothesis import strategies as st
from schemathesis import Case, HookContext

import fxe

FIXTURES: dict[str, Any] = json.loads(open(os.environ["FXE_API_TEST_FIXTURES"]).read())
SIGNED = os.environ.get("FXE_API_TEST_SIGNED") == "1"

# Which fixture ids fit a path parameter: by the path's first segment and the parameter's name.
_IDS_BY_SEGMENT = {
    "messages": "message_id",
    "webhooks": "webhook_id",
    "deliveries": "delivery_id",
    "users": "user_id",
    "api-keys": "spare_key_id",
}
_IDS_BY_NAME = {"org_id": "org_id", "number": "number", "key_id": "spare_key_id"}


def _candidates(path: str, name: str) -> list[str]:
    segment = path.strip("/").split("/", 1)[0]
    kind = _IDS_BY_NAME.get(name) or (_IDS_BY_SEGMENT.get(segment) if name == "id" else None)
    values: list[str] = FIXTURES.get(kind, []) if kind else []
    return values


@schemathesis.hook
def flatmap_path_parameters(ctx: HookContext, path_parameters: dict[str, Any]) -> Any:
    """Half the time, every path parameter that has fixtures takes one of them."""
    if not path_parameters or ctx.operation is None:
        return st.just(path_parameters)
    path = ctx.operation.path
    known = {name: _candidates(path, name) for name in path_parameters}
    known = {name: values for name, values in known.items() if values}
    if not known:
        return st.just(path_parameters)
    fixed = st.fixed_dictionaries({name: st.sampled_from(values) for name, values in known.items()})
    return st.one_of(st.just(path_parameters), fixed.map(lambda v: {**path_parameters, **v}))


class _Sign(requests.auth.AuthBase):
    """Signs the prepared request: its method, path and query as sent, its body bytes."""

    def __init__(self, signer: fxe.Signer) -> None:
        self.signer = signer

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        body = r.body
        if body is None:
            data = b""
        elif isinstance(body, bytes):
            data = body
        elif isinstance(body, str):
            # Sent as UTF-8 (http.client would send a str as Latin-1, or fail).
            data = body.encode("utf-8")
            r.body = data
            r.prepare_content_length(data)
        else:
            raise TypeError(f"test-api: cannot sign a streamed body ({type(body).__name__})")
        assert r.method is not None
        r.headers.update(fxe.sign_request(self.signer, r.method, r.path_url, data))
        return r


_SIGN = _Sign(fxe.load_keys(FIXTURES["keys"]).signer("admin")) if SIGNED else None


# Message framing belongs to the HTTP layer, not to the API: a malformed Content-Length or
# Transfer-Encoding is answered by hyper itself (400, empty body, connection closed, as RFC
# 9112 §6.3 asks) before any handler could give it the API's JSON error shape.
_FRAMING = {"content-length", "transfer-encoding", "host", "connection"}


@schemathesis.hook
def before_call(ctx: HookContext, case: Case[Any], kwargs: dict[str, Any]) -> None:
    for headers in (case.headers, kwargs.get("headers")):
        if headers:
            for name in [n for n in headers if n.lower() in _FRAMING]:
                del headers[name]
    if case.operation.path == "/api-keys/{key_id}" and case.path_parameters:
        if case.path_parameters.get("key_id") == FIXTURES["signing_key_id"]:
            case.path_parameters = {**case.path_parameters, "key_id": FIXTURES["spare_key_id"][0]}
    if _SIGN is not None:
        kwargs["auth"] = _SIGN
