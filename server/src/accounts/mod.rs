//! Accounts: who may use the relay and how. Orgs join by redeeming an invite;
//! their people sign in with passkeys ([`passkeys`]); the relay's operators
//! manage invites, orgs and number claims ([`operators`]); a forgotten passkey
//! is replaced through a mailed link ([`recovery`]).

pub mod operators;
pub mod passkeys;
pub mod recovery;
pub mod validate;
