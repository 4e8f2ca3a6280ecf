"""keys.zip as the CLI writes it (plain, protected, machine), credentials from
the environment, rotation and API keys, the caller's own httpx client, and bad
input of every kind: always a typed error, never a crash."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

import fxe
from fxe import _native
from conftest import Org, Orgs, pdf_bytes, received_until


def test_credentials_from_the_environment_and_protected_keys(orgs: Orgs, monkeypatch: pytest.MonkeyPatch) -> None:
    a = orgs.new("Env org")
    a.cli("keys", "export", "--out", "locked.zip", "--out-passphrase", "correct horse battery")
    a.cli("keys", "export", "--machine", "--out", "machine.zip")
    monkeypatch.setenv("FXE_KEYS", str(a.dir / "locked.zip"))
    with pytest.raises(fxe.KeysError) as e:
        fxe.Client()
    assert e.value.code == "passphrase_required"
    with pytest.raises(fxe.KeysError) as wrong:
        fxe.Client(passphrase="wrong passphrase")
    assert wrong.value.code == "wrong_passphrase"
    monkeypatch.setenv("FXE_PASSPHRASE", "correct horse battery")
    monkeypatch.setenv("FXE_RELAY", a.relay.url + "/")
    with fxe.Client() as c:
        assert c.org_id == a.org_id and c.relay_url == a.relay.url
        assert c.org()["org_id"] == a.org_id
    monkeypatch.delenv("FXE_PASSPHRASE")
    with fxe.Client(a.dir / "machine.zip") as m:
        assert m.keys.is_machine
        with pytest.raises(fxe.KeysError) as machine:
            m.rotate_bundle()
        assert machine.value.code == "machine_keys"
    with pytest.raises(fxe.KeysError) as missing:
        fxe.Client(a.dir / "nope.zip")
    assert missing.value.code == "bad_keys"


def test_rotation_and_api_keys_rewrite_keys_zip_for_the_cli(pair: tuple[Org, Org], tmp_path: Path) -> None:
    a, b = pair
    with a.client() as ca, b.client() as cb:
        assert ca.lookup(b.number) is not None
        old = cb.keys.bundle_ids
        new_id = cb.rotate_bundle()
        assert cb.keys.bundle_ids == [*old, new_id]
        shown = json.loads(b.cli("keys", "show", "--json").stdout)
        assert json.dumps(shown).count(new_id) >= 1, "the CLI reads the rewritten keys.zip"
        found = ca.lookup(b.number)  # a newer bundle is not a key change
        assert found is not None and found.bundle_id == new_id
        ca.send(to=b.number, from_=a.number, file=pdf_bytes(3000))
        assert received_until(cb, tmp_path / "in", 1)

        info = ca.api_keys.create(["send", "receive"], label="gateway")
        assert info.key_id in [k.key_id for k in ca.api_keys.list()]
        signer = fxe.load_keys(a.keys).signer("receive")
        assert signer.key_id == info.key_id
        ca.api_keys.revoke(info.key_id)
        assert info.key_id not in [k[0] for k in fxe.load_keys(a.keys).api_keys], "dropped from keys.zip"
        revoked = httpx.get(a.relay.url + "/api/v1/org", auth=fxe.Auth(signer))
        assert fxe.errors.error_for(revoked.status_code, revoked.content).code == "key_revoked"


def test_own_httpx_client_sees_signed_requests_and_idempotency_keys(pair: tuple[Org, Org]) -> None:
    a, b = pair
    seen: list[httpx.Request] = []
    http = httpx.Client(event_hooks={"request": [seen.append]})
    with fxe.Client(a.keys, http=http) as ca:
        ca.send(to=b.number, from_=a.number, file=pdf_bytes(2000))
    assert not http.is_closed, "the caller's client is left open"
    http.close()
    assert {r.method for r in seen} >= {"GET", "POST", "PUT"}
    for r in seen:
        assert r.headers["X-FXE-Key"].startswith("ak_") and r.headers["X-FXE-Request-Signature"].startswith("v1=")
        assert ("Idempotency-Key" in r.headers) == (r.method == "POST")
    put = next(r for r in seen if r.method == "PUT")
    assert put.headers["X-FXE-Content-SHA256"] == "UNSIGNED-PAYLOAD"
    assert "%2B" in next(r for r in seen if "/directory/" in r.url.path).url.raw_path.decode()


def test_sign_request_for_other_clients(pair: tuple[Org, Org]) -> None:
    a, _ = pair
    keys = fxe.load_keys(a.keys)
    secret_headers = fxe.sign_request(keys.signer("send"), "GET", "/api/v1/org")
    assert set(secret_headers) == {"X-FXE-Key", "X-FXE-Timestamp", "X-FXE-Content-SHA256", "X-FXE-Nonce",
                                   "X-FXE-Request-Signature"}
    r = httpx.get(a.relay.url + "/api/v1/org", headers=secret_headers)
    assert r.status_code == 200 and r.json()["org_id"] == a.org_id
    body = json.dumps({"url": "http://127.0.0.1:9/x", "events": ["ping"]}).encode()
    h = fxe.sign_request(keys.signer("admin"), "POST", "/api/v1/webhooks", body)
    r = httpx.post(a.relay.url + "/api/v1/webhooks", content=body, headers={**h, "Content-Type": "application/json"})
    assert r.status_code == 201, r.text
    with pytest.raises(fxe.InvalidInputError):
        fxe.sign_request("fxe_sk_not_a_key", "GET", "/api/v1/org")
    with pytest.raises(fxe.InvalidInputError):
        fxe.sign_request(keys.signer("send"), "GET", "api/v1/org")


def test_bad_input_is_a_typed_error_never_a_crash(pair: tuple[Org, Org]) -> None:
    a, b = pair
    ka, kb = fxe.load_keys(a.keys), fxe.load_keys(b.keys)
    zipped = a.keys.read_bytes()
    for data in (b"", b"PK\x03\x04garbage", zipped[: len(zipped) // 2], b"\x00" * 10_000):
        with pytest.raises(fxe.FxeError):
            _native.Keys.load(data)
    bundle = kb.active_bundle_json()
    bad_json = ["", "{", "[]", "null", '{"v":1}', bundle, json.dumps({"envelope": 1})]
    for text in bad_json:
        with pytest.raises(fxe.FxeError):
            _native.parse_envelope(text)
        with pytest.raises(fxe.FxeError):
            _native.Opener(kb, [b.number], text, ka.identity_pub, ka.active_bundle_json())
        with pytest.raises(fxe.FxeError):
            _native.verify_receipt(text, text, text)
        with pytest.raises(fxe.FxeError):
            _native.verify_directory_entry(b.number, text)
        with pytest.raises(fxe.FxeError):
            _native.pins_check(text, None, kb.identity_pub, bundle)
    for key in (b"", b"\x00" * 31, b"\x00" * 33):
        with pytest.raises(fxe.InvalidInputError):
            _native.Sealer(ka, key, bundle, message_id=_native.new_message_id(), created_at=1, from_number=a.number,
                           from_name="", to_number=b.number)
    with pytest.raises(fxe.FxeError):  # a bundle that is not the identity's
        _native.Sealer(ka, ka.identity_pub, bundle, message_id=_native.new_message_id(), created_at=1,
                       from_number=a.number, from_name="", to_number=b.number)
    for mid, name in (("not-a-uuid", ""), (_native.new_message_id(), "bad\x00name")):
        with pytest.raises(fxe.InvalidInputError):
            _native.Sealer(kb, kb.identity_pub, bundle, message_id=mid, created_at=1, from_number=a.number,
                           from_name=name, to_number=b.number)
    s = _native.Sealer(ka, kb.identity_pub, bundle, message_id=_native.new_message_id(), created_at=1,
                       from_number=a.number, from_name="", to_number=b.number)
    s.finish()
    with pytest.raises(fxe.FxeError) as used:
        s.feed(b"more")
    assert used.value.code == "finished"
    with pytest.raises(fxe.InvalidInputError):
        _native.Signer("")
    with pytest.raises(fxe.FxeError):
        kb.make_receipt("{}", 1)
    with pytest.raises(fxe.InvalidInputError):
        _native.fingerprint(b"short")
    with pytest.raises(fxe.FxeError):
        fxe.webhooks.verify(b"{}", {"X-FXE-Signature": "v1=00", "X-FXE-Timestamp": "x"}, "whsec_nope")
    with a.client() as ca:
        with pytest.raises(fxe.InvalidInputError):
            ca.send(to=b.number, from_=a.number, file=12345)  # type: ignore[arg-type]
        with pytest.raises(fxe.InvalidInputError):
            ca.send(to=b.number, from_=a.number, file=a.dir / "missing.pdf")
        with pytest.raises(fxe.InvalidInputError):
            list(ca.messages.list("spam"))
        with pytest.raises(fxe.InvalidInputError):
            ca.trust("not-an-org", "00")


def test_sealing_releases_the_gil(pair: tuple[Org, Org]) -> None:
    """Other Python threads keep running while one call seals 64 MiB."""
    import threading

    a, b = pair
    ka, kb = fxe.load_keys(a.keys), fxe.load_keys(b.keys)
    s = _native.Sealer(ka, kb.identity_pub, kb.active_bundle_json(), message_id=_native.new_message_id(),
                       created_at=1, from_number=a.number, from_name="", to_number=b.number)
    data = b"%PDF-" + bytes(64 << 20)
    worker = threading.Thread(target=s.feed, args=(data,))
    start = last = time.perf_counter()
    longest = 0.0
    worker.start()
    while worker.is_alive():  # with the GIL held by feed, this loop would stall for the whole call
        t = time.perf_counter()
        longest, last = max(longest, t - last), t
    worker.join()
    elapsed = time.perf_counter() - start
    assert longest < elapsed / 2, f"the main thread stalled {longest:.3f} s of {elapsed:.3f} s while sealing"
