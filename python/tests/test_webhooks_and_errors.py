"""Webhooks delivered by the relay to a local receiver, verified with
fxe.webhooks.verify and with the standardwebhooks package; every relay error
code the tests can provoke mapped to its exception."""

from __future__ import annotations

import json
import queue
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Iterator, Optional

import httpx
import pytest

import fxe
from conftest import Org, Orgs, Relay, free_port, pdf_bytes, wait_for
from fxe.errors import error_for

Delivery = tuple[dict[str, str], bytes]


class Receiver:
    def __init__(self) -> None:
        self.got: "queue.Queue[Delivery]" = queue.Queue()
        got = self.got

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                got.put(({k: v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def next(self, timeout: float = 60) -> Delivery:
        return self.got.get(timeout=timeout)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_webhooks_verify_both_schemes(pair: tuple[Org, Org], receiver: Receiver) -> None:
    from standardwebhooks.webhooks import Webhook

    a, b = pair
    with a.client() as ca, b.client() as cb:
        ep = cb.webhooks.create(receiver.url, ["message.received"], "gateway")
        assert ep.secret and ep.secret.startswith("whsec_")
        assert [w.id for w in cb.webhooks.list()] == [ep.id]
        sent = ca.send(to=b.number, from_=a.number, file=pdf_bytes(4000))
        headers, body = receiver.next()
        event = fxe.webhooks.verify(body, headers, ep.secret)
        assert event.type == "message.received" and event.org_id == b.org_id
        assert event.data["message_id"] == sent.message_id
        assert event.id == {k.lower(): v for k, v in headers.items()}["x-fxe-event-id"]
        # The Standard Webhooks headers alone, with our verifier and the stock one.
        std = {k: v for k, v in headers.items() if k.lower().startswith("webhook-")}
        assert fxe.webhooks.verify(body, std, ep.secret).id == event.id
        assert Webhook(ep.secret).verify(body, {k.lower(): v for k, v in std.items()})["id"] == event.id
        # Tampering, another secret, an old timestamp: refused.
        with pytest.raises(fxe.VerificationError):
            fxe.webhooks.verify(body + b" ", headers, ep.secret)
        with pytest.raises(fxe.VerificationError):
            fxe.webhooks.verify(body, std, "whsec_" + "A" * 43 + "=")
        with pytest.raises(fxe.InvalidInputError):
            fxe.webhooks.verify(body, headers, ep.secret, tolerance=-1)
        sent_at = int(std["webhook-timestamp"] if "webhook-timestamp" in std else std["Webhook-Timestamp"])
        wait_for("two seconds to pass", lambda: time.time() >= sent_at + 2)
        with pytest.raises(fxe.VerificationError) as old:  # a replay from the past
            fxe.webhooks.verify(body, headers, ep.secret, tolerance=1)
        assert old.value.code == "bad_timestamp"
        with pytest.raises(fxe.VerificationError):
            fxe.webhooks.verify(body, {}, ep.secret)
        # A rotated secret: the new one verifies, the old one still too (24 h overlap).
        rotated = cb.webhooks.rotate_secret(ep.id)
        assert rotated.secret and rotated.secret != ep.secret
        cb.webhooks.test(ep.id)
        h2, b2 = receiver.next()
        assert fxe.webhooks.verify(b2, h2, rotated.secret).type == "ping"
        assert fxe.webhooks.verify(b2, h2, ep.secret).type == "ping"
        cb.webhooks.delete(ep.id)
        assert cb.webhooks.list() == []


def _raw(relay: Relay, signer: Optional[fxe.Signer], method: str, target: str, body: bytes = b"",
         headers: Optional[dict[str, str]] = None, sign_body: Optional[bytes] = None,
         timestamp: Optional[int] = None) -> httpx.Response:
    h = dict(headers or {})
    if signer is not None:
        unsigned = h.get("X-FXE-Content-SHA256") == "UNSIGNED-PAYLOAD"
        signed: Optional[bytes] = None if unsigned else (body if sign_body is None else sign_body)
        h.update(fxe.sign_request(signer, method, target, signed, timestamp=timestamp))
    if body:
        h.setdefault("Content-Type", "application/json")
    return httpx.request(method, relay.url + target, content=body, headers=h)


def _mapped(resp: httpx.Response) -> fxe.APIError:
    assert not resp.is_success, resp.text
    return error_for(resp.status_code, resp.content, resp.headers.get("retry-after"))


def test_every_relay_error_code_maps_to_its_exception(pair: tuple[Org, Org], relay: Relay, tmp_path: Path) -> None:
    a, b = pair
    ka = fxe.load_keys(a.keys)
    s = ka.signer("send")
    unknown = ka.with_new_api_key(["send"])[0].signer("send")
    with a.client() as ca:
        send_only = ca.api_keys.create(["send"], label="send only")
        assert send_only.scopes == ("send",)
        send_key = fxe.load_keys(a.keys).signer("send")  # the newest key with `send` is the send-only one
        assert send_key.key_id == send_only.key_id
        sent = ca.send(to=b.number, from_=a.number, file=pdf_bytes(2000), wait=False)
    with b.client() as cb:
        cb.receive(tmp_path / "in")
    mid = sent.message_id

    replay = fxe.sign_request(s, "GET", "/api/v1/org", b"")
    httpx.get(relay.url + "/api/v1/org", headers=replay).raise_for_status()
    cases: list[tuple[httpx.Response, type[fxe.APIError], str]] = [
        (_raw(relay, None, "GET", "/api/v1/org"), fxe.AuthenticationError, "unauthenticated"),
        (_raw(relay, unknown, "GET", "/api/v1/org"), fxe.AuthenticationError, "unknown_key"),
        (_raw(relay, s, "GET", "/api/v1/org", timestamp=int(time.time()) - 3600), fxe.AuthenticationError,
         "timestamp_skew"),
        (httpx.get(relay.url + "/api/v1/org", headers=replay), fxe.AuthenticationError, "replayed_request"),
        (_raw(relay, s, "POST", "/api/v1/messages", b'{"envelope":{}}', sign_body=b"{}"), fxe.AuthenticationError,
         "body_hash_mismatch"),
        (httpx.get(relay.url + "/api/v1/org", headers={**fxe.sign_request(s, "GET", "/api/v1/org"),
                                                         "X-FXE-Request-Signature": "v1=" + "A" * 86}),
         fxe.AuthenticationError, "bad_request_signature"),
        (_raw(relay, send_key, "GET", "/api/v1/messages?box=inbox"), fxe.PermissionDeniedError, "forbidden"),
        (_raw(relay, s, "GET", "/api/v1/messages/0b6f7e0e-4c7a-4d51-9a4e-3f1c2d3b4a59"), fxe.NotFoundError,
         "not_found"),
        (_raw(relay, s, "GET", "/api/v1/directory/%2B15559999999"), fxe.NotFoundError, "not_on_network"),
        (_raw(relay, s, "GET", "/api/v1/directory/abc"), fxe.InvalidRequestError, "invalid_number"),
        (_raw(relay, s, "POST", "/api/v1/messages", b'{"envelope":{}}'), fxe.InvalidRequestError, "invalid_envelope"),
        (_raw(relay, ka.signer("receive"), "GET", f"/api/v1/messages/{mid}/content"), fxe.NotFoundError, "not_found"),
        (_raw(relay, fxe.load_keys(b.keys).signer("receive"), "GET", f"/api/v1/messages/{mid}/content"),
         fxe.GoneError, "gone"),
        (_raw(relay, s, "PUT", f"/api/v1/messages/{mid}/content", b"x"), fxe.ConflictError, "already_uploaded"),
    ]
    key = "same-key-" + mid
    first = _raw(relay, ka.signer("admin"), "POST", "/api/v1/webhooks",
                 json.dumps({"url": "http://127.0.0.1:9/a", "events": ["ping"]}).encode(), {"Idempotency-Key": key})
    assert first.status_code == 201, first.text
    cases.append((_raw(relay, ka.signer("admin"), "POST", "/api/v1/webhooks",
                       json.dumps({"url": "http://127.0.0.1:9/b", "events": ["ping"]}).encode(),
                       {"Idempotency-Key": key}), fxe.ConflictError, "idempotency_key_reused"))
    # Envelopes sealed here and posted by hand: a wrong upload, a reused id, a number not ours.
    kb = fxe.load_keys(b.keys)

    def sealed(message_id: str, from_number: str, body: bytes) -> tuple[bytes, bytes]:
        sealer = fxe._native.Sealer(ka, kb.identity_pub, kb.active_bundle_json(), message_id=message_id,
                                    created_at=int(time.time()), from_number=from_number, from_name="",
                                    to_number=b.number)
        ct = sealer.feed(body)
        last, env = sealer.finish()
        return b'{"envelope":' + env.encode() + b"}", ct + last

    m2 = fxe._native.new_message_id()
    create, ct = sealed(m2, a.number, b"%PDF-1")
    assert _raw(relay, s, "POST", "/api/v1/messages", create).status_code == 201
    cases.append((_raw(relay, s, "PUT", f"/api/v1/messages/{m2}/content", b"\0" * len(ct),
                       {"X-FXE-Content-SHA256": "UNSIGNED-PAYLOAD"}, sign_body=None), fxe.InvalidRequestError,
                  "content_mismatch"))
    cases.append((_raw(relay, s, "POST", "/api/v1/messages", sealed(m2, a.number, b"%PDF-2")[0]), fxe.ConflictError,
                  "message_id_conflict"))
    cases.append((_raw(relay, s, "POST", "/api/v1/messages", sealed(fxe._native.new_message_id(), b.number, b"%PDF")[0]),
                  fxe.PermissionDeniedError, "from_number_not_yours"))
    for resp, cls, code in cases:
        err = _mapped(resp)
        assert (type(err), err.code) == (cls, code), (resp.status_code, resp.text)
        assert isinstance(err, fxe.FxeError) and err.status == resp.status_code

    # Through the client's own methods too.
    with a.client() as ca:
        with pytest.raises(fxe.NotFoundError) as nf:
            ca.status("0b6f7e0e-4c7a-4d51-9a4e-3f1c2d3b4a59")
        assert nf.value.code == "not_found" and nf.value.status == 404
        with pytest.raises(fxe.InvalidInputError):
            ca.status("not-a-uuid")
    with b.client() as cb:
        assert cb.open(mid, tmp_path / "again.pdf").event == "already_received"
    with fxe.Client(b.keys, state_dir=tmp_path / "fresh") as cb:
        with pytest.raises(fxe.GoneError) as gone:
            cb.open(mid, tmp_path / "again.pdf")
        assert gone.value.code == "gone"
    assert not (tmp_path / "again.pdf").exists()


def test_rate_limit_honours_retry_after_and_connection_errors_are_typed(orgs: Orgs, tmp_path: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        limited = Relay(Path(tmp), "--rate-limit-per-minute", "60")
        try:
            org = Orgs(limited, Path(tmp)).new("Busy")
            with fxe.Client(org.keys, max_retries=0) as c:
                with pytest.raises(fxe.RateLimitError) as e:
                    for _ in range(200):
                        c.org()
                assert e.value.code == "rate_limited" and e.value.status == 429
                assert e.value.retry_after is not None and e.value.retry_after >= 1
            limited_answers: list[int] = []
            http = httpx.Client(event_hooks={"response": [lambda r: limited_answers.append(r.status_code)]})
            with fxe.Client(org.keys, max_retries=5, http=http) as c:
                for _ in range(3):  # the bucket is empty: each call waits out Retry-After and goes on
                    assert c.org()["org_id"] == org.org_id
            http.close()
            assert 429 in limited_answers and limited_answers[-1] == 200
        finally:
            limited.stop()
    a = orgs.new("Offline")
    with fxe.Client(a.keys, relay=f"http://127.0.0.1:{free_port()}", max_retries=1) as c:
        with pytest.raises(fxe.ConnectionError) as ce:
            c.lookup("+15550000002")
        assert ce.value.code == "relay_unreachable"
