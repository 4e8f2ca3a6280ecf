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
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}

/// A page of a paginated list, newest first unless asked otherwise.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

// ---------- onboarding ----------

#[derive(Clone, Debug, Serialize, Deserialize)]
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
pub struct RedeemResponse {
    pub org: Org,
    pub setup_url: String,
}

// ---------- directory and orgs ----------

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DirectoryEntry {
    pub number: String,
    pub org_id: String,
    pub org_name: String,
    pub identity_pub: String,
    pub bundle: Bundle,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OrgPublic {
    pub org_id: String,
    pub org_name: String,
    pub identity_pub: String,
    pub fingerprint: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OrgBundle {
    pub bundle: Bundle,
    pub active: bool,
    pub retired_at: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OrgBundles {
    pub items: Vec<OrgBundle>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NumberInfo {
    pub number: String,
    /// `active` or `pending` (awaiting the operator's approval).
    pub status: String,
    pub created_at: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct OrgCounts {
    pub inbox_queued: u64,
    pub messages_received: u64,
    pub messages_sent: u64,
    pub users: u64,
    pub api_keys: u64,
}

/// `GET /org`: the caller's own org.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Org {
    pub org_id: String,
    pub org_name: String,
    pub identity_pub: String,
    pub fingerprint: String,
    pub numbers: Vec<NumberInfo>,
    pub active_bundle: Bundle,
    pub counts: OrgCounts,
    pub created_at: String,
    pub disabled: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimNumberRequest {
    pub number: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishBundleRequest {
    pub bundle: Bundle,
}

// ---------- messages ----------

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
    pub created_at: String,
    pub updated_at: String,
    pub expires_at: String,
    pub receipt: Option<Receipt>,
    pub refusal: Option<Refusal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envelope: Option<Envelope>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CreateMessageRequest {
    pub envelope: Envelope,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CreateMessageResponse {
    pub message: Message,
    pub upload_url: String,
    pub upload_expires_at: String,
}

// ---------- API keys, team, audit ----------

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ApiKeyInfo {
    pub key_id: String,
    pub label: String,
    pub scopes: Vec<String>,
    pub created_at: String,
    pub revoked_at: Option<String>,
    pub last_used_at: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyRequest {
    pub public_key: String,
    pub scopes: Vec<String>,
    #[serde(default)]
    pub label: String,
    pub proof: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub email: String,
    /// `admin` or `user`.
    pub role: String,
    pub created_at: String,
    pub passkeys: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    pub email: String,
    pub role: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UserWithSetupLink {
    pub user: User,
    pub setup_url: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Actor {
    /// `user`, `api_key`, `relay` or `operator`.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: Option<String>,
    pub label: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: String,
    pub at: String,
    pub actor: Actor,
    pub action: String,
    pub target: Option<String>,
    pub address: Option<String>,
    pub detail: Option<serde_json::Value>,
}
