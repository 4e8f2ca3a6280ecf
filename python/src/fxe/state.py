"""Local state shared with ``fxe-client``: the pin store ``fxe-pins.json``
and the record of received faxes
``fxe-received/<org_id>/<sender_org_id>.<message_id>``, in the folder holding
keys.zip (or ``state_dir``). The formats are the CLI's, so both share pins."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from . import _native
from .files import write_atomic

PINS_FILE = "fxe-pins.json"
RECEIVED_DIR = "fxe-received"


class State:
    def __init__(self, folder: Path) -> None:
        self.dir = folder

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

    def _marker(self, org_id: str, sender_org_id: str, message_id: str) -> Path:
        return self.dir / RECEIVED_DIR / org_id / f"{sender_org_id}.{message_id}"

    def was_received(self, org_id: str, sender_org_id: str, message_id: str) -> bool:
        return self._marker(org_id, sender_org_id, message_id).exists()

    def mark_received(self, org_id: str, sender_org_id: str, message_id: str, saved_as: Path) -> None:
        path = self._marker(org_id, sender_org_id, message_id)
        write_atomic(path, os.fsencode(os.path.abspath(saved_as)))
