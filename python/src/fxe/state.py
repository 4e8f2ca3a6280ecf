"""Local state shared with ``fxe-client``: the pin store ``fxe-pins.json``
and the record of received faxes
``fxe-received/<org_id>/<sender_org_id>.<message_id>``, in the folder holding
keys.zip (or ``state_dir``), and the content key of each fax sent,
``fxe-sent/<org_id>/<message_id>.json`` (0600 in a 0700 folder: it lets the
sender export a proof with the document, docs/proof.md). The formats are the
CLI's, so both share them."""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path
from typing import Optional

from . import _native
from .errors import VerificationError
from .files import write_atomic

PINS_FILE = "fxe-pins.json"
LOG_DIR = "fxe-log"
LOG_POLICY = "policy.json"  # the trust policy, pinned once (the CLI's file)
LOG_SEEN = "sdk-checkpoint"  # the last checkpoint the SDK accepted (the CLI keeps its own)
LOG_CLI_SEEN = "checkpoint"
LOG_REPLICA = "sdk-entries"  # the SDK's replica: every entry, as one entry bundle
LOG_REPLICA_NOTE = "sdk-replica-checkpoint"  # the checkpoint those entries lead to
RECEIVED_DIR = "fxe-received"
SENT_DIR = "fxe-sent"


class State:
    def __init__(self, folder: Path) -> None:
        self.dir = folder
        # The replica of the relay's log, held while the client lives (restoring it checks
        # every entry again), and when it was last synced (time.monotonic()).
        self._replica: Optional[_native.LogReplica] = None
        self.log_synced = float("-inf")

    @property
    def pins_path(self) -> Path:
        return self.dir / PINS_FILE

    def _pins_text(self) -> Optional[str]:
        try:
            return self.pins_path.read_text("utf-8")
        except FileNotFoundError:
            return None

    def check_pins(self, number: Optional[str], identity_pub: bytes, bundle_json: str) -> bool:
        """Checks a verified answer against the pins and records it; True on first contact.
        A changed key raises :class:`fxe.KeyChangedError`."""
        before = self._pins_text()
        after, first = _native.pins_check(before, number, identity_pub, bundle_json)
        if after != before:
            write_atomic(self.pins_path, after.encode("utf-8"))
        return first

    def trust(self, number: Optional[str], identity_pub: bytes, bundle_json: str, fingerprint: str) -> None:
        text = _native.pins_trust(self._pins_text(), number, identity_pub, bundle_json, fingerprint)
        write_atomic(self.pins_path, text.encode("utf-8"))

    # ---- the relay's transparency log (docs/transparency.md) ----------------

    def log_policy(self) -> Optional[str]:
        """The pinned trust policy (JSON), if any: ``fxe-log/policy.json``, shared with fxe-client."""
        try:
            return (self.dir / LOG_DIR / LOG_POLICY).read_text("utf-8")
        except FileNotFoundError:
            return None

    def pin_log_policy(self, policy_json: str) -> str:
        """Pins ``policy_json`` (never replacing another) and returns its fingerprint."""
        fingerprint = _native.log_policy_fingerprint(policy_json)
        existing = self.log_policy()
        if existing is not None:
            pinned = _native.log_policy_fingerprint(existing)
            if pinned != fingerprint:
                err = VerificationError(
                    f"another transparency log policy is pinned already (fingerprint {pinned}); "
                    "a pinned policy is never replaced from a relay's answer"
                )
                err.code = "log_policy_pinned"
                raise err
            return fingerprint
        (self.dir / LOG_DIR).mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomic(self.dir / LOG_DIR / LOG_POLICY, policy_json.encode("utf-8"))
        return fingerprint

    def log_seen(self) -> tuple[Optional[str], Optional[str]]:
        """The last checkpoints accepted: by the SDK, and by fxe-client's replica."""

        def read(name: str) -> Optional[str]:
            try:
                return (self.dir / LOG_DIR / name).read_text("utf-8")
            except FileNotFoundError:
                return None

        return read(LOG_SEEN), read(LOG_CLI_SEEN)

    def keep_log_seen(self, note: str) -> None:
        write_atomic(self.dir / LOG_DIR / LOG_SEEN, note.encode("utf-8"))

    def keep_log_evidence(self, kind: str, seen: str, offered: str) -> Path:
        """Keeps a rollback's or fork's two signed checkpoints, as fxe-client does:
        ``fxe-log/evidence/<unix time>-<rollback|fork>.txt``."""
        path = self.dir / LOG_DIR / "evidence" / f"{int(time.time())}-{kind}.txt"
        write_atomic(path, f"seen before:\n{seen}\noffered now:\n{offered}".encode("utf-8"))
        return path

    def log_replica(self, policy_json: str) -> _native.LogReplica:
        """The SDK's replica of the log: ``fxe-log/sdk-entries`` and
        ``fxe-log/sdk-replica-checkpoint`` (fxe-client keeps its own), restored once per
        client; one that no longer checks is started again from the log's first entry."""
        if self._replica is None:
            folder = self.dir / LOG_DIR
            try:
                entries: Optional[bytes] = (folder / LOG_REPLICA).read_bytes()
                note: Optional[str] = (folder / LOG_REPLICA_NOTE).read_text("utf-8")
            except FileNotFoundError:
                entries, note = None, None
            self._replica = _native.LogReplica(policy_json, entries, note)
        return self._replica

    def keep_log_replica(self, replica: _native.LogReplica) -> None:
        """Keeps the replica: its entries first, then the checkpoint naming them (entries
        past a checkpoint, left by a crash in between, are dropped when it is restored)."""
        note = replica.note
        if note is None:
            return
        write_atomic(self.dir / LOG_DIR / LOG_REPLICA, replica.entries_bundle())
        write_atomic(self.dir / LOG_DIR / LOG_REPLICA_NOTE, note.encode("utf-8"))

    def _marker(self, org_id: str, sender_org_id: str, message_id: str) -> Path:
        return self.dir / RECEIVED_DIR / org_id / f"{sender_org_id}.{message_id}"

    def was_received(self, org_id: str, sender_org_id: str, message_id: str) -> bool:
        return self._marker(org_id, sender_org_id, message_id).exists()

    def mark_received(self, org_id: str, sender_org_id: str, message_id: str, saved_as: Path) -> None:
        path = self._marker(org_id, sender_org_id, message_id)
        write_atomic(path, os.fsencode(os.path.abspath(saved_as)))

    def received_file(self, org_id: str, sender_org_id: str, message_id: str) -> Optional[Path]:
        """The file a received fax was saved as, when recorded and still there."""
        try:
            saved = Path(os.fsdecode(self._marker(org_id, sender_org_id, message_id).read_bytes()))
        except FileNotFoundError:
            return None
        return saved if saved.is_file() else None

    def _sent(self, org_id: str, message_id: str) -> Path:
        return self.dir / SENT_DIR / org_id / f"{message_id}.json"

    def keep_sent_cek(self, org_id: str, message_id: str, envelope_hash: str, cek: bytes) -> None:
        """Keeps a sent fax's content key, readable by this user only (before the relay hears of the fax)."""
        path = self._sent(org_id, message_id)
        for d in (self.dir / SENT_DIR, path.parent):
            d.mkdir(mode=0o700, parents=True, exist_ok=True)
        b64 = base64.urlsafe_b64encode(cek).rstrip(b"=").decode("ascii")
        record = {"message_id": message_id, "envelope_hash": envelope_hash, "cek": b64}
        write_atomic(path, json.dumps(record, separators=(",", ":")).encode("utf-8"))
        os.chmod(path, 0o600)

    def sent_cek(self, org_id: str, message_id: str, envelope_hash: str) -> Optional[bytes]:
        """The content key kept for a sent fax, if this state folder has it for this very envelope."""
        try:
            record = json.loads(self._sent(org_id, message_id).read_text("utf-8"))
        except FileNotFoundError:
            return None
        if record.get("message_id") != message_id or record.get("envelope_hash") != envelope_hash:
            return None
        s = str(record.get("cek", ""))
        return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
