//! Accounts: who may use the relay and how. Orgs join by redeeming an invite;
//! their people sign in with passkeys ([`passkeys`]); the relay's operators
//! manage invites, orgs and number claims ([`operators`]).

pub mod operators;
pub mod passkeys;
pub mod validate;
