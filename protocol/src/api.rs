//! Wire types of the REST API (API.md), shared by the relay, `fxe-client` and the
//! browser. Times are RFC 3339 UTC strings; protocol objects keep their own JSON forms.

use crate::bundle::Bundle;
use crate::envelope::Envelope;
use crate::receipt::{Receipt, Refusal};
use serde::{Deserialize, Serialize};

pub const API_PREFIX: &str = "/api/v1";
/// The echo org's number.
pub const ECHO_NUMBER: &str = "+10000000000";

/// `{"error":{"code","message"}}`
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}

/// A page of a paginated list, newest first unless asked otherwise.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

// ---------- onboarding ----------

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ApiKeyRegistration {
    /// b64u Ed25519 public key.
    pub public_key: String,
    pub scopes: Vec<String>,
    /// b64u registration proof (PROTOCOL.md §6).
    pub proof: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RedeemRequest {
    pub token: String,
    pub org_name: String,
    pub numbers: Vec<String>,
    pub admin_email: String,
    /// b64u identity public key.
    pub identity_pub: String,
    pub bundle: Bundle,
    pub api_key: ApiKeyRegistration,
    /// b64u identity signature over `redeem_tbs`.
    pub proof: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RedeemResponse {
    pub org: Org,
    pub setup_url: String,
}

// ---------- directory and orgs ----------

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DirectoryEntry {
    pub number: String,
    pub org_id: String,
    pub org_name: String,
    pub identity_pub: String,
    pub bundle: Bundle,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgPublic {
    pub org_id: String,
    pub org_name: String,
    pub identity_pub: String,
    pub fingerprint: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgBundle {
    pub bundle: Bundle,
    pub active: bool,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub retired_at: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgBundles {
    pub items: Vec<OrgBundle>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NumberInfo {
    pub number: String,
    /// `active` or `pending` (awaiting the operator's approval).
    pub status: String,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgCounts {
    pub inbox_queued: u64,
    pub messages_received: u64,
    pub messages_sent: u64,
    pub users: u64,
    pub api_keys: u64,
}

/// `GET /org`: the caller's own org.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Org {
    pub org_id: String,
    pub org_name: String,
    pub identity_pub: String,
    pub fingerprint: String,
    pub numbers: Vec<NumberInfo>,
    pub active_bundle: Bundle,
    pub counts: OrgCounts,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
    pub disabled: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ClaimNumberRequest {
    pub number: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PublishBundleRequest {
    pub bundle: Bundle,
}

// ---------- messages ----------

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    AwaitingUpload,
    Queued,
    Delivered,
    Rejected,
    Expired,
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
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "awaiting_upload" => MessageStatus::AwaitingUpload,
            "queued" => MessageStatus::Queued,
            "delivered" => MessageStatus::Delivered,
            "rejected" => MessageStatus::Rejected,
            "expired" => MessageStatus::Expired,
            "failed" => MessageStatus::Failed,
            _ => return None,
        })
    }
}

/// A message object (API.md, Messages). `envelope` only on `GET /messages/{id}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Message {
    pub message_id: String,
    pub status: MessageStatus,
    pub from_number: String,
    pub from_name: String,
    pub to_number: String,
    pub sender_org_id: String,
    pub recipient_org_id: String,
    pub ciphertext_len: u64,
    pub envelope_hash: String,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub updated_at: String,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub expires_at: String,
    pub receipt: Option<Receipt>,
    pub refusal: Option<Refusal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envelope: Option<Envelope>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateMessageRequest {
    pub envelope: Envelope,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateMessageResponse {
    pub message: Message,
    pub upload_url: String,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub upload_expires_at: String,
}

// ---------- API keys, team, audit ----------

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKeyInfo {
    pub key_id: String,
    pub label: String,
    pub scopes: Vec<String>,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub revoked_at: Option<String>,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub last_used_at: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyRequest {
    pub public_key: String,
    pub scopes: Vec<String>,
    #[serde(default)]
    pub label: String,
    pub proof: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    pub id: String,
    pub email: String,
    /// `admin` or `user`.
    pub role: String,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
    pub passkeys: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    pub email: String,
    pub role: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserWithSetupLink {
    pub user: User,
    pub setup_url: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Actor {
    /// `user`, `api_key`, `relay` or `operator`.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: Option<String>,
    pub label: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub at: String,
    pub actor: Actor,
    pub action: String,
    pub target: Option<String>,
    pub address: Option<String>,
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
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    pub description: String,
    pub enabled: bool,
    /// Why the relay disabled it (a 410 from the endpoint), if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// `POST /webhooks`
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookRequest {
    pub url: String,
    pub events: Vec<String>,
    #[serde(default)]
    pub description: String,
}

/// `PATCH /webhooks/{id}`: only the fields given change.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhookRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// One try at a delivery.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookAttempt {
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub at: String,
    /// The endpoint's HTTP status; null when no answer came.
    pub status_code: Option<u16>,
    pub latency_ms: u64,
    pub error: Option<String>,
    /// The first 2 KiB of the endpoint's answer (lossy UTF-8).
    pub response_body: Option<String>,
}

/// One event to one endpoint.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookDelivery {
    pub id: String,
    pub event_id: String,
    pub event_type: String,
    pub endpoint_id: String,
    /// `pending`, `succeeded` or `dead`.
    pub status: String,
    /// Oldest first.
    pub attempts: Vec<WebhookAttempt>,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub next_attempt_at: Option<String>,
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
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
    pub org_id: String,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup_token: Option<String>,
}

/// A started ceremony: finish it within 5 minutes with `ceremony_id`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CeremonyStarted {
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
    pub email: String,
}

/// One of the signed-in user's passkeys.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasskeyInfo {
    pub id: String,
    pub label: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

/// The org of a signed-in member.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MeOrg {
    pub org_id: String,
    pub org_name: String,
    pub fingerprint: String,
}

/// `GET /auth/me`, and the answer of a sign-in or enrolment.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    pub user_id: String,
    pub email: String,
    /// `admin`, `user` or `operator`.
    pub role: String,
    /// `null` for relay operators.
    pub org: Option<MeOrg>,
    pub passkeys: Vec<PasskeyInfo>,
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
    #[serde(default)]
    pub note: String,
}

/// A new invite: the only time its token is shown.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewInvite {
    pub id: String,
    pub token: String,
    pub redeem_url: String,
    pub numbers: Vec<String>,
    pub expires_at: String,
}

/// An invite as listed (never its token: only its hash is stored).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InviteInfo {
    pub id: String,
    /// `active`, `used`, `revoked` or `expired`.
    pub state: String,
    pub numbers: Vec<String>,
    pub note: String,
    pub created_at: String,
    pub expires_at: String,
    pub used_at: Option<String>,
    pub used_by_org_id: Option<String>,
    pub revoked_at: Option<String>,
}

/// A member org as the operator sees it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OperatorOrg {
    pub org_id: String,
    pub org_name: String,
    pub fingerprint: String,
    pub created_at: String,
    pub disabled_at: Option<String>,
    pub echo: bool,
    pub numbers: Vec<String>,
    pub pending_numbers: Vec<String>,
    pub users: i64,
    pub api_keys: i64,
}

/// A claimed number as the operator sees it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NumberClaim {
    pub number: String,
    /// `active` or `pending`.
    pub status: String,
    pub org_id: String,
    pub org_name: String,
    pub created_at: String,
    pub approved_at: Option<String>,
}

/// A list answer without pagination (operator lists are short).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Items<T> {
    pub items: Vec<T>,
}
