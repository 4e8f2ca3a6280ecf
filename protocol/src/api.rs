//! Wire types of the REST API (API.md), shared by the relay, `fxe-client` and the
//! browser. Times are RFC 3339 UTC strings; protocol objects keep their own JSON forms.

use crate::bundle::Bundle;
use crate::envelope::Envelope;
use crate::receipt::{Receipt, Refusal};
use serde::{Deserialize, Serialize};

/// The path every API call starts with.
pub const API_PREFIX: &str = "/api/v1";
/// The echo org's number.
pub const ECHO_NUMBER: &str = "+10000000000";

/// `{"error":{"code","message"}}`
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// An API error: a stable code to branch on and a sentence to show.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// The machine-readable error code (`not_found`, `invalid_number`, …).
    pub code: String,
    /// What went wrong, in words a person can act on.
    pub message: String,
}

/// A page of a paginated list, newest first unless asked otherwise.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    /// This page's items.
    pub items: Vec<T>,
    /// Pass as `cursor=` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

// ---------- onboarding ----------

/// The first API key, registered with the redemption.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ApiKeyRegistration {
    /// b64u Ed25519 public key.
    pub public_key: String,
    /// The scopes it is given (see [`crate::apikey::SCOPES`]).
    pub scopes: Vec<String>,
    /// b64u registration proof (PROTOCOL.md §6).
    pub proof: String,
    /// A label to tell the key apart by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// `POST /invites/redeem`: an org joins with an invite, its keys made on its side.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RedeemRequest {
    /// The invite token.
    pub token: String,
    /// The org's name as members will see it.
    pub org_name: String,
    /// The numbers the org claims (E.164).
    pub numbers: Vec<String>,
    /// The first admin's e-mail address.
    pub admin_email: String,
    /// b64u identity public key.
    pub identity_pub: String,
    /// The org's first bundle, signed by `identity_pub`.
    pub bundle: Bundle,
    /// The org's first API key.
    pub api_key: ApiKeyRegistration,
    /// b64u identity signature over `redeem_tbs`.
    pub proof: String,
}

/// The answer of a redemption.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RedeemResponse {
    /// The new org.
    pub org: Org,
    /// The link with which the first admin sets up a passkey.
    pub setup_url: String,
}

// ---------- directory and orgs ----------

/// `GET /directory/{number}`: who owns a number. Verify it before use ([`crate::directory::verify_entry`]).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DirectoryEntry {
    /// The number asked about (E.164).
    pub number: String,
    /// The owning org's id.
    pub org_id: String,
    /// The owning org's name.
    pub org_name: String,
    /// b64u identity public key.
    pub identity_pub: String,
    /// The owning org's active bundle.
    pub bundle: Bundle,
    /// The relay's transparency log proof of this answer (docs/transparency.md §6): the
    /// published checkpoint and the entries behind the answer with their inclusion proofs.
    /// Absent from relays without a log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<crate::transparency::inclusion::LogProof>,
}

/// A member org's public identity (`GET /orgs/{org_id}`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgPublic {
    /// The org's id.
    pub org_id: String,
    /// The org's name.
    pub org_name: String,
    /// b64u identity public key.
    pub identity_pub: String,
    /// The fingerprint of the identity key, for reading aloud.
    pub fingerprint: String,
}

/// One bundle an org published, with whether it is still in use.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgBundle {
    /// The bundle.
    pub bundle: Bundle,
    /// Whether it is the org's active bundle.
    pub active: bool,
    /// When it was replaced by a newer one; `null` while active.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub retired_at: Option<String>,
}

/// Every bundle an org published (`GET /orgs/{org_id}/bundles`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgBundles {
    /// The bundles.
    pub items: Vec<OrgBundle>,
}

/// Whether a number routes faxes yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NumberStatus {
    /// In the directory: faxes to it reach its org.
    Active,
    /// Claimed, awaiting the operator's approval.
    Pending,
    /// Only in the operator's answer to a denial: the claim was deleted.
    Denied,
}

impl NumberStatus {
    /// Every status.
    pub const ALL: [NumberStatus; 3] = [NumberStatus::Active, NumberStatus::Pending, NumberStatus::Denied];

    /// The status as it is on the wire (and in the relay's database).
    pub fn as_str(self) -> &'static str {
        match self {
            NumberStatus::Active => "active",
            NumberStatus::Pending => "pending",
            NumberStatus::Denied => "denied",
        }
    }

    /// The status for its wire form; `None` for any other string.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// One of the caller's numbers.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NumberInfo {
    /// The number (E.164).
    pub number: String,
    /// `active` or `pending` (awaiting the operator's approval).
    pub status: NumberStatus,
    /// When it was claimed.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
}

/// How much the org has, as `GET /org` counts it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgCounts {
    /// Messages waiting in the inbox (queued, not yet acknowledged).
    pub inbox_queued: u64,
    /// Messages the org has received.
    pub messages_received: u64,
    /// Messages the org has sent.
    pub messages_sent: u64,
    /// Current members.
    pub users: u64,
    /// API keys not revoked.
    pub api_keys: u64,
}

/// `GET /org`: the caller's own org.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Org {
    /// The org's id.
    pub org_id: String,
    /// The org's name.
    pub org_name: String,
    /// b64u identity public key.
    pub identity_pub: String,
    /// The fingerprint of the identity key, for reading aloud.
    pub fingerprint: String,
    /// The org's numbers, active and pending.
    pub numbers: Vec<NumberInfo>,
    /// The bundle senders seal to.
    pub active_bundle: Bundle,
    /// What the org has.
    pub counts: OrgCounts,
    /// When the org joined.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
    /// Whether the relay's operator disabled the org.
    pub disabled: bool,
}

/// `POST /numbers`: claim a number (pending until the operator approves it).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ClaimNumberRequest {
    /// The number (E.164).
    pub number: String,
}

/// `POST /org/bundles`: publish a new bundle, which becomes the active one.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PublishBundleRequest {
    /// The bundle, signed by the org's identity.
    pub bundle: Bundle,
}

// ---------- messages ----------

/// Where a message is in its life on the relay.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    /// Created; the sender has not uploaded the ciphertext yet.
    AwaitingUpload,
    /// Uploaded; waiting for the recipient to fetch and acknowledge it.
    Queued,
    /// The recipient sent a receipt.
    Delivered,
    /// The recipient sent a refusal.
    Rejected,
    /// Queued, but not received before it expired.
    Expired,
    /// Its ciphertext never arrived within the upload window.
    Failed,
}

impl MessageStatus {
    /// Every status, in the order a message moves through them.
    pub const ALL: [MessageStatus; 6] = [
        MessageStatus::AwaitingUpload,
        MessageStatus::Queued,
        MessageStatus::Delivered,
        MessageStatus::Rejected,
        MessageStatus::Expired,
        MessageStatus::Failed,
    ];

    /// The status as it is on the wire (`awaiting_upload`, `queued`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::AwaitingUpload => "awaiting_upload",
            MessageStatus::Queued => "queued",
            MessageStatus::Delivered => "delivered",
            MessageStatus::Rejected => "rejected",
            MessageStatus::Expired => "expired",
            MessageStatus::Failed => "failed",
        }
    }
    /// The status for its wire form; `None` for any other string.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// A message object (API.md, Messages). `envelope` only on `GET /messages/{id}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Message {
    /// The message's id (the envelope's).
    pub message_id: String,
    /// Where it is.
    pub status: MessageStatus,
    /// The sender's number (E.164).
    pub from_number: String,
    /// The caller name the sender gave (may be empty).
    pub from_name: String,
    /// The recipient's number (E.164).
    pub to_number: String,
    /// The sending org's id.
    pub sender_org_id: String,
    /// The recipient org's id.
    pub recipient_org_id: String,
    /// The sealed payload's length in bytes.
    pub ciphertext_len: u64,
    /// Hex `H(envelope_tbs || envelope_sig)`, which receipts and refusals sign.
    pub envelope_hash: String,
    /// When the message was created on the relay.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
    /// When its status last changed.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub updated_at: String,
    /// When the relay drops it if it is still undelivered.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub expires_at: String,
    /// The recipient's receipt, once delivered.
    pub receipt: Option<Receipt>,
    /// The recipient's refusal, if it refused.
    pub refusal: Option<Refusal>,
    /// The envelope itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envelope: Option<Envelope>,
}

/// `POST /messages`: the sender announces a sealed message.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateMessageRequest {
    /// The signed envelope.
    pub envelope: Envelope,
}

/// The answer of `POST /messages`: where to upload the ciphertext.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateMessageResponse {
    /// The new message (`awaiting_upload`).
    pub message: Message,
    /// Where to `PUT` the ciphertext.
    pub upload_url: String,
    /// When that upload is no longer accepted.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub upload_expires_at: String,
}

// ---------- API keys, team, audit ----------

/// One of the org's API keys (never its secret).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKeyInfo {
    /// The key's id (`ak_…`).
    pub key_id: String,
    /// Its label.
    pub label: String,
    /// Its scopes.
    pub scopes: Vec<String>,
    /// When it was registered.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
    /// When it was revoked; `null` while usable.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub revoked_at: Option<String>,
    /// When it last signed a request.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub last_used_at: Option<String>,
}

/// `POST /api-keys`: register a key made on the org's side.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyRequest {
    /// b64u Ed25519 public key.
    pub public_key: String,
    /// The scopes it is given (see [`crate::apikey::SCOPES`]).
    pub scopes: Vec<String>,
    /// A label to tell the key apart by.
    #[serde(default)]
    pub label: String,
    /// b64u registration proof (PROTOCOL.md §6).
    pub proof: String,
}

/// A member of the org.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    /// The user's id.
    pub id: String,
    /// Their e-mail address.
    pub email: String,
    /// `admin` or `user`.
    pub role: String,
    /// When they were added.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
    /// How many passkeys they have.
    pub passkeys: u64,
}

/// `POST /users`: add a member.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    /// Their e-mail address.
    pub email: String,
    /// `admin` or `user`.
    pub role: String,
}

/// A new member, with the link that sets up their first passkey.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserWithSetupLink {
    /// The member.
    pub user: User,
    /// The passkey setup link, to hand to them.
    pub setup_url: String,
}

/// Who did something, in the audit trail.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Actor {
    /// `user`, `api_key`, `relay` or `operator`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The user's, key's or operator's id.
    pub id: Option<String>,
    /// A readable name: a user's e-mail address, a key's label.
    pub label: Option<String>,
}

/// One entry of the audit trail (`GET /audit`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    /// The entry's id.
    pub id: String,
    /// When it happened.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub at: String,
    /// Who did it.
    pub actor: Actor,
    /// What was done (`number.claimed`, `user.signed_in`, …).
    pub action: String,
    /// What it was done to (an id), if anything.
    pub target: Option<String>,
    /// The client's IP address, where there was one.
    pub address: Option<String>,
    /// More about it, as the action defines.
    pub detail: Option<serde_json::Value>,
}

/// OpenAPI schemas of the signed protocol objects (PROTOCOL.md §3–5). Their
/// byte fields have custom JSON forms (b64u, hex), so they are described by
/// hand rather than derived.
#[cfg(feature = "openapi")]
mod openapi_schemas {
    use super::{Bundle, Envelope, Receipt, Refusal};
    use std::borrow::Cow;
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::{AdditionalProperties, KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
    use utoipa::{PartialSchema, ToSchema};

    const B64U: &str = "^[A-Za-z0-9_-]*$";
    const HEX32: &str = "^[0-9a-f]{64}$";
    const ID32: &str = "^[0-9a-f]{32}$";
    const UUID4: &str = "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$";
    const E164: &str = "^\\+[1-9][0-9]{1,14}$";

    enum Field {
        Text(&'static str, Option<&'static str>),
        /// b64u of this many bytes.
        Bytes(&'static str, usize),
        Int(&'static str),
        Enum(&'static str, &'static [&'static str]),
        /// The integer 1.
        Version,
    }

    fn object(description: &'static str, fields: &[(&'static str, Field)]) -> RefOr<Schema> {
        let mut o = ObjectBuilder::new().description(Some(description));
        for (name, field) in fields {
            let property = match field {
                Field::Text(d, pattern) => {
                    ObjectBuilder::new().schema_type(Type::String).description(Some(*d)).pattern(*pattern)
                }
                Field::Bytes(d, n) => ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some(format!("{d} (b64u, {n} bytes)")))
                    .pattern(Some(B64U))
                    .min_length(Some((4 * n).div_ceil(3)))
                    .max_length(Some((4 * n).div_ceil(3))),
                Field::Int(d) => ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                    .minimum(Some(0))
                    .description(Some(*d)),
                Field::Enum(d, values) => ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some(*d))
                    .enum_values(Some(values.iter().copied())),
                Field::Version => ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .description(Some("protocol version"))
                    .enum_values(Some([1])),
            };
            o = o.property(*name, property).required(*name);
        }
        o.additional_properties(Some(AdditionalProperties::FreeForm(false))).into()
    }

    /// Named schemas: referenced as `#/components/schemas/<Name>`.
    macro_rules! named {
        ($($t:ident),+) => {$(
            impl ToSchema for $t {
                fn name() -> Cow<'static, str> {
                    stringify!($t).into()
                }
            }
        )+};
    }
    named!(Bundle, Envelope, Receipt, Refusal);

    impl PartialSchema for Bundle {
        fn schema() -> RefOr<Schema> {
            use Field::*;
            object(
                "A bundle in its JSON form (PROTOCOL.md §3), signed by the org's identity key.",
                &[
                    ("org_id", Text("hex(H(T(\"fxe/v1 org\", identity_pub))[0..16])", Some(ID32))),
                    ("created_at", Int("unix seconds")),
                    ("kem_alg", Enum("the KEM", &["X-Wing"])),
                    ("kem_pub", Bytes("X-Wing public key", 1216)),
                    ("sign_pub", Bytes("Ed25519 signing key", 32)),
                    ("bundle_id", Text("hex(H(bundle_tbs)[0..16])", Some(ID32))),
                    ("sig", Bytes("identity signature over bundle_tbs", 64)),
                ],
            )
        }
    }

    impl PartialSchema for Envelope {
        fn schema() -> RefOr<Schema> {
            use Field::*;
            object(
                "An envelope in its JSON form (PROTOCOL.md §4), signed by the sender's bundle signing key.",
                &[
                    ("v", Version),
                    ("message_id", Text("UUIDv4, lowercase", Some(UUID4))),
                    ("created_at", Int("unix seconds")),
                    ("sender_org_id", Text("org id", Some(ID32))),
                    ("sender_bundle_id", Text("bundle id", Some(ID32))),
                    ("recipient_org_id", Text("org id", Some(ID32))),
                    ("recipient_bundle_id", Text("bundle id", Some(ID32))),
                    ("from_number", Text("E.164", Some(E164))),
                    ("from_name", Text("may be empty", None)),
                    ("to_number", Text("E.164", Some(E164))),
                    ("content_type", Text("application/pdf for faxes", None)),
                    ("chunk_size", Int("a power of two from 16 KiB to 16 MiB")),
                    ("ciphertext_len", Int("the canonical length, at most 104,857,600")),
                    ("ciphertext_sha256", Text("hex SHA-256 of the ciphertext", Some(HEX32))),
                    ("kem_ct", Bytes("X-Wing ciphertext", 1120)),
                    ("wrapped_cek", Bytes("the wrapped content key", 48)),
                    ("cek_commit", Bytes("the key commitment", 32)),
                    ("sig", Bytes("signature over envelope_tbs", 64)),
                ],
            )
        }
    }

    impl PartialSchema for Receipt {
        fn schema() -> RefOr<Schema> {
            use Field::*;
            object(
                "A receipt (PROTOCOL.md §5), signed by the recipient bundle's signing key.",
                &[
                    ("message_id", Text("UUIDv4, lowercase", Some(UUID4))),
                    ("envelope_hash", Text("hex H(envelope_tbs || envelope_sig)", Some(HEX32))),
                    ("recipient_org_id", Text("org id", Some(ID32))),
                    ("recipient_bundle_id", Text("the bundle the message was sealed to", Some(ID32))),
                    ("received_at", Int("unix seconds")),
                    ("sig", Bytes("signature over receipt_tbs", 64)),
                ],
            )
        }
    }

    impl PartialSchema for Refusal {
        fn schema() -> RefOr<Schema> {
            use Field::*;
            object(
                "A signed refusal (PROTOCOL.md §5).",
                &[
                    ("message_id", Text("UUIDv4, lowercase", Some(UUID4))),
                    ("envelope_hash", Text("hex H(envelope_tbs || envelope_sig)", Some(HEX32))),
                    ("recipient_org_id", Text("org id", Some(ID32))),
                    ("recipient_bundle_id", Text("the bundle the message was sealed to", Some(ID32))),
                    ("refused_at", Int("unix seconds")),
                    ("reason", Enum("why", &["cannot_open", "not_a_pdf", "policy", "other"])),
                    ("sig", Bytes("signature over refusal_tbs", 64)),
                ],
            )
        }
    }
}

// ---------- webhooks ----------

/// A webhook endpoint. `secret` (`whsec_…`) is only in the answers of
/// creation and rotation.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookEndpoint {
    /// The endpoint's id.
    pub id: String,
    /// Where events are POSTed (https, on a public address).
    pub url: String,
    /// The event types it receives.
    pub events: Vec<String>,
    /// Its owner's description.
    pub description: String,
    /// Whether deliveries are made.
    pub enabled: bool,
    /// Why the relay disabled it (a 410 from the endpoint), if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    /// When it was added.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
    /// The signing secret (`whsec_…`), only right after creation or rotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// `POST /webhooks`
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookRequest {
    /// Where events are POSTed (https, on a public address).
    pub url: String,
    /// The event types to send.
    pub events: Vec<String>,
    /// A description for the org's admins.
    #[serde(default)]
    pub description: String,
}

/// `PATCH /webhooks/{id}`: only the fields given change.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhookRequest {
    /// A new URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// New event types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<String>>,
    /// A new description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Enable or pause deliveries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// One try at a delivery.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookAttempt {
    /// When it was made.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub at: String,
    /// The endpoint's HTTP status; null when no answer came.
    pub status_code: Option<u16>,
    /// How long the endpoint took, in milliseconds.
    pub latency_ms: u64,
    /// What went wrong (a timeout, a refused address, a non-2xx), if anything.
    pub error: Option<String>,
    /// The first 2 KiB of the endpoint's answer (lossy UTF-8).
    pub response_body: Option<String>,
}

/// Where a webhook delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// The endpoint answered 2xx.
    Succeeded,
    /// Out of attempts, or the endpoint answered 410 or was disabled.
    Dead,
}

impl DeliveryStatus {
    /// Every status.
    pub const ALL: [DeliveryStatus; 3] = [DeliveryStatus::Pending, DeliveryStatus::Succeeded, DeliveryStatus::Dead];

    /// The status as it is on the wire (and in the relay's database).
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Succeeded => "succeeded",
            DeliveryStatus::Dead => "dead",
        }
    }

    /// The status for its wire form; `None` for any other string.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// One event to one endpoint.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookDelivery {
    /// The delivery's id.
    pub id: String,
    /// The event delivered.
    pub event_id: String,
    /// The event's type.
    pub event_type: String,
    /// The endpoint it goes to.
    pub endpoint_id: String,
    /// `pending`, `succeeded` or `dead`.
    pub status: DeliveryStatus,
    /// Oldest first.
    pub attempts: Vec<WebhookAttempt>,
    /// When it is tried next; only while pending.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub next_attempt_at: Option<String>,
    /// When it was queued.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
}

/// `POST /webhooks/{id}/redeliver?since=` answer.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RedeliverSinceAnswer {
    /// How many events were queued again for the endpoint.
    pub queued: u64,
}

/// An event of the 30-day log (`GET /events`): the payload exactly as sent.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookEvent {
    /// The event's id (the same in every delivery of it).
    pub id: String,
    /// The event's type (`message.received`, …).
    #[serde(rename = "type")]
    pub event_type: String,
    /// When it happened.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
    /// The org it belongs to.
    pub org_id: String,
    /// The event's payload.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub data: serde_json::Value,
}

// ---- Passkeys and sessions (`/auth/…`) --------------------------------------
// The WebAuthn options and credentials are the browser's JSON, passed through
// as they are (`navigator.credentials.create/get` and their results).

/// `POST /auth/passkey/register/start`: with a setup link's token, or (no
/// token) by a signed-in user adding another passkey.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PasskeyRegisterStart {
    /// The token of a passkey setup link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup_token: Option<String>,
}

/// A started ceremony: finish it within 5 minutes with `ceremony_id`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CeremonyStarted {
    /// The ceremony's id, to finish it with.
    pub ceremony_id: String,
    /// `{"publicKey": …}` for `navigator.credentials.create()` or `.get()`.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub options: serde_json::Value,
    /// Whom the passkey is for (enrolment only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// `POST /auth/passkey/register/finish` and `POST /auth/login/finish`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CeremonyFinish {
    /// The id from [`CeremonyStarted`].
    pub ceremony_id: String,
    /// The browser's `PublicKeyCredential`, as JSON.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub credential: serde_json::Value,
    /// A name for the new passkey ("work laptop"); enrolment only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// `POST /auth/recover`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RecoverRequest {
    /// The address to send a fresh setup link to, if it belongs to an active user.
    pub email: String,
}

/// One of the signed-in user's passkeys.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasskeyInfo {
    /// The passkey's id.
    pub id: String,
    /// Its label.
    pub label: String,
    /// When it was enrolled.
    pub created_at: String,
    /// When it was last used to sign in.
    pub last_used_at: Option<String>,
}

/// The org of a signed-in member.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MeOrg {
    /// The org's id.
    pub org_id: String,
    /// The org's name.
    pub org_name: String,
    /// The fingerprint of the org's identity key.
    pub fingerprint: String,
}

/// `GET /auth/me`, and the answer of a sign-in or enrolment.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    /// The user's id.
    pub user_id: String,
    /// Their e-mail address.
    pub email: String,
    /// `admin`, `user` or `operator`.
    pub role: String,
    /// `null` for relay operators.
    pub org: Option<MeOrg>,
    /// Their passkeys.
    pub passkeys: Vec<PasskeyInfo>,
    /// Whether they get a mail when a fax arrives for their org (docs/api.md, "Arrival notices"); set with
    /// `PATCH /auth/me`. Absent from older relays' answers, read as `false`.
    #[serde(default)]
    pub notify_arrivals: bool,
}

/// `PATCH /auth/me`: the signed-in member's own settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MeUpdate {
    /// A mail ("a fax arrived for +1 555…", nothing more) to the member's address when a fax arrives for their
    /// org. Off until they turn it on. Omitted: unchanged.
    #[serde(default)]
    pub notify_arrivals: Option<bool>,
}

// ---------- operator (docs/api.md, "Operator API") ----------

/// `POST /operator/invites`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateInviteRequest {
    /// The numbers the org may claim (E.164; spaces, dashes and brackets are
    /// fine). Empty: any free numbers.
    #[serde(default)]
    pub numbers: Vec<String>,
    /// Seconds until the invite expires: 60 to 365 days.
    pub expires_in_secs: i64,
    /// A note for the operator only.
    #[serde(default)]
    pub note: String,
}

/// A new invite: the only time its token is shown.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewInvite {
    /// The invite's id.
    pub id: String,
    /// The invite token (only its hash is kept).
    pub token: String,
    /// The link to send to the organization.
    pub redeem_url: String,
    /// The numbers the org may claim (E.164; empty: any free numbers).
    pub numbers: Vec<String>,
    /// When it expires.
    pub expires_at: String,
}

/// Where an invite stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InviteState {
    /// Unused, unrevoked and unexpired: it may be redeemed.
    Active,
    /// Redeemed.
    Used,
    /// Revoked by the operator.
    Revoked,
    /// Past its expiry, unused.
    Expired,
}

impl InviteState {
    /// Every state.
    pub const ALL: [InviteState; 4] =
        [InviteState::Active, InviteState::Used, InviteState::Revoked, InviteState::Expired];

    /// The state as it is on the wire: `active`, `used`, `revoked` or `expired`.
    pub fn as_str(self) -> &'static str {
        match self {
            InviteState::Active => "active",
            InviteState::Used => "used",
            InviteState::Revoked => "revoked",
            InviteState::Expired => "expired",
        }
    }

    /// The state for its wire form; `None` for any other string.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

impl core::fmt::Display for InviteState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An invite as listed (never its token: only its hash is stored).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InviteInfo {
    /// The invite's id.
    pub id: String,
    /// `active`, `used`, `revoked` or `expired`.
    pub state: InviteState,
    /// The numbers the org may claim (E.164; empty: any free numbers).
    pub numbers: Vec<String>,
    /// The operator's note.
    pub note: String,
    /// When it was created.
    pub created_at: String,
    /// When it expires.
    pub expires_at: String,
    /// When it was redeemed.
    pub used_at: Option<String>,
    /// The org that redeemed it.
    pub used_by_org_id: Option<String>,
    /// When the operator revoked it.
    pub revoked_at: Option<String>,
}

/// A member org as the operator sees it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OperatorOrg {
    /// The org's id.
    pub org_id: String,
    /// The org's name.
    pub org_name: String,
    /// The fingerprint of the org's identity key.
    pub fingerprint: String,
    /// When it joined.
    pub created_at: String,
    /// When the operator disabled it; `null` while enabled.
    pub disabled_at: Option<String>,
    /// Whether it is the relay's echo org.
    pub echo: bool,
    /// Its active numbers.
    pub numbers: Vec<String>,
    /// Its numbers awaiting approval.
    pub pending_numbers: Vec<String>,
    /// Its current members.
    pub users: i64,
    /// Its API keys not revoked.
    pub api_keys: i64,
    /// Passkeys set up by its current members; 0 means nobody has ever
    /// signed in (a redemption left unfinished: the operator page flags it).
    #[serde(default)]
    pub passkeys: i64,
}

/// A claimed number as the operator sees it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NumberClaim {
    /// The number (E.164).
    pub number: String,
    /// `active` or `pending`; `denied` in the answer to a denial.
    pub status: NumberStatus,
    /// The claiming org's id.
    pub org_id: String,
    /// The claiming org's name.
    pub org_name: String,
    /// When it was claimed.
    pub created_at: String,
    /// When the operator approved it; `null` while pending.
    pub approved_at: Option<String>,
}

/// A list answer without pagination (operator lists are short).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Items<T> {
    /// The items.
    pub items: Vec<T>,
}
