#!/usr/bin/env python3
"""An independent check of the fxe v1 known-answer vectors (PROTOCOL.md §8).

Written from PROTOCOL.md alone, with Python's `cryptography` package (>= 46, for
ML-KEM-768) instead of the Rust crates: if this script and `fxe-protocol` agree
on every byte, two implementations read the spec the same way.

    python3 -m pip install 'cryptography>=46'
    python3 protocol/tests/vectors/verify_vectors.py            # from the repository root

It checks, for every vector in envelopes.json: org ids, bundle ids and bundle
signatures; the X-Wing public keys derived from the seeds; the official X-Wing
test vectors (xwing.json, decapsulation side); decapsulation of `kem_ct`, the
KEK, the unwrapping of `wrapped_cek` back to the CEK; `cek_commit`; the STREAM
ciphertext rebuilt from the plaintext (byte i = i mod 251) and its SHA-256;
the envelope transcript and signature; `envelope_hash`; the receipt. For
requests.json: key ids, secret strings, the content hash and the signature.
Exit status 0 when everything matches.
"""

import base64
import hashlib
import json
import os
import struct
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519
from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

HERE = os.path.dirname(os.path.abspath(__file__))


# --- §1 and §2: encodings and transcripts -------------------------------------------------

def b64u(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64u(s: str) -> bytes:
    assert "=" not in s, "b64u must be unpadded"
    out = base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    assert b64u(out) == s, "b64u must be canonical"
    return out


def T(label: str, *fields) -> bytes:
    out = label.encode("ascii") + b"\x00"
    for f in fields:
        if isinstance(f, int):
            f = struct.pack(">Q", f)
        elif isinstance(f, str):
            f = f.encode("utf-8")
        out += struct.pack(">I", len(f)) + f
    return out


def H(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


def hkdf32(ikm: bytes, info: bytes) -> bytes:
    # Empty salt: HKDF-SHA256 uses 32 zero bytes (RFC 5869).
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(ikm)


def ed_pub(seed: bytes) -> bytes:
    return ed25519.Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def ed_sign(seed: bytes, msg: bytes) -> bytes:
    return ed25519.Ed25519PrivateKey.from_private_bytes(seed).sign(msg)


def ed_verify(pub: bytes, sig: bytes, msg: bytes) -> None:
    ed25519.Ed25519PublicKey.from_public_bytes(pub).verify(sig, msg)


def org_id(identity_pub: bytes) -> str:
    return H(T("fxe/v1 org", identity_pub))[:16].hex()


# --- X-Wing (draft-connolly-cfrg-xwing-kem-06) ----------------------------------------------

XWING_LABEL = b"\\.//^\\"


def xwing_keys(seed: bytes):
    expanded = hashlib.shake_256(seed).digest(96)
    sk_m = MLKEM768PrivateKey.from_seed_bytes(expanded[0:64])
    sk_x = x25519.X25519PrivateKey.from_private_bytes(expanded[64:96])
    pk_m = sk_m.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    pk_x = sk_x.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return sk_m, sk_x, pk_m + pk_x


def xwing_decaps(seed: bytes, ct: bytes) -> bytes:
    sk_m, sk_x, pk = xwing_keys(seed)
    ct_m, ct_x = ct[:1088], ct[1088:]
    ss_m = sk_m.decapsulate(ct_m)
    ss_x = sk_x.exchange(x25519.X25519PublicKey.from_public_bytes(ct_x))  # raises on all-zero
    return hashlib.sha3_256(ss_m + ss_x + ct_x + pk[1184:] + XWING_LABEL).digest()


# --- §3 to §5 --------------------------------------------------------------------------------

def check_bundle(b: dict, identity_seed: bytes, kem_seed: bytes, sign_seed: bytes) -> None:
    ipub = ed_pub(identity_seed)
    assert sorted(b) == sorted(["org_id", "created_at", "kem_alg", "kem_pub", "sign_pub", "bundle_id", "sig"]), b.keys()
    assert b["org_id"] == org_id(ipub)
    assert b["kem_alg"] == "X-Wing"
    assert unb64u(b["kem_pub"]) == xwing_keys(kem_seed)[2], "kem_pub from kem_seed"
    assert unb64u(b["sign_pub"]) == ed_pub(sign_seed), "sign_pub from sign_seed"
    tbs = T("fxe/v1 bundle", b["org_id"], b["created_at"], "X-Wing", unb64u(b["kem_pub"]), unb64u(b["sign_pub"]))
    assert b["bundle_id"] == H(tbs)[:16].hex(), "bundle_id"
    ed_verify(ipub, unb64u(b["sig"]), tbs)
    assert unb64u(b["sig"]) == ed_sign(identity_seed, tbs), "Ed25519 is deterministic"


def stream_seal(payload_key: bytes, plaintext: bytes, chunk_size: int) -> bytes:
    aead = AESGCM(payload_key)
    chunks = [plaintext[i:i + chunk_size] for i in range(0, len(plaintext), chunk_size)] or [b""]
    out = b""
    for i, c in enumerate(chunks):
        nonce = i.to_bytes(11, "big") + (b"\x01" if i == len(chunks) - 1 else b"\x00")
        out += aead.encrypt(nonce, c, b"")
    return out


def check_envelope(c: dict) -> None:
    s_seed, r_seed = bytes.fromhex(c["sender_identity_seed"]), bytes.fromhex(c["recipient_identity_seed"])
    check_bundle(c["sender_bundle"], s_seed, bytes.fromhex(c["sender_kem_seed"]), bytes.fromhex(c["sender_sign_seed"]))
    check_bundle(c["recipient_bundle"], r_seed, bytes.fromhex(c["recipient_kem_seed"]), bytes.fromhex(c["recipient_sign_seed"]))
    e = c["envelope"]
    assert e["v"] == 1
    mid = e["message_id"]
    assert e["sender_org_id"] == org_id(ed_pub(s_seed)) and e["sender_bundle_id"] == c["sender_bundle"]["bundle_id"]
    assert e["recipient_org_id"] == org_id(ed_pub(r_seed)) and e["recipient_bundle_id"] == c["recipient_bundle"]["bundle_id"]
    for k in ["message_id", "created_at", "from_number", "from_name", "to_number", "content_type"]:
        assert e[k] == c[k], k

    # Decapsulate, derive the KEK and unwrap: must give back the vector's CEK.
    kem_ct = unb64u(e["kem_ct"])
    assert len(kem_ct) == 1120
    ss = xwing_decaps(bytes.fromhex(c["recipient_kem_seed"]), kem_ct)
    kek = hkdf32(ss, T("fxe/v1 kek", mid, e["sender_org_id"], e["sender_bundle_id"], e["recipient_org_id"], e["recipient_bundle_id"]))
    wrapped = unb64u(e["wrapped_cek"])
    assert len(wrapped) == 48
    cek = AESGCM(kek).decrypt(b"\x00" * 12, wrapped, T("fxe/v1 wrap", mid))
    assert cek == bytes.fromhex(c["cek"]), "unwrapped CEK"
    assert unb64u(e["cek_commit"]) == hkdf32(cek, T("fxe/v1 commit", mid)), "cek_commit"
    payload_key = hkdf32(cek, T("fxe/v1 payload", mid))

    plaintext = bytes(i % 251 for i in range(c["plaintext_len"]))
    ct = stream_seal(payload_key, plaintext, e["chunk_size"])
    assert e["ciphertext_len"] == len(ct), "ciphertext_len"
    assert e["ciphertext_sha256"] == H(ct).hex() == c["ciphertext_sha256"], "ciphertext_sha256"

    tbs = T("fxe/v1 envelope", mid, e["created_at"],
            e["sender_org_id"], e["sender_bundle_id"], e["recipient_org_id"], e["recipient_bundle_id"],
            e["from_number"], e["from_name"], e["to_number"], e["content_type"],
            e["chunk_size"], e["ciphertext_len"], bytes.fromhex(e["ciphertext_sha256"]),
            kem_ct, wrapped, unb64u(e["cek_commit"]))
    sig = unb64u(e["sig"])
    ed_verify(unb64u(c["sender_bundle"]["sign_pub"]), sig, tbs)
    assert sig == ed_sign(bytes.fromhex(c["sender_sign_seed"]), tbs)
    envelope_hash = H(tbs + sig)

    r = c["receipt"]
    assert sorted(r) == sorted(["message_id", "envelope_hash", "recipient_org_id", "recipient_bundle_id", "received_at", "sig"])
    assert r["envelope_hash"] == envelope_hash.hex(), "envelope_hash"
    assert r["received_at"] == c["receipt_received_at"]
    rtbs = T("fxe/v1 receipt", mid, envelope_hash, r["recipient_org_id"], r["recipient_bundle_id"], r["received_at"])
    ed_verify(unb64u(c["recipient_bundle"]["sign_pub"]), unb64u(r["sig"]), rtbs)


# --- §6 ---------------------------------------------------------------------------------------

def check_request(c: dict) -> None:
    seed = bytes.fromhex(c["api_seed"])
    pub = ed_pub(seed)
    key_id = "ak_" + H(T("fxe/v1 api-key", pub))[:12].hex()
    assert c["key_id"] == key_id
    assert c["secret"] == "fxe_sk_" + key_id[3:] + "_" + b64u(seed)
    h = c["headers"]
    body = bytes.fromhex(c.get("body_hex", ""))
    content = "UNSIGNED-PAYLOAD" if c.get("unsigned_payload") else H(body).hex()
    assert h["X-FXE-Content-SHA256"] == content
    assert h["X-FXE-Key"] == key_id and h["X-FXE-Timestamp"] == str(c["timestamp"])
    assert len(unb64u(h["X-FXE-Nonce"])) == 16
    tbs = T("fxe/v1 request", c["method"], c["path_and_query"], h["X-FXE-Timestamp"], h["X-FXE-Nonce"], content, key_id)
    assert h["X-FXE-Request-Signature"].startswith("v1=")
    sig = unb64u(h["X-FXE-Request-Signature"][3:])
    ed_verify(pub, sig, tbs)
    assert sig == ed_sign(seed, tbs)


def main() -> int:
    with open(os.path.join(HERE, "xwing.json")) as f:
        kats = json.load(f)
    for k in kats:
        seed = bytes.fromhex(k["seed"])[:32]
        assert xwing_keys(seed)[2].hex() == k["pk"]
        assert xwing_decaps(seed, bytes.fromhex(k["ct"])).hex() == k["ss"]
    print(f"xwing.json: {len(kats)} official X-Wing vectors ok")
    with open(os.path.join(HERE, "envelopes.json")) as f:
        envelopes = json.load(f)
    for c in envelopes:
        check_envelope(c)
        print(f"envelopes.json: {c['name']}: ok")
    with open(os.path.join(HERE, "requests.json")) as f:
        requests = json.load(f)
    for c in requests:
        check_request(c)
        print(f"requests.json: {c['name']}: ok")
    print(f"{3 + len(envelopes) + len(requests)} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
