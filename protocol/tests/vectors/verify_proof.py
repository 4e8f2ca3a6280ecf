#!/usr/bin/env python3
"""An independent verifier of `.fxeproof` files (docs/proof.md).

Written from docs/proof.md (and the PROTOCOL.md sections it points to) alone,
with Python's `cryptography` package (>= 46) instead of the Rust crates: if
this script and `fxe-protocol` give the same verdict, with the same check
code, on every proof, two implementations read the contract the same way.

    python3 -m pip install 'cryptography>=46'
    python3 protocol/tests/vectors/verify_proof.py PROOF [--document PDF]
        prints "ok" and the statement as JSON, or the code of the failed check (exit 1)
    python3 protocol/tests/vectors/verify_proof.py --cases DIR
        reads DIR/cases.json ([{"name", "proof", "document"|null}], file names in DIR)
        and prints one JSON object {name: "ok" | code}

`cargo test -p fxe-protocol --test proof_vectors` generates a set of valid and
tampered proofs with fxe-protocol and runs this script on them.
"""

import base64
import hashlib
import json
import os
import re
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519
from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

# The transcripts (PROTOCOL.md §2), H and HKDF are the ones of the vectors' independent checker.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verify_vectors import H, T, hkdf32  # noqa: E402

MAX_PROOF_LEN = 1_048_576
MAX_CIPHERTEXT_LEN = 104_857_600
FORMAT = "fxe-proof/v1"


class Fail(Exception):
    """A failed check; `code` is its name in docs/proof.md §3."""

    def __init__(self, code: str, why: str = ""):
        super().__init__(f"{code}: {why}")
        self.code = code


def malformed(why: str) -> Fail:
    return Fail("malformed", why)


# --- PROTOCOL.md §1, §2: encodings and transcripts ----------------------------------------

def unb64u(s, n: int, what: str) -> bytes:
    if not isinstance(s, str) or not re.fullmatch(r"[A-Za-z0-9_-]*", s):
        raise malformed(f"{what}: not unpadded base64url")
    try:
        out = base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    except ValueError as e:
        raise malformed(f"{what}: {e}")
    if base64.urlsafe_b64encode(out).rstrip(b"=").decode() != s:
        raise malformed(f"{what}: non-canonical base64url")
    if len(out) != n:
        raise malformed(f"{what}: must be {n} bytes")
    return out


def unhex32(s, what: str) -> bytes:
    if not isinstance(s, str) or not re.fullmatch(r"[0-9a-f]{64}", s):
        raise malformed(f"{what}: must be 64 lowercase hex characters")
    return bytes.fromhex(s)


# --- Strict Ed25519 (PROTOCOL.md §1) -------------------------------------------------------

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
# The encodings of the eight points of small order (and their sign-bit variants).
SMALL_ORDER = {bytes.fromhex(h) for h in [
    "0100000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000080",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
]}


def ed_point_ok(b: bytes) -> bool:
    y = int.from_bytes(b, "little") & ((1 << 255) - 1)
    return y < P and b not in SMALL_ORDER


def ed_public_ok(pub: bytes) -> bool:
    if not ed_point_ok(pub):
        return False
    try:
        ed25519.Ed25519PublicKey.from_public_bytes(pub)
    except ValueError:
        return False
    return True


def ed_verify(pub: bytes, sig: bytes, msg: bytes) -> bool:
    if not ed_public_ok(pub) or not ed_point_ok(sig[:32]) or int.from_bytes(sig[32:], "little") >= L:
        return False
    try:
        ed25519.Ed25519PublicKey.from_public_bytes(pub).verify(sig, msg)
    except (InvalidSignature, ValueError):
        return False
    return True


def xwing_public_ok(pk: bytes) -> bool:
    try:
        MLKEM768PublicKey.from_public_bytes(pk[:1184])
        # A low-order X25519 key gives the all-zero shared secret, which cryptography refuses.
        x25519.X25519PrivateKey.from_private_bytes(b"\x5a" * 32).exchange(x25519.X25519PublicKey.from_public_bytes(pk[1184:]))
    except ValueError:
        return False
    return True


# --- §2: the file's shape ------------------------------------------------------------------

def obj(v, fields: list, what: str, optional=()) -> dict:
    if not isinstance(v, dict):
        raise malformed(f"{what}: must be an object")
    for k in v:
        if k not in fields:
            raise malformed(f"{what}: unknown field {k}")
    for k in fields:
        if k not in v and k not in optional:
            raise malformed(f"{what}: missing field {k}")
    return v


def u64(v, what: str) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < 2**64:
        raise malformed(f"{what}: must be an unsigned integer")
    return v


def string(v, what: str) -> str:
    if not isinstance(v, str):
        raise malformed(f"{what}: must be a string")
    return v


def id32(v, what: str) -> str:
    if not isinstance(v, str) or not re.fullmatch(r"[0-9a-f]{32}", v):
        raise malformed(f"{what}: must be 32 lowercase hex characters")
    return v


UUID4 = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"


def uuid4(v, what: str) -> str:
    if not isinstance(v, str) or not re.fullmatch(UUID4, v):
        raise malformed(f"{what}: must be a lowercase UUIDv4")
    return v


def e164(v, what: str) -> str:
    if not isinstance(v, str) or not re.fullmatch(r"\+[1-9][0-9]{1,14}", v):
        raise malformed(f"{what}: must be E.164")
    return v


def plaintext_len(ct_len: int, chunk: int):
    """The plaintext length for a canonical ciphertext length, else None."""
    if ct_len == 16:
        return 0
    full = chunk + 16
    if ct_len < 17:
        return None
    n_full = (ct_len - 17) // full
    last = ct_len - n_full * full
    if not 17 <= last <= full:
        return None
    return ct_len - (n_full + 1) * 16


ENVELOPE_FIELDS = ["v", "message_id", "created_at", "sender_org_id", "sender_bundle_id", "recipient_org_id",
                   "recipient_bundle_id", "from_number", "from_name", "to_number", "content_type", "chunk_size",
                   "ciphertext_len", "ciphertext_sha256", "kem_ct", "wrapped_cek", "cek_commit", "sig"]


def parse_envelope(v) -> dict:
    e = dict(obj(v, ENVELOPE_FIELDS, "envelope"))
    for k in ["v", "created_at", "chunk_size", "ciphertext_len"]:
        u64(e[k], f"envelope.{k}")
    for k in ["message_id", "sender_org_id", "sender_bundle_id", "recipient_org_id", "recipient_bundle_id",
              "from_number", "from_name", "to_number", "content_type"]:
        string(e[k], f"envelope.{k}")
    e["ciphertext_sha256"] = unhex32(e["ciphertext_sha256"], "envelope.ciphertext_sha256")
    e["kem_ct"] = unb64u(e["kem_ct"], 1120, "envelope.kem_ct")
    e["wrapped_cek"] = unb64u(e["wrapped_cek"], 48, "envelope.wrapped_cek")
    e["cek_commit"] = unb64u(e["cek_commit"], 32, "envelope.cek_commit")
    e["sig"] = unb64u(e["sig"], 64, "envelope.sig")
    return e


def check_envelope_shape(e: dict) -> None:
    if e["v"] != 1:
        raise malformed("envelope.v must be 1")
    uuid4(e["message_id"], "envelope.message_id")
    for k in ["sender_org_id", "sender_bundle_id", "recipient_org_id", "recipient_bundle_id"]:
        id32(e[k], f"envelope.{k}")
    e164(e["from_number"], "envelope.from_number")
    e164(e["to_number"], "envelope.to_number")
    name = e["from_name"]
    if len(name.encode("utf-8")) > 256 or any(_is_control(c) for c in name):
        raise malformed("envelope.from_name")
    ct = e["content_type"]
    if not ct or len(ct) > 255 or not all(0x21 <= ord(c) < 0x7f or c == " " for c in ct):
        raise malformed("envelope.content_type")
    if e["ciphertext_len"] > MAX_CIPHERTEXT_LEN:
        raise malformed("envelope.ciphertext_len over the cap")
    cs = e["chunk_size"]
    if cs & (cs - 1) or not 16384 <= cs <= 16777216:
        raise malformed("envelope.chunk_size")
    if plaintext_len(e["ciphertext_len"], cs) is None:
        raise malformed("envelope.ciphertext_len is not canonical")


def _is_control(c: str) -> bool:
    # Unicode general category Cc (what Rust's char::is_control means).
    o = ord(c)
    return o < 0x20 or 0x7f <= o < 0xa0


def envelope_tbs(e: dict) -> bytes:
    return T("fxe/v1 envelope", e["message_id"], e["created_at"], e["sender_org_id"], e["sender_bundle_id"],
             e["recipient_org_id"], e["recipient_bundle_id"], e["from_number"], e["from_name"], e["to_number"],
             e["content_type"], e["chunk_size"], e["ciphertext_len"], e["ciphertext_sha256"], e["kem_ct"],
             e["wrapped_cek"], e["cek_commit"])


def parse_bundle(v, what: str) -> dict:
    b = dict(obj(v, ["org_id", "created_at", "kem_alg", "kem_pub", "sign_pub", "bundle_id", "sig"], what))
    u64(b["created_at"], f"{what}.created_at")
    for k in ["org_id", "kem_alg", "bundle_id"]:
        string(b[k], f"{what}.{k}")
    b["kem_pub"] = unb64u(b["kem_pub"], 1216, f"{what}.kem_pub")
    b["sign_pub"] = unb64u(b["sign_pub"], 32, f"{what}.sign_pub")
    b["sig"] = unb64u(b["sig"], 64, f"{what}.sig")
    return b


def check_bundle_shape(b: dict, what: str) -> None:
    id32(b["org_id"], f"{what}.org_id")
    id32(b["bundle_id"], f"{what}.bundle_id")
    if b["kem_alg"] != "X-Wing":
        raise malformed(f"{what}.kem_alg")
    if not xwing_public_ok(b["kem_pub"]):
        raise malformed(f"{what}.kem_pub")
    if not ed_public_ok(b["sign_pub"]):
        raise malformed(f"{what}.sign_pub")


def parse_party(v, what: str) -> dict:
    p = obj(v, ["identity_pub", "bundle"], what)
    return {"identity_pub": unb64u(p["identity_pub"], 32, f"{what}.identity_pub"),
            "bundle": parse_bundle(p["bundle"], f"{what}.bundle")}


REASONS = ["cannot_open", "not_a_pdf", "policy", "other"]


def parse_answer(v, kind: str) -> dict:
    at = "received_at" if kind == "receipt" else "refused_at"
    fields = ["message_id", "envelope_hash", "recipient_org_id", "recipient_bundle_id", at, "sig"]
    if kind == "refusal":
        fields.insert(5, "reason")
    a = dict(obj(v, fields, kind))
    for k in ["message_id", "recipient_org_id", "recipient_bundle_id"]:
        string(a[k], f"{kind}.{k}")
    u64(a[at], f"{kind}.{at}")
    a["envelope_hash"] = unhex32(a["envelope_hash"], f"{kind}.envelope_hash")
    a["sig"] = unb64u(a["sig"], 64, f"{kind}.sig")
    if kind == "refusal" and a["reason"] not in REASONS:
        raise malformed("refusal.reason")
    a["kind"], a["at"] = kind, a[at]
    return a


def check_answer_shape(a: dict) -> None:
    uuid4(a["message_id"], f"{a['kind']}.message_id")
    id32(a["recipient_org_id"], f"{a['kind']}.recipient_org_id")
    id32(a["recipient_bundle_id"], f"{a['kind']}.recipient_bundle_id")


def _refuse(s: str):
    raise ValueError(f"{s}: only integers are numbers here")


def _no_duplicates(pairs) -> dict:
    out = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate field {k}")
        out[k] = v
    return out


def parse(raw: bytes) -> dict:
    """§3.1 in order: parse, format, transparency, outcome, then shapes."""
    if len(raw) > MAX_PROOF_LEN:
        raise malformed("too large")
    try:
        v = json.loads(raw.decode("utf-8"), parse_float=_refuse, parse_constant=_refuse, object_pairs_hook=_no_duplicates)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise malformed(f"not JSON: {e}")
    fields = ["format", "envelope", "sender", "recipient", "receipt", "refusal", "opening", "transparency"]
    v = obj(v, fields, "proof", optional=("receipt", "refusal", "opening", "transparency"))
    p = {"format": string(v["format"], "format"), "envelope": parse_envelope(v["envelope"]),
         "sender": parse_party(v["sender"], "sender"), "recipient": parse_party(v["recipient"], "recipient")}
    p["receipt"] = None if v.get("receipt") is None else parse_answer(v["receipt"], "receipt")
    p["refusal"] = None if v.get("refusal") is None else parse_answer(v["refusal"], "refusal")
    op = v.get("opening")
    p["cek"] = None if op is None else unb64u(obj(op, ["cek"], "opening")["cek"], 32, "opening.cek")
    p["transparency"] = v.get("transparency")

    if p["format"] != FORMAT:
        raise Fail("unsupported_format")
    if p["transparency"] is not None:
        raise Fail("transparency_unsupported")
    if (p["receipt"] is None) == (p["refusal"] is None):
        raise Fail("outcome")
    check_envelope_shape(p["envelope"])
    check_bundle_shape(p["sender"]["bundle"], "sender.bundle")
    check_bundle_shape(p["recipient"]["bundle"], "recipient.bundle")
    check_answer_shape(p["receipt"] or p["refusal"])
    return p


# --- §3.2 to §3.6 ----------------------------------------------------------------------------

def org_id(identity_pub: bytes) -> str:
    return H(T("fxe/v1 org", identity_pub))[:16].hex()


def fingerprint(identity_pub: bytes) -> str:
    h = H(T("fxe/v1 org", identity_pub)).hex()
    return " ".join(h[i:i + 8] for i in range(0, 64, 8))


def check_party(party: dict, want_org: str, want_bundle: str, side: str) -> None:
    if org_id(party["identity_pub"]) != want_org:
        raise Fail(f"{side}_org_id")
    b = party["bundle"]
    if b["org_id"] != want_org:
        raise Fail(f"{side}_bundle_org")
    tbs = T("fxe/v1 bundle", b["org_id"], b["created_at"], "X-Wing", b["kem_pub"], b["sign_pub"])
    if H(tbs)[:16].hex() != b["bundle_id"]:
        raise Fail(f"{side}_bundle_id")
    if b["bundle_id"] != want_bundle:
        raise Fail(f"{side}_bundle_not_named")
    if not ed_verify(party["identity_pub"], b["sig"], tbs):
        raise Fail(f"{side}_bundle_signature")


def reseal_digest(cek: bytes, message_id: str, chunk_size: int, document: bytes):
    payload_key = hkdf32(cek, T("fxe/v1 payload", message_id))
    aead = AESGCM(payload_key)
    h, n = hashlib.sha256(), 0
    chunks = [document[i:i + chunk_size] for i in range(0, len(document), chunk_size)] or [b""]
    for i, c in enumerate(chunks):
        nonce = i.to_bytes(11, "big") + (b"\x01" if i == len(chunks) - 1 else b"\x00")
        sealed = aead.encrypt(nonce, c, b"")
        h.update(sealed)
        n += len(sealed)
    return n, h.digest()


def verify(raw: bytes, document) -> dict:
    p = parse(raw)
    e, s, r = p["envelope"], p["sender"], p["recipient"]

    check_party(s, e["sender_org_id"], e["sender_bundle_id"], "sender")
    tbs = envelope_tbs(e)
    if not ed_verify(s["bundle"]["sign_pub"], e["sig"], tbs):
        raise Fail("envelope_signature")

    check_party(r, e["recipient_org_id"], e["recipient_bundle_id"], "recipient")

    a = p["receipt"] or p["refusal"]
    envelope_hash = H(tbs + e["sig"])
    if a["message_id"] != e["message_id"]:
        raise Fail("claim_message_id")
    if a["envelope_hash"] != envelope_hash:
        raise Fail("claim_envelope_hash")
    if a["recipient_org_id"] != e["recipient_org_id"] or a["recipient_bundle_id"] != e["recipient_bundle_id"]:
        raise Fail("claim_recipient")
    label = "fxe/v1 receipt" if a["kind"] == "receipt" else "fxe/v1 refusal"
    extra = () if a["kind"] == "receipt" else (a["reason"],)
    a_tbs = T(label, a["message_id"], a["envelope_hash"], a["recipient_org_id"], a["recipient_bundle_id"], a["at"],
              *extra)
    if not ed_verify(r["bundle"]["sign_pub"], a["sig"], a_tbs):
        raise Fail("outcome_signature")

    cek = p["cek"]
    if cek is not None and hkdf32(cek, T("fxe/v1 commit", e["message_id"])) != e["cek_commit"]:
        raise Fail("cek_commit")

    doc_sha = None
    if document is not None:
        if cek is None:
            raise Fail("no_opening")
        n, h = reseal_digest(cek, e["message_id"], e["chunk_size"], document)
        if n != e["ciphertext_len"] or n > MAX_CIPHERTEXT_LEN:
            raise Fail("document_length")
        if h != e["ciphertext_sha256"]:
            raise Fail("document_hash")
        doc_sha = hashlib.sha256(document).hexdigest()

    def org(party):
        return {"org_id": org_id(party["identity_pub"]), "fingerprint": fingerprint(party["identity_pub"]),
                "bundle_id": party["bundle"]["bundle_id"]}

    return {
        "outcome": "received" if a["kind"] == "receipt" else "refused",
        "refusal_reason": a.get("reason"),
        "message_id": e["message_id"],
        "recipient": org(r),
        "sender": org(s),
        "from_number": e["from_number"],
        "from_name": e["from_name"],
        "to_number": e["to_number"],
        "sent_at": e["created_at"],
        "signed_at": a["at"],
        "content_type": e["content_type"],
        "document_len": plaintext_len(e["ciphertext_len"], e["chunk_size"]),
        "ciphertext_sha256": e["ciphertext_sha256"].hex(),
        "envelope_hash": envelope_hash.hex(),
        "opening_verified": cek is not None,
        "document_sha256": doc_sha,
    }


def verdict(raw: bytes, document):
    try:
        return "ok", verify(raw, document)
    except Fail as f:
        return f.code, None


def main(argv) -> int:
    if len(argv) == 3 and argv[1] == "--cases":
        folder = argv[2]
        with open(os.path.join(folder, "cases.json"), "rb") as f:
            cases = json.load(f)
        out = {}
        for c in cases:
            with open(os.path.join(folder, c["proof"]), "rb") as f:
                raw = f.read()
            doc = None
            if c.get("document") is not None:
                with open(os.path.join(folder, c["document"]), "rb") as f:
                    doc = f.read()
            code, statement = verdict(raw, doc)
            out[c["name"]] = {"code": code, "statement": statement}
        print(json.dumps(out, indent=1, sort_keys=True))
        return 0
    if len(argv) in (2, 4) and (len(argv) == 2 or argv[2] == "--document"):
        with open(argv[1], "rb") as f:
            raw = f.read()
        doc = None
        if len(argv) == 4:
            with open(argv[3], "rb") as f:
                doc = f.read()
        code, statement = verdict(raw, doc)
        print(code if statement is None else json.dumps({"verified": True, "statement": statement}, indent=1))
        return 0 if statement is not None else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
