"""fxe._native: fxe-protocol compiled for Python (checked with mypy.stubtest)."""

import os
from typing import Any, Optional, Union

from typing_extensions import final

__all__ = [
    "FxeError",
    "InvalidInputError",
    "VerificationError",
    "KeyChangedError",
    "KeysError",
    "Keys",
    "Signer",
    "Sealer",
    "Opener",
    "parse_envelope",
    "verify_directory_entry",
    "verify_org",
    "log_check",
    "log_checkpoint_check",
    "LogReplica",
    "log_policy_fingerprint",
    "pins_check",
    "pins_trust",
    "verify_receipt",
    "verify_refusal",
    "verify_webhook",
    "normalize_number",
    "new_message_id",
    "validate_message_id",
    "fingerprint",
    "proof_make",
    "proof_verify",
    "MAX_CIPHERTEXT_LEN",
    "CHUNK_SIZE",
    "CONTENT_TYPE_PDF",
    "ECHO_NUMBER",
    "API_PREFIX",
    "EVENT_TYPES",
    "SCOPES",
    "VERSION",
]

MAX_CIPHERTEXT_LEN: int
CHUNK_SIZE: int
CONTENT_TYPE_PDF: str
ECHO_NUMBER: str
API_PREFIX: str
EVENT_TYPES: list[str]
SCOPES: list[str]
VERSION: str

class FxeError(Exception):
    code: str

class InvalidInputError(FxeError): ...
class VerificationError(FxeError):
    evidence: Optional[tuple[str, str]]
    evidence_path: Optional[str]

class KeyChangedError(FxeError):
    fingerprint: str

class KeysError(FxeError): ...

@final
class Keys:
    @staticmethod
    def is_protected(data: bytes) -> bool: ...
    @staticmethod
    def load(data: bytes, passphrase: Optional[str] = None) -> Keys: ...
    def to_zip(self, passphrase: Optional[str] = None) -> bytes: ...
    @property
    def org_id(self) -> str: ...
    @property
    def org_name(self) -> str: ...
    @property
    def relay_url(self) -> str: ...
    @property
    def fingerprint(self) -> str: ...
    @property
    def identity_pub(self) -> bytes: ...
    @property
    def is_machine(self) -> bool: ...
    @property
    def bundle_ids(self) -> list[str]: ...
    def bundle_json(self, bundle_id: str) -> Optional[str]: ...
    def active_bundle_json(self) -> str: ...
    @property
    def api_keys(self) -> list[tuple[str, list[str]]]: ...
    def signer(self, scope: str) -> Signer: ...
    def machine(self) -> Keys: ...
    def with_new_bundle(self, created_at: int) -> tuple[Keys, str]: ...
    def with_new_api_key(self, scopes: list[str]) -> tuple[Keys, str, dict[str, Any]]: ...
    def without_api_key(self, key_id: str) -> Keys: ...
    def make_receipt(self, envelope_json: str, received_at: int) -> str: ...
    def make_refusal(self, envelope_json: str, refused_at: int, reason: str) -> str: ...
    def unwrap_cek(self, envelope_json: str) -> bytes: ...

@final
class Signer:
    def __new__(cls, secret: str) -> Signer: ...
    @property
    def key_id(self) -> str: ...
    def sign(self, method: str, path_and_query: str, body: Optional[bytes], timestamp: int) -> dict[str, str]: ...

@final
class Sealer:
    def __new__(
        cls,
        keys: Keys,
        recipient_identity_pub: bytes,
        recipient_bundle_json: str,
        *,
        message_id: str,
        created_at: int,
        from_number: str,
        from_name: str,
        to_number: str,
        content_type: str = ...,
    ) -> Sealer: ...
    @property
    def content_key(self) -> bytes: ...
    @property
    def plaintext_len(self) -> int: ...
    def feed(self, data: bytes) -> bytes: ...
    def finish(self) -> tuple[bytes, str]: ...

@final
class Opener:
    def __new__(
        cls,
        keys: Keys,
        numbers: list[str],
        envelope_json: str,
        sender_identity_pub: bytes,
        sender_bundle_json: str,
    ) -> Opener: ...
    def feed(self, data: bytes) -> bytes: ...
    def finish(self) -> None: ...

def parse_envelope(envelope_json: str) -> dict[str, Any]: ...
def verify_directory_entry(asked: str, entry_json: str) -> dict[str, Any]: ...
def verify_org(org_id: str, org_json: str, bundles_json: str) -> dict[str, Any]: ...
def log_policy_fingerprint(policy_json: str) -> str: ...
def log_check(policy_json: str, entry_json: str, seen: Optional[str], now: int) -> Optional[str]: ...
def log_checkpoint_check(policy_json: str, note: str, seen: Optional[str], now: int) -> Optional[str]: ...

@final
class LogReplica:
    def __new__(cls, policy_json: str, entries: Optional[bytes] = None, note: Optional[str] = None) -> LogReplica: ...
    @property
    def size(self) -> int: ...
    @property
    def note(self) -> Optional[str]: ...
    def tiles_needed(self, note: str, now: int) -> list[str]: ...
    def advance(self, tiles: list[bytes]) -> int: ...
    def entries_bundle(self) -> bytes: ...
    def check_directory(self, entry_json: str) -> None: ...
def pins_check(
    pins_json: Optional[str], number: Optional[str], identity_pub: bytes, bundle_json: str
) -> tuple[str, bool]: ...
def pins_trust(
    pins_json: Optional[str], number: Optional[str], identity_pub: bytes, bundle_json: str, fingerprint: str
) -> str: ...
def verify_receipt(receipt_json: str, envelope_json: str, recipient_bundle_json: str) -> int: ...
def verify_refusal(refusal_json: str, envelope_json: str, recipient_bundle_json: str) -> tuple[int, str]: ...
def verify_webhook(
    secret: str,
    timestamp: str,
    signature: str,
    body: bytes,
    now: int,
    tolerance: int,
    webhook_id: Optional[str] = None,
) -> None: ...
def normalize_number(number: str) -> str: ...
def new_message_id() -> str: ...
def validate_message_id(message_id: str) -> None: ...
def fingerprint(identity_pub: bytes) -> str: ...
def proof_make(
    envelope_json: str,
    sender_identity_pub: bytes,
    sender_bundle_json: str,
    recipient_identity_pub: bytes,
    recipient_bundle_json: str,
    *,
    receipt_json: Optional[str] = None,
    refusal_json: Optional[str] = None,
    cek: Optional[bytes] = None,
) -> str: ...
def proof_verify(proof_bytes: bytes, document_path: Optional[Union[str, os.PathLike[str]]] = None) -> str: ...
