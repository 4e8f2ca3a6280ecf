//! HTTP infrastructure shared by every route: the server with its connection
//! and body limits ([`server`], [`body_limits`]), the JSON error shape
//! ([`error`]), who is calling ([`auth`], [`session_cookie`], [`client_ip`]), the middleware
//! a request meets ([`rate_limit`], [`idempotency`], [`completion`],
//! [`page_access`]), what browsers may do with an answer
//! ([`browser_policy`]), the relay's own endpoints ([`health`], [`metrics`],
//! [`openapi`]) and the web UI's built files ([`site`]). Nothing here knows
//! the API's routes: `crate::router` composes them.

pub mod auth;
pub mod body_limits;
pub mod browser_policy;
pub mod client_ip;
pub mod completion;
pub mod error;
pub mod error_code;
pub mod error_map;
pub mod health;
pub mod idempotency;
pub mod metrics;
pub mod openapi;
pub mod page_access;
pub mod rate_limit;
pub mod server;
pub mod session_cookie;
pub mod site;
