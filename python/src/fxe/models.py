"""What the SDK returns: small typed records of the relay's JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional

__all__ = [
    "Org",
    "Message",
    "Delivery",
    "SentFax",
    "ReceivedFax",
    "WebhookEndpoint",
    "ApiKeyInfo",
]


@dataclass(frozen=True)
class Org:
    """An org on fxe, verified (identity → bundle → org id) and pinned."""

    org_id: str
    org_name: str
    fingerprint: str
    bundle_id: str
    number: Optional[str] = None
    #: True the first time this client saw the org: check the fingerprint out of band.
    first_contact: bool = False


@dataclass(frozen=True)
class Message:
    """A message as the relay lists it (metadata only, never content)."""

    message_id: str
    status: str
    from_number: str
    from_name: str
    to_number: str
    sender_org_id: str
    recipient_org_id: str
    ciphertext_len: int
    envelope_hash: str
    created_at: str
    updated_at: str
    expires_at: Optional[str]
    receipt: Optional[Mapping[str, Any]] = None
    refusal: Optional[Mapping[str, Any]] = None
    envelope: Optional[Mapping[str, Any]] = field(default=None, repr=False)

    @classmethod
    def from_json(cls, v: Mapping[str, Any]) -> Message:
        return cls(
            message_id=str(v["message_id"]),
            status=str(v["status"]),
            from_number=str(v["from_number"]),
            from_name=str(v.get("from_name") or ""),
            to_number=str(v["to_number"]),
            sender_org_id=str(v["sender_org_id"]),
            recipient_org_id=str(v["recipient_org_id"]),
            ciphertext_len=int(v["ciphertext_len"]),
            envelope_hash=str(v["envelope_hash"]),
            created_at=str(v["created_at"]),
            updated_at=str(v.get("updated_at") or v["created_at"]),
            expires_at=v.get("expires_at"),
            receipt=v.get("receipt"),
            refusal=v.get("refusal"),
            envelope=v.get("envelope"),
        )


@dataclass(frozen=True)
class Delivery:
    """A message's outcome with its signed receipt or refusal verified
    against the bundle the fax was sealed to."""

    message: Message
    status: str
    #: True when a receipt or refusal was there and its signature verified.
    verified: bool
    received_at: Optional[int] = None
    refused_at: Optional[int] = None
    reason: Optional[str] = None

    @property
    def delivered(self) -> bool:
        return self.status == "delivered" and self.verified


@dataclass(frozen=True)
class SentFax:
    message_id: str
    status: str
    to_number: str
    from_number: str
    recipient: Org
    ciphertext_len: int
    #: With ``wait=True``: the verified outcome.
    delivery: Optional[Delivery] = None


@dataclass(frozen=True)
class ReceivedFax:
    """One message handled by ``receive``/``open``.

    ``event`` is ``received`` (written now, receipt sent), ``already_received``
    (written by an earlier run, receipt sent again), ``refused`` (a signed
    refusal was sent: it did not verify or is not a PDF) or ``failed`` (left
    queued: a local or network failure; ``error`` says which)."""

    event: str
    message_id: str
    from_number: str
    from_name: str
    to_number: str
    sender_org_id: str
    path: Optional[Path] = None
    reason: Optional[str] = None
    error: Optional[str] = None


@dataclass(frozen=True)
class WebhookEndpoint:
    id: str
    url: str
    events: tuple[str, ...]
    description: str
    enabled: bool
    created_at: str
    #: Only in the answers of create and rotate_secret: keep it, it is shown once.
    secret: Optional[str] = None

    @classmethod
    def from_json(cls, v: Mapping[str, Any]) -> WebhookEndpoint:
        return cls(
            id=str(v["id"]),
            url=str(v["url"]),
            events=tuple(v.get("events") or ()),
            description=str(v.get("description") or ""),
            enabled=bool(v.get("enabled", True)),
            created_at=str(v.get("created_at") or ""),
            secret=v.get("secret"),
        )


@dataclass(frozen=True)
class ApiKeyInfo:
    key_id: str
    scopes: tuple[str, ...]
    label: str
    created_at: str
    revoked_at: Optional[str]

    @classmethod
    def from_json(cls, v: Mapping[str, Any]) -> ApiKeyInfo:
        return cls(
            key_id=str(v["key_id"]),
            scopes=tuple(v.get("scopes") or ()),
            label=str(v.get("label") or ""),
            created_at=str(v.get("created_at") or ""),
            revoked_at=v.get("revoked_at"),
        )
