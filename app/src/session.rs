//! Who is signed in: `GET /auth/me`, loaded once per page in the browser and
//! shared through context. Server rendering shows the signed-out state's
//! neutral form (the server redirects signed-out visits to private pages
//! before they render).

use fxe_protocol::api::Me;
use leptos::prelude::*;

use crate::browser::{
    files,
    http::{self, ApiFailure},
};

/// The signed-in user, once known.
#[derive(Clone, Copy)]
pub struct Session(pub LocalResource<Result<Me, ApiFailure>>);

/// Loads the session and shares it with every component below (`App` calls it).
pub fn provide_session() -> Session {
    let session = Session(LocalResource::new(|| http::get::<Me>("/auth/me")));
    provide_context(session);
    session
}

/// The session `App` provided; where none was (a component rendered on its
/// own), one loaded for this component and those below it.
pub fn use_session() -> Session {
    use_context::<Session>().unwrap_or_else(provide_session)
}

/// Where a user belongs after signing in.
pub fn home_of(me: &Me) -> &'static str {
    if me.org.is_some() { "/dashboard" } else { "/operator" }
}

/// Ends this session (or all of the user's sessions) and goes to the sign-in page.
pub async fn sign_out(everywhere: bool) -> Result<(), ApiFailure> {
    let path = if everywhere { "/auth/logout?everywhere=true" } else { "/auth/logout" };
    http::post_action(path).await?;
    files::go(if everywhere { "/login?signed_out=everywhere" } else { "/login?signed_out=1" });
    Ok(())
}
