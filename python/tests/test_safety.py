"""What an integrator relies on when things go wrong: changed keys, tampered
ciphertext, a killed receiver, a 100 MiB fax in flat memory."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Union

import httpx
import pytest

import fxe
from conftest import ROOT, Org, Orgs, Relay, clean_env, pdf_bytes, received_until, wait_for

HERE = Path(__file__).resolve().parent


def test_changed_key_raises_until_trusted(orgs: Orgs, relay: Relay) -> None:
    a, b = orgs.new("Sender"), orgs.new("Old owner")
    with a.client() as ca:
        assert ca.lookup(b.number) is not None  # pinned to B
    # B releases its number and another org takes it over.
    admin = fxe.Auth(fxe.load_keys(b.keys).signer("admin"))
    r = httpx.delete(f"{relay.url}/api/v1/numbers/{fxe.auth.quote_part(b.number)}", auth=admin)
    assert r.status_code == 204, r.text
    c = orgs.new("New owner", number=b.number)
    with a.client() as ca:
        with pytest.raises(fxe.KeyChangedError) as e:
            ca.lookup(b.number)
        assert e.value.code == "pin_mismatch" and e.value.fingerprint == c.fingerprint
        with pytest.raises(fxe.KeyChangedError):
            ca.send(to=b.number, from_=a.number, file=pdf_bytes(1000))
        with pytest.raises(fxe.KeyChangedError) as wrong:
            ca.trust(b.number, b.fingerprint)
        assert wrong.value.code == "fingerprint_mismatch"
        org = ca.trust(b.number, c.fingerprint)
        assert org.org_id == c.org_id
        found = ca.lookup(b.number)
        assert found is not None and found.org_id == c.org_id
    # The CLI shares the pin store: it agrees without a trust of its own.
    r2 = a.cli("lookup", b.number, "--json")
    assert json.loads(r2.stdout)["org_id"] == c.org_id


def _blob_files(relay: Relay) -> set[Path]:
    return {p for p in (relay.data_dir / "blobs" / "objects").rglob("*") if p.is_file()}


def test_tampered_ciphertext_is_refused(pair: tuple[Org, Org], relay: Relay, tmp_path: Path) -> None:
    a, b = pair
    before = _blob_files(relay)
    with a.client() as ca, b.client() as cb:
        sent = ca.send(to=b.number, from_=a.number, file=pdf_bytes(2_100_000, seed=9))
        (blob,) = _blob_files(relay) - before
        data = bytearray(blob.read_bytes())
        data[1_500_000] ^= 0x01  # in the second chunk
        blob.write_bytes(bytes(data))
        got = cb.receive(tmp_path / "in")
        assert [(r.event, r.reason) for r in got] == [("refused", "cannot_open")], got
        assert "cannot open message" in (got[0].error or "")
        assert list((tmp_path / "in").iterdir()) == [tmp_path / "in" / ".fxe-receive.lock"], "nothing is kept"
        d = ca.status(sent.message_id)
        assert d.status == "rejected" and d.verified and d.reason == "cannot_open"


def test_opener_rejects_tampering_directly(pair: tuple[Org, Org]) -> None:
    """The native opener, fed a tampered chunk, raises VerificationError and releases nothing of it."""
    a, b = pair
    ka, kb = fxe.load_keys(a.keys), fxe.load_keys(b.keys)
    bundle = kb.active_bundle_json()
    sealer = fxe._native.Sealer(ka, kb.identity_pub, bundle, message_id=fxe._native.new_message_id(), created_at=1,
                                from_number=a.number, from_name="", to_number=b.number)
    ct = sealer.feed(b"%PDF-" + b"x" * 2_000_000)
    last, env = sealer.finish()
    ct += last
    opener = fxe._native.Opener(kb, [b.number], env, ka.identity_pub, ka.active_bundle_json())
    bad = bytearray(ct)
    bad[(1 << 20) + 100] ^= 1
    first = opener.feed(bytes(bad[: (1 << 20) + 16]))
    assert len(first) == 1 << 20
    with pytest.raises(fxe.VerificationError) as e:
        opener.feed(bytes(bad[(1 << 20) + 16:]))
    assert e.value.code == "cannot_open"
    with pytest.raises(fxe.FxeError):
        opener.finish()
    short = fxe._native.Opener(kb, [b.number], env, ka.identity_pub, ka.active_bundle_json())
    short.feed(ct[:-1])
    with pytest.raises(fxe.VerificationError):
        short.finish()
    wrong_number = pytest.raises(fxe.VerificationError)
    with wrong_number:
        fxe._native.Opener(kb, ["+15550000000"], env, ka.identity_pub, ka.active_bundle_json())


RECEIVER = """
import sys, fxe
fxe.Client(sys.argv[1]).receive(sys.argv[2])
"""


def test_killed_receiver_rerun_writes_each_fax_once(pair: tuple[Org, Org], tmp_path: Path) -> None:
    a, b = pair
    faxes = [pdf_bytes(3_000_000 + i, seed=20 + i) for i in range(4)]
    out = tmp_path / "in"
    with a.client() as ca:
        ids = [ca.send(to=b.number, from_=a.number, file=f).message_id for f in faxes]
    # A receiver killed (SIGKILL) as soon as the first fax is written.
    p = subprocess.Popen([sys.executable, "-c", RECEIVER, str(b.keys), str(out)], env=clean_env())
    wait_for("the first fax", lambda: p.poll() is not None or any(out.glob("*.pdf")), timeout=120)
    p.send_signal(signal.SIGKILL)
    p.wait()
    with b.client() as cb:
        files = received_until(cb, out, len(faxes))
        assert sorted(f.name for f in files) == sorted(f"{i}.pdf" for i in ids)
        for i, fax in zip(ids, faxes):
            assert (out / f"{i}.pdf").read_bytes() == fax
        assert cb.receive(out) == []
    with a.client() as ca:
        for i in ids:
            assert ca.status(i).delivered


BIG = """
import sys, fxe
keys_a, keys_b, to, from_, src, out = sys.argv[1:]
def status(field: str) -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(field + ":"))
a, b = fxe.Client(keys_a), fxe.Client(keys_b)
a.lookup(to)
list(b.messages.list("inbox"))
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # resets the peak (VmHWM) to the resident set now
base = status("VmRSS")
sent = a.send(to=to, from_=from_, file=src)
after_send = status("VmHWM") - base
got = []
while not got:
    got = b.receive(out)
print(sent.message_id, got[0].event, after_send, status("VmHWM") - base)
"""


def test_100_mib_fax_in_flat_memory(pair: tuple[Org, Org], tmp_path: Path) -> None:
    a, b = pair
    src = tmp_path / "big.pdf"
    n = 104_856_000  # the largest fax whose ciphertext fits the 100 MiB cap
    with open(src, "wb") as f:
        f.write(b"%PDF-1.7\n")
        left = n - 9
        while left:
            piece = os.urandom(min(left, 1 << 20))
            f.write(piece)
            left -= len(piece)
    r = subprocess.run([sys.executable, "-c", BIG, str(a.keys), str(b.keys), b.number, a.number, str(src),
                        str(tmp_path / "in")], env=clean_env(), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    mid, event, sending, growth = r.stdout.split()
    assert event == "received"
    print(f"100 MiB send + receive: peak RSS grew by {int(sending) / (1 << 20):.1f} MiB sending, "
          f"{int(growth) / (1 << 20):.1f} MiB in all")
    assert int(growth) < 64 << 20, f"peak RSS grew by {int(growth) >> 20} MiB for a 100 MiB fax"
    got = tmp_path / "in" / f"{mid}.pdf"
    assert got.stat().st_size == n
    with open(src, "rb") as x, open(got, "rb") as y:
        while True:
            p, q = x.read(1 << 20), y.read(1 << 20)
            assert p == q
            if not p:
                break
    # One byte more does not fit the cap: refused before anything is uploaded.
    with open(src, "ab") as f:
        f.write(b"!")
    with a.client() as ca:
        with pytest.raises(fxe.InvalidInputError):
            ca.send(to=b.number, from_=a.number, file=src)


def test_interop_with_fxe_client_both_ways(pair: tuple[Org, Org], tmp_path: Path) -> None:
    a, b = pair
    fax1, fax2 = pdf_bytes(1_100_000, seed=31), pdf_bytes(700_000, seed=32)
    (a.dir / "one.pdf").write_bytes(fax1)
    # The CLI sends, the SDK receives.
    r = a.cli("send", "--to", b.number, "--from", a.number, "one.pdf", "--json")
    mid1 = json.loads(r.stdout)["message_id"]
    with b.client() as cb:
        files = received_until(cb, tmp_path / "sdk-in", 1)
        assert files[0].name == f"{mid1}.pdf" and files[0].read_bytes() == fax1
        # The SDK sends, the CLI receives.
        mid2 = cb.send(to=a.number, from_=b.number, file=fax2).message_id
    deadline = time.monotonic() + 60
    while not (a.dir / "cli-in" / f"{mid2}.pdf").exists():
        a.cli("receive", "--out-dir", "cli-in")
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert (a.dir / "cli-in" / f"{mid2}.pdf").read_bytes() == fax2
    assert json.loads(a.cli("status", mid1, "--json").stdout)["receipt_verified"] is True
    with b.client() as cb:
        assert cb.status(mid2).delivered


def test_interrupted_receive_cleans_up_and_releases_the_folder(pair: tuple[Org, Org], tmp_path: Path) -> None:
    """Ctrl-C while a fax downloads: no partial file, the lock is released, a rerun receives it."""
    a, b = pair
    fax = pdf_bytes(2_500_000, seed=41)
    with a.client() as ca:
        ca.send(to=b.number, from_=a.number, file=fax)

    def interrupt(resp: httpx.Response) -> None:
        if resp.request.url.path.endswith("/content"):
            raise KeyboardInterrupt

    out = tmp_path / "in"
    http = httpx.Client(event_hooks={"response": [interrupt]})
    with fxe.Client(b.keys, http=http) as cb:
        with pytest.raises(KeyboardInterrupt) as stopped:
            cb.receive(out)
    http.close()
    # Checked while the traceback (and so the interrupted call's frames) is still alive.
    assert stopped.traceback and sorted(p.name for p in out.iterdir()) == [".fxe-receive.lock"]
    with b.client() as cb:
        (got,) = received_until(cb, out, 1)
        assert got.read_bytes() == fax


class _Substitute(httpx.BaseTransport):
    """A relay in front of the real one that answers ``path`` with ``answer`` (JSON, or
    text) instead."""

    def __init__(self, path: str, answer: Union[dict[str, object], str]) -> None:
        self.inner = httpx.HTTPTransport()
        self.path, self.answer = path, answer

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.raw_path.decode("ascii") == self.path:
            if isinstance(self.answer, str):
                return httpx.Response(200, text=self.answer)
            return httpx.Response(200, json=self.answer)
        return self.inner.handle_request(request)


def test_keys_the_log_does_not_back_are_refused_at_first_contact(orgs: Orgs, relay: Relay) -> None:
    a, victim, mallory = orgs.new("Sender"), orgs.new("Victim"), orgs.new("Mallory")
    assert (a.dir / "fxe-log" / "policy.json").is_file(), "redeem pinned the relay's log policy"
    auth = fxe.Auth(fxe.load_keys(a.keys).signer("send"))
    # Mallory's own directory answer (validly signed, proven in the log for Mallory's
    # number), handed out for the victim's number at first contact.
    forged = httpx.get(f"{relay.url}/api/v1/directory/{fxe.auth.quote_part(mallory.number)}", auth=auth).json()
    assert forged["log"]["entries"], "directory answers carry their log proof"
    forged["number"] = victim.number
    rigged = _Substitute(f"/api/v1/directory/{fxe.auth.quote_part(victim.number)}", forged)
    with fxe.Client(a.keys, http=httpx.Client(transport=rigged)) as ca:
        with pytest.raises(fxe.VerificationError) as e:
            ca.lookup(victim.number)
        assert e.value.code == "not_in_log", e.value
        with pytest.raises(fxe.VerificationError):
            ca.send(to=victim.number, from_=a.number, file=pdf_bytes(1000))
        # The proof stripped: refused too.
        del forged["log"]
        with pytest.raises(fxe.VerificationError) as e:
            ca.lookup(victim.number)
        assert e.value.code == "not_in_log" and "no transparency log proof" in str(e.value)
    with mallory.client() as cm:
        assert list(cm.messages.list("inbox")) == [], "nothing was sealed to Mallory"
    # Through the honest relay: the victim, checked, and its checkpoint kept.
    with a.client() as ca:
        found = ca.lookup(victim.number)
        assert found is not None and found.org_id == victim.org_id
    assert (a.dir / "fxe-log" / "sdk-checkpoint").is_file()


def test_sender_keys_the_log_does_not_hold_are_refused_and_nothing_opens(
    orgs: Orgs, relay: Relay, tmp_path: Path
) -> None:
    a, b = orgs.new("Sender"), orgs.new("Recipient")
    fax = pdf_bytes(3000)
    with a.client() as ca:
        message_id = ca.send(to=b.number, from_=a.number, file=fax).message_id
    # A relay that hands B a bundle of A's the log never saw: A's own (signed by A's
    # identity, so it verifies), made and kept back, as a relay showing one member keys it
    # shows no one else would.
    _, hidden = fxe.load_keys(a.keys).with_new_bundle(int(time.time()))
    auth = fxe.Auth(fxe.load_keys(b.keys).signer("receive"))
    path = f"/api/v1/orgs/{a.org_id}/bundles"
    listed = httpx.get(f"{relay.url}{path}", auth=auth).json()
    listed["items"].append({"bundle": json.loads(hidden), "active": False, "retired_at": "2026-01-01T00:00:00Z"})
    rigged = _Substitute(path, listed)
    out = tmp_path / "in"
    with fxe.Client(b.keys, http=httpx.Client(transport=rigged)) as cb:
        with pytest.raises(fxe.VerificationError) as e:
            cb.open(message_id, out / "fax.pdf")
        assert e.value.code == "not_in_log", e.value
        assert "not what the relay's transparency log holds" in str(e.value)
        with pytest.raises(fxe.VerificationError) as e:
            cb.trust(a.org_id, a.fingerprint)
        assert e.value.code == "not_in_log", e.value
    assert not out.exists() or not list(out.iterdir()), "nothing was opened"
    # The honest relay: A's logged keys, the fax opens.
    with b.client() as cb:
        (got,) = received_until(cb, out, 1)
        assert got.read_bytes() == fax


def _inclusion_path(m: int, leaves: list[bytes]) -> list[bytes]:
    """RFC 6962's PATH(m, D[n]): leaf ``m``'s inclusion proof, leaf to root."""

    def node(left: bytes, right: bytes) -> bytes:
        return hashlib.sha256(b"\x01" + left + right).digest()

    def split(n: int) -> int:
        return 1 << ((n - 1).bit_length() - 1)

    def root(hs: list[bytes]) -> bytes:
        return hs[0] if len(hs) == 1 else node(root(hs[: split(len(hs))]), root(hs[split(len(hs)) :]))

    if len(leaves) == 1:
        return []
    k = split(len(leaves))
    if m < k:
        return _inclusion_path(m, leaves[:k]) + [root(leaves[k:])]
    return _inclusion_path(m - k, leaves[k:]) + [root(leaves[:k])]


def test_a_bundle_the_org_replaced_is_refused_though_the_log_holds_it(orgs: Orgs, relay: Relay) -> None:
    a, b = orgs.new("Sender"), orgs.new("Rotator")
    auth = fxe.Auth(fxe.load_keys(a.keys).signer("send"))
    path = f"/api/v1/directory/{fxe.auth.quote_part(b.number)}"
    before = httpx.get(f"{relay.url}{path}", auth=auth).json()
    with b.client() as cb:
        new_bundle = cb.rotate_bundle()

    def answer() -> dict[str, Any]:
        got: dict[str, Any] = httpx.get(f"{relay.url}{path}", auth=auth).json()
        return got

    wait_for("the directory to answer with the new bundle", lambda: answer()["bundle"]["bundle_id"] == new_bundle)
    now = answer()
    # A relay that wants A to seal to B's old bundle answers with it, proven in the log under
    # its newest checkpoint: every inclusion proof checks (the old entry is in the tree).
    size = int(now["log"]["checkpoint"].split("\n")[1])
    hashes = b""
    for i in range((size + 255) // 256):
        width = min(256, size - 256 * i)
        tile = f"tile/0/{i:03d}" + ("" if width == 256 else f".p/{width}")
        hashes += httpx.get(f"{relay.url}/api/v1/transparency/{tile}", auth=auth).content
    leaves = [hashes[32 * j : 32 * (j + 1)] for j in range(size)]
    moved = [i for i, e in enumerate(now["log"]["entries"]) if e["index"] != before["log"]["entries"][i]["index"]]
    assert len(moved) == 1, "only the bundle entry changed"
    old = dict(before["log"]["entries"][moved[0]])
    old["proof"] = [base64.b64encode(h).decode("ascii") for h in _inclusion_path(old["index"], leaves)]
    forged = json.loads(json.dumps(now))
    forged["bundle"] = before["bundle"]
    forged["log"]["entries"][moved[0]] = old
    with fxe.Client(a.keys, http=httpx.Client(transport=_Substitute(path, forged))) as ca:
        with pytest.raises(fxe.VerificationError) as e:
            ca.lookup(b.number)
        assert e.value.code == "not_in_log", e.value
        assert "not what its transparency log holds now" in str(e.value)
        assert f"the bundle offered ({before['bundle']['bundle_id']})" in str(e.value)
    # The honest relay: B's new bundle, checked against the replica the SDK keeps.
    with a.client() as ca:
        found = ca.lookup(b.number)
        assert found is not None and found.bundle_id == new_bundle
    assert (a.dir / "fxe-log" / "sdk-entries").is_file() and (a.dir / "fxe-log" / "sdk-replica-checkpoint").is_file()


def test_a_rolled_back_log_is_refused_and_both_checkpoints_are_kept(orgs: Orgs, relay: Relay) -> None:
    a, b = orgs.new("Sender"), orgs.new("Recipient")
    with a.client() as ca:
        assert ca.lookup(b.number) is not None  # the replica is in step with the log
    auth = fxe.Auth(fxe.load_keys(a.keys).signer("send"))
    old = httpx.get(f"{relay.url}/api/v1/transparency/checkpoint", auth=auth).text
    orgs.new("Newcomer")  # the log grows past `old`
    rigged = _Substitute("/api/v1/transparency/checkpoint", old)
    with fxe.Client(a.keys, http=httpx.Client(transport=rigged)) as ca:
        wait_for("the log to grow", lambda: httpx.get(f"{relay.url}/api/v1/transparency/checkpoint", auth=auth).text != old)
        with pytest.raises(fxe.VerificationError) as e:
            ca.lookup(b.number)
    assert e.value.code == "log_rollback", e.value
    assert e.value.evidence is not None and e.value.evidence[1] == old
    assert e.value.evidence_path is not None
    kept = Path(e.value.evidence_path)
    assert kept.parent == a.dir / "fxe-log" / "evidence" and kept.name.endswith("-rollback.txt")
    text = kept.read_text("utf-8")
    assert text.startswith("seen before:\n") and text.endswith(f"offered now:\n{old}")
    # The honest relay again: the lookup passes.
    with a.client() as ca:
        assert ca.lookup(b.number) is not None
