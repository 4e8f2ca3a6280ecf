"""Proofs of delivery from the SDK: both parties' proofs of a delivered fax and
the refused one verify offline, with the document; a proof made by the SDK
verifies with ``fxe-client proof verify`` and one made by the CLI with the SDK;
a tampered proof or PDF fails naming its check (docs/proof.md §3)."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import pytest

import fxe
from conftest import CLIENT_BIN, Org, clean_env, pdf_bytes, received_until


def test_both_parties_prove_a_delivered_fax(pair: tuple[Org, Org], tmp_path: Path) -> None:
    a, b = pair
    fax = pdf_bytes(1_500_000, seed=5)
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(fax)
    with a.client() as ca, b.client() as cb:
        sent = ca.send(to=b.number, from_=a.number, file=scan, from_name="Front desk")
        kept = a.dir / "fxe-sent" / a.org_id / f"{sent.message_id}.json"
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600, "the content key is private"
        with pytest.raises(fxe.FxeError):
            ca.proof_export(sent.message_id, tmp_path / "early.fxeproof")
        received_until(cb, tmp_path / "in", 1)

        st_a = ca.proof_export(sent.message_id, tmp_path / "a.fxeproof", with_document=True)
        st_b = cb.proof_export(sent.message_id, tmp_path / "b.fxeproof", with_document=True)
        assert st_b["document_sha256"] is not None, "the recipient checks its saved PDF"
    for p in ("a.fxeproof", "b.fxeproof"):
        st = fxe.proof_verify(tmp_path / p, document=scan)
        assert st["outcome"] == "received" and st["message_id"] == sent.message_id
        assert st["recipient"]["org_id"] == b.org_id and st["recipient"]["fingerprint"] == b.fingerprint
        assert st["sender"]["fingerprint"] == a.fingerprint and st["from_name"] == "Front desk"
        assert st["document_len"] == len(fax)
    assert st_a["envelope_hash"] == st_b["envelope_hash"]

    # The CLI verifies the SDK's proof, offline, with the same statement.
    r = subprocess.run([str(CLIENT_BIN), "proof", "verify", str(tmp_path / "a.fxeproof"), "--document", str(scan),
                        "--json"], cwd=tmp_path, env=clean_env(), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["statement"] == fxe.proof_verify(tmp_path / "a.fxeproof", document=scan)

    # A changed byte of the PDF, of the receipt; a proof without the opening given a PDF.
    changed = bytearray(fax)
    changed[1_000_000] ^= 1
    (tmp_path / "changed.pdf").write_bytes(bytes(changed))
    with pytest.raises(fxe.VerificationError) as e:
        fxe.proof_verify(tmp_path / "a.fxeproof", document=tmp_path / "changed.pdf")
    assert e.value.code == "document_hash"
    v = json.loads((tmp_path / "b.fxeproof").read_text())
    v["receipt"]["received_at"] += 1
    (tmp_path / "t.fxeproof").write_text(json.dumps(v))
    with pytest.raises(fxe.VerificationError) as e:
        fxe.proof_verify(tmp_path / "t.fxeproof")
    assert e.value.code == "outcome_signature"
    with a.client() as ca:
        ca.proof_export(sent.message_id, tmp_path / "bare.fxeproof")
        with pytest.raises(fxe.FxeError):
            ca.proof_export(sent.message_id, tmp_path / "bare.fxeproof")
    with pytest.raises(fxe.VerificationError) as e:
        fxe.proof_verify(tmp_path / "bare.fxeproof", document=scan)
    assert e.value.code == "no_opening"
    (tmp_path / "junk.fxeproof").write_text("{\"format\":")
    with pytest.raises(fxe.VerificationError) as e:
        fxe.proof_verify(tmp_path / "junk.fxeproof")
    assert e.value.code == "malformed"


def test_a_refused_fax_from_the_cli_verifies_in_the_sdk(pair: tuple[Org, Org], tmp_path: Path) -> None:
    a, b = pair
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(pdf_bytes(20_000, seed=6))
    with a.client() as ca, b.client() as cb:
        sent = ca.send(to=b.number, from_=a.number, file=scan)
        cb.reject(sent.message_id, "policy")
        st = ca.proof_export(sent.message_id, tmp_path / "sdk.fxeproof", with_document=True)
        assert st["outcome"] == "refused" and st["refusal_reason"] == "policy"
    a.cli("proof", "export", sent.message_id, "--out", str(tmp_path / "cli.fxeproof"), "--with-document")
    st = fxe.proof_verify(tmp_path / "cli.fxeproof", document=scan)
    assert st["outcome"] == "refused" and st["recipient"]["org_id"] == b.org_id
