//! The relay's ids as types: an [`OrgId`] cannot be passed where a
//! [`MessageId`] is wanted, and a value of one of these types has passed its
//! format check.
//!
//! Each id is a `String` newtype that
//! * binds and decodes as `TEXT` on both backends (`sqlx(transparent)`);
//! * checks its format when it is parsed ([`OrgId::parse`], `FromStr`,
//!   `TryFrom<String>`) and when it is deserialized; a stored value is
//!   trusted (the relay wrote it after checking it);
//! * serializes, displays and borrows (`AsRef<str>`, `Deref<Target = str>`)
//!   as the plain string: a typed id goes where a string is wanted, never
//!   the other way round without a check.
//!
//! The formats are the protocol's where it defines one (org and bundle ids,
//! message ids, API key ids: checked by `fxe-protocol`); user ids are
//! UUIDv4 like message ids; webhook endpoint and delivery ids are the
//! relay's own (`wh_`/`dl_` and 24 lowercase hex characters, made by
//! [`WebhookId::generate`] and [`DeliveryId::generate`]).

use std::{fmt, str::FromStr};

/// A string that is not a valid id of the kind wanted; the message names the
/// field and the expected format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidId(String);

/// The system's randomness failed while making a new id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no randomness for a new id")]
pub struct NoRandomness;

fn protocol_check(checked: fxe_protocol::Result<()>) -> Result<(), InvalidId> {
    checked.map_err(|e| InvalidId(e.to_string()))
}

/// `prefix` followed by 24 lowercase hex characters (the relay's own ids).
fn prefixed_hex24(field: &str, prefix: &str, s: &str) -> Result<(), InvalidId> {
    let ok = s
        .strip_prefix(prefix)
        .is_some_and(|rest| rest.len() == 24 && rest.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    if ok {
        Ok(())
    } else {
        Err(InvalidId(format!("invalid {field}: must be {prefix} followed by 24 lowercase hex characters")))
    }
}

/// `prefix` + 24 random lowercase hex characters.
pub(crate) fn random_prefixed(prefix: &str) -> Result<String, NoRandomness> {
    let b: [u8; 12] = fxe_protocol::random_bytes().map_err(|_| NoRandomness)?;
    Ok(format!("{prefix}{}", hex::encode(b)))
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, |$s:ident| $check:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, sqlx::Type)]
        #[sqlx(transparent)]
        pub struct $name(String);

        impl $name {
            /// Checks `s`'s format; the error says what is wrong.
            pub fn parse($s: &str) -> Result<Self, InvalidId> {
                $check?;
                Ok($name($s.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, InvalidId> {
                $name::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from($s: String) -> Result<Self, InvalidId> {
                let $s = $s.as_str();
                $check?;
                Ok($name($s.to_owned()))
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        /// Where a plain string is wanted (a log field, a protocol type's
        /// `String` field), the id is one: `&OrgId` passes as `&str`.
        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        /// As the string (`"…"`): a message that quoted an id with `{:?}`
        /// reads the same with the typed id.
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = String::deserialize(deserializer)?;
                $name::try_from(s).map_err(serde::de::Error::custom)
            }
        }
    };
}

id_type!(
    /// An org's id: 32 lowercase hex characters derived from its identity key
    /// (PROTOCOL.md §3, `fxe_protocol::ids::org_id`).
    OrgId,
    |s| protocol_check(fxe_protocol::encoding::validate_id32("org_id", s))
);

id_type!(
    /// A key bundle's id: 32 lowercase hex characters.
    BundleId,
    |s| protocol_check(fxe_protocol::encoding::validate_id32("bundle_id", s))
);

id_type!(
    /// A message's id: a lowercase hyphenated UUIDv4 chosen by the sender.
    MessageId,
    |s| protocol_check(fxe_protocol::encoding::validate_uuid_v4("message_id", s))
);

id_type!(
    /// A user's (or operator's) id: a lowercase hyphenated UUIDv4.
    UserId,
    |s| protocol_check(fxe_protocol::encoding::validate_uuid_v4("user_id", s))
);

id_type!(
    /// An API key's id: `ak_` and 24 lowercase hex characters (PROTOCOL.md §6).
    ApiKeyId,
    |s| protocol_check(fxe_protocol::apikey::validate_key_id(s))
);

id_type!(
    /// A webhook endpoint's id: `wh_` and 24 lowercase hex characters.
    WebhookId,
    |s| prefixed_hex24("webhook id", "wh_", s)
);

id_type!(
    /// A webhook delivery's id: `dl_` and 24 lowercase hex characters.
    DeliveryId,
    |s| prefixed_hex24("delivery id", "dl_", s)
);

impl MessageId {
    /// A new random message id (the relay's own messages: the echo org's replies).
    pub fn generate() -> Result<MessageId, NoRandomness> {
        fxe_protocol::encoding::new_uuid_v4().map(MessageId).map_err(|_| NoRandomness)
    }
}

impl UserId {
    /// A new random user id.
    pub fn generate() -> Result<UserId, NoRandomness> {
        fxe_protocol::encoding::new_uuid_v4().map(UserId).map_err(|_| NoRandomness)
    }
}

impl WebhookId {
    /// A new random endpoint id.
    pub fn generate() -> Result<WebhookId, NoRandomness> {
        random_prefixed("wh_").map(WebhookId)
    }
}

impl DeliveryId {
    /// A new random delivery id.
    pub fn generate() -> Result<DeliveryId, NoRandomness> {
        random_prefixed("dl_").map(DeliveryId)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_checked_on_parse_and_deserialize() {
        let org = "0123456789abcdef0123456789abcdef";
        assert_eq!(OrgId::parse(org).unwrap().as_str(), org);
        assert!(OrgId::parse(&org.to_uppercase()).is_err());
        assert!(OrgId::parse("abc").is_err());
        assert!(BundleId::parse(org).is_ok());

        let uuid = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
        assert!(MessageId::parse(uuid).is_ok());
        assert!(UserId::parse(uuid).is_ok());
        assert!(MessageId::parse("3f2504e0-4f89-11d3-9a0c-0305e82c3301").is_err(), "not v4");
        assert!(ApiKeyId::parse("ak_0123456789abcdef01234567").is_ok());
        assert!(ApiKeyId::parse("ak_0123").is_err());

        let json: Result<MessageId, _> = serde_json::from_str("\"not-a-uuid\"");
        let err = json.unwrap_err().to_string();
        assert!(err.contains("message_id"), "{err}");
        let back: MessageId = serde_json::from_str(&format!("\"{uuid}\"")).unwrap();
        assert_eq!(serde_json::to_string(&back).unwrap(), format!("\"{uuid}\""));
        assert_eq!(back.to_string(), uuid);
        assert_eq!(format!("{back:?}"), format!("{uuid:?}"));
    }

    #[test]
    fn generated_ids_pass_their_own_check() {
        let wh = WebhookId::generate().unwrap();
        assert!(WebhookId::parse(wh.as_str()).is_ok());
        assert!(DeliveryId::parse(wh.as_str()).is_err(), "the prefix tells them apart");
        let dl = DeliveryId::generate().unwrap();
        assert!(DeliveryId::parse(dl.as_str()).is_ok());
        assert!(UserId::parse(UserId::generate().unwrap().as_str()).is_ok());
        let err = WebhookId::parse("wh_XYZ").unwrap_err().to_string();
        assert!(err.contains("wh_ followed by 24 lowercase hex characters"), "{err}");
    }

    /// The ids bind and decode as plain text on the backend the tests have.
    #[tokio::test]
    async fn ids_round_trip_through_the_database() {
        use sqlx::Row;
        sqlx::any::install_default_drivers();
        let pool = sqlx::any::AnyPoolOptions::new().max_connections(1).connect("sqlite::memory:").await.unwrap();
        let id = OrgId::parse("0123456789abcdef0123456789abcdef").unwrap();
        let row = sqlx::query("SELECT $1 AS v").bind(&id).fetch_one(&pool).await.unwrap();
        let back: OrgId = row.try_get("v").unwrap();
        assert_eq!(back, id);
    }
}
