//! `POST /invites/redeem`: an org joins the relay with an invite token.
//!
//! Everything the org asserts is verified (identity proof, bundle, API key
//! proof of possession) and the whole redemption is one transaction: a
//! failure leaves nothing behind.

use axum::{extract::State, http::StatusCode};
use fxe_protocol::{
    api::{RedeemRequest, RedeemResponse},
    apikey, e164, encoding,
    redeem::RedeemClaims,
};

use crate::http::error::ErrorCode;
use crate::ids::UserId;
use crate::{
    AppState,
    accounts::validate::is_email,
    api::org::MAX_BUNDLE_CLOCK_AHEAD_SECS,
    db::api_keys::{self, NewApiKey},
    db::audit::{self, Actor, ActorKind},
    db::invites::{self, InviteState},
    db::orgs::{self, NewOrg},
    db::setup_links::{self, SetupLinkPurpose},
    db::users::{self, UserRole},
    http::auth::ClientAddress,
    http::error::{ApiError, ApiJson},
};

pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new().routes(utoipa_axum::routes!(redeem))
}

fn bad_proof(what: &str) -> ApiError {
    ApiError::new(ErrorCode::BadProof, format!("The {what} does not verify."))
}

/// Checks a display name people will see: 1 to 200 characters, no control characters.
pub fn validate_display_name(field: &str, s: &str) -> Result<(), ApiError> {
    if s.trim().is_empty() || s.chars().count() > 200 || s.chars().any(char::is_control) {
        return Err(ApiError::new(
            ErrorCode::InvalidBody,
            format!("{field} must be 1 to 200 characters without control characters."),
        ));
    }
    Ok(())
}

/// A plausible e-mail address: one `@`, no spaces, at most 254 characters.
pub fn validate_email(s: &str) -> Result<(), ApiError> {
    if is_email(s) {
        Ok(())
    } else {
        Err(ApiError::new(ErrorCode::InvalidEmail, format!("{s:?} is not an e-mail address.")))
    }
}

crate::api_errors!(RedeemErrors: InviteNotFound, NumberTaken, KeyExists, OrgExists, BundleExists, InviteUsed, InviteExpired, InviteRevoked, BadProof, BadBundle, NumberNotInInvite, InvalidNumber, InvalidEmail, InvalidBody);
/// Redeems an invite: creates the org, its numbers, its first bundle and API
/// key, and an admin user, whose single-use passkey setup link is answered.
#[utoipa::path(
    post, path = "/invites/redeem", operation_id = "redeem_invite", tag = "onboarding",
    security(()),
    request_body = RedeemRequest,
    responses((status = 201, description = "The org joined the relay.", body = RedeemResponse), RedeemErrors),
)]
async fn redeem(
    State(state): State<AppState>, ClientAddress(address): ClientAddress, ApiJson(req): ApiJson<RedeemRequest>,
) -> Result<(StatusCode, ApiJson<RedeemResponse>), ApiError> {
    // Shapes. Signed fields are validated, never normalised.
    validate_display_name("org_name", &req.org_name)?;
    validate_email(&req.admin_email)?;
    if req.numbers.is_empty() {
        return Err(ApiError::new(ErrorCode::InvalidNumber, "At least one fax number is required."));
    }
    for (i, n) in req.numbers.iter().enumerate() {
        e164::check(n).map_err(|e| ApiError::new(ErrorCode::InvalidNumber, e.to_string()))?;
        if n == fxe_protocol::api::ECHO_NUMBER {
            return Err(ApiError::new(ErrorCode::NumberTaken, format!("{n} is the relay's echo number.")));
        }
        if req.numbers[..i].contains(n) {
            return Err(ApiError::new(ErrorCode::InvalidNumber, format!("{n} is listed twice.")));
        }
    }
    let identity_pub =
        encoding::b64u_fixed::<32>("identity_pub", &req.identity_pub).map_err(|_| bad_proof("identity key"))?;
    fxe_protocol::sign::parse_public("identity_pub", &identity_pub).map_err(|_| bad_proof("identity key"))?;
    let org_id = fxe_protocol::ids::org_id(&identity_pub);

    // The bundle: signed by this identity, for this org.
    req.bundle.verify(&identity_pub).map_err(|e| {
        ApiError::new(ErrorCode::BadBundle, format!("The bundle does not verify against the identity key: {e}."))
    })?;
    // Dated at most a day ahead, as for `POST /bundles`: a bundle from the far
    // future would make every later rotation a rollback.
    i64::try_from(req.bundle.created_at)
        .ok()
        .filter(|t| *t <= state.clock.now_secs() + MAX_BUNDLE_CLOCK_AHEAD_SECS)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::BadBundle,
                "The bundle's created_at is in the future; check the clock of the machine that made it.",
            )
        })?;

    // The API key: proof of possession over org, key id and scopes.
    apikey::validate_scopes(&req.api_key.scopes).map_err(|e| ApiError::new(ErrorCode::InvalidBody, e.to_string()))?;
    let api_pub =
        encoding::b64u_fixed::<32>("api_key.public_key", &req.api_key.public_key).map_err(|_| bad_proof("API key"))?;
    let api_proof =
        encoding::b64u_fixed::<64>("api_key.proof", &req.api_key.proof).map_err(|_| bad_proof("API key proof"))?;
    apikey::verify_registration(&api_pub, &org_id, &req.api_key.scopes, &api_proof)
        .map_err(|_| bad_proof("API key proof"))?;
    let key_id = apikey::key_id(&api_pub);
    let label = req.api_key.label.clone().unwrap_or_else(|| "created at redemption".into());

    // The identity's proof over everything asserted.
    let proof = encoding::b64u_fixed::<64>("proof", &req.proof).map_err(|_| bad_proof("redemption proof"))?;
    RedeemClaims {
        token: &req.token,
        org_name: &req.org_name,
        numbers: &req.numbers,
        admin_email: &req.admin_email,
        bundle_id: &req.bundle.bundle_id,
        api_key_id: &key_id,
    }
    .verify(&identity_pub, &proof)
    .map_err(|_| bad_proof("redemption proof (identity signature)"))?;

    let now = state.clock.now_secs();
    let mut tx = state.db.begin_write().await?;
    let Some(invite) = invites::by_token(&mut tx, &req.token).await? else {
        return Err(ApiError::new(
            ErrorCode::InviteNotFound,
            "This invite token is not known to the relay; check the link.",
        ));
    };
    match invite.state(now) {
        InviteState::Used if invite.used_by_org_id.as_deref() == Some(org_id.as_str()) => {
            // The same org again (its identity signed this request): a retry of
            // an interrupted redemption, answered with a new setup link while
            // the org has never been used (docs/api.md, "Redemption retries").
            let retried = Retry { req: &req, org_id: &org_id, key_id: &key_id };
            let user_id = retried.admin_to_enrol(&mut tx).await?;
            setup_links::expire_unused(&mut tx, &user_id, now).await?;
            let token = setup_links::create(&mut tx, &user_id, SetupLinkPurpose::Enrol, now).await?;
            let actor = Actor {
                kind: ActorKind::User,
                id: Some(user_id.to_string()),
                label: Some(req.admin_email.clone()),
                address,
            };
            let entry = audit::Entry {
                at_ms: state.clock.now_ms(),
                org_id: Some(&org_id),
                actor: &actor,
                action: "org.redemption_retried",
                target: Some(org_id.as_str()),
                detail: None,
            };
            audit::write(&mut tx, entry).await?;
            let org = orgs::org_view(&mut tx, &org_id)
                .await?
                .ok_or_else(|| ApiError::internal("org vanished during redemption"))?;
            tx.commit().await?;
            tracing::info!(org_id = %org_id, "redemption retried");
            return Ok((
                StatusCode::CREATED,
                ApiJson(RedeemResponse { org, setup_url: setup_links::url(&state.config.public_origin(), &token) }),
            ));
        }
        InviteState::Used => {
            return Err(ApiError::new(ErrorCode::InviteUsed, "This invite has already been redeemed."));
        }
        InviteState::Revoked => {
            return Err(ApiError::new(ErrorCode::InviteRevoked, "This invite was revoked by the relay operator."));
        }
        InviteState::Expired => {
            return Err(ApiError::new(
                ErrorCode::InviteExpired,
                "This invite has expired; ask the relay operator for a new one.",
            ));
        }
        InviteState::Active => {}
    }
    if !invite.numbers.is_empty()
        && let Some(n) = req.numbers.iter().find(|n| !invite.numbers.contains(n))
    {
        return Err(ApiError::new(
            ErrorCode::NumberNotInInvite,
            format!("{n} is not one of the numbers this invite allows ({}).", invite.numbers.join(", ")),
        ));
    }
    if orgs::get(&mut tx, &org_id).await?.is_some() {
        return Err(ApiError::new(ErrorCode::OrgExists, "An org with this identity key is already on the relay."));
    }
    for n in &req.numbers {
        if orgs::number_holder(&mut tx, n).await?.is_some() {
            return Err(ApiError::new(
                ErrorCode::NumberTaken,
                format!("{n} already belongs to another org on this relay."),
            ));
        }
    }
    if api_keys::exists(&mut tx, &key_id).await? {
        return Err(ApiError::new(ErrorCode::KeyExists, "This API key is already registered."));
    }

    let used = invites::mark_used(&mut tx, &invite.id, &org_id, now).await?;
    if !used {
        return Err(ApiError::new(ErrorCode::InviteUsed, "This invite has already been redeemed."));
    }
    // ON CONFLICT: a concurrent redemption (PostgreSQL runs them side by side)
    // that took the org, a number or the key first makes this one a clean 409.
    let new_org = NewOrg {
        org_id: &org_id,
        org_name: &req.org_name,
        identity_pub: &req.identity_pub,
        created_at: now,
        is_echo: false,
    };
    if !orgs::insert(&mut tx, new_org).await? {
        return Err(ApiError::new(ErrorCode::OrgExists, "An org with this identity key is already on the relay."));
    }
    for n in &req.numbers {
        if !orgs::insert_number(&mut tx, n, &org_id, true, now).await? {
            return Err(ApiError::new(
                ErrorCode::NumberTaken,
                format!("{n} already belongs to another org on this relay."),
            ));
        }
    }
    if !orgs::publish_bundle(&mut tx, &org_id, &req.bundle, now).await? {
        return Err(ApiError::new(ErrorCode::BundleExists, "This bundle is already published on the relay."));
    }
    let new_key = NewApiKey {
        key_id: &key_id,
        org_id: &org_id,
        public_key: &req.api_key.public_key,
        scopes: &req.api_key.scopes,
        label: &label,
        created_at: now,
    };
    if !api_keys::insert(&mut tx, new_key).await? {
        return Err(ApiError::new(ErrorCode::KeyExists, "This API key is already registered."));
    }
    let user_id = UserId::generate().map_err(ApiError::internal)?;
    users::insert(&mut tx, &user_id, Some(&org_id), &req.admin_email, UserRole::Admin, now).await?;
    let token = setup_links::create(&mut tx, &user_id, SetupLinkPurpose::Enrol, now).await?;
    let actor =
        Actor { kind: ActorKind::User, id: Some(user_id.to_string()), label: Some(req.admin_email.clone()), address };
    for (action, target) in [
        ("org.redeemed", org_id.as_str()),
        ("bundle.published", req.bundle.bundle_id.as_str()),
        ("api_key.created", key_id.as_str()),
        ("user.added", user_id.as_str()),
    ] {
        audit::write(
            &mut tx,
            audit::Entry {
                at_ms: state.clock.now_ms(),
                org_id: Some(&org_id),
                actor: &actor,
                action,
                target: Some(target),
                detail: None,
            },
        )
        .await?;
    }
    let org =
        orgs::org_view(&mut tx, &org_id).await?.ok_or_else(|| ApiError::internal("org vanished during redemption"))?;
    tx.commit().await?;
    tracing::info!(org_id = %org_id, numbers = ?req.numbers, "invite redeemed");
    Ok((
        StatusCode::CREATED,
        ApiJson(RedeemResponse { org, setup_url: setup_links::url(&state.config.public_origin(), &token) }),
    ))
}

/// A redemption sent again by the org that redeemed the invite (its identity
/// signed it): accepted only while nothing but the redemption itself exists.
struct Retry<'a> {
    req: &'a RedeemRequest,
    org_id: &'a str,
    key_id: &'a str,
}

impl Retry<'_> {
    /// The org's admin whose passkey is still to be set up, when the retry may
    /// go ahead: the request is the one that redeemed the invite (same name,
    /// numbers, admin, bundle and API key), the org is not disabled, nobody in
    /// it has a passkey, and it has no other bundle, API key, member or
    /// message. Otherwise 410 `invite_used`, saying why.
    async fn admin_to_enrol(&self, conn: &mut sqlx::AnyConnection) -> Result<String, ApiError> {
        let used = |why: &str| {
            ApiError::new(
                ErrorCode::InviteUsed,
                format!("This invite has already been redeemed by this organization, and {why}."),
            )
        };
        let req = self.req;
        let Some(org) = orgs::get(conn, self.org_id).await? else {
            return Err(used("the organization is no longer on the relay"));
        };
        if org.disabled_at.is_some() {
            return Err(used("the organization is disabled"));
        }
        let mut numbers: Vec<String> = orgs::numbers(conn, self.org_id).await?.into_iter().map(|n| n.number).collect();
        let mut asked = req.numbers.clone();
        numbers.sort();
        asked.sort();
        if org.org_name != req.org_name || numbers != asked {
            return Err(used("the name or numbers differ from the first redemption"));
        }
        let bundles = orgs::bundles(conn, self.org_id).await?;
        if bundles.len() != 1 || bundles.iter().any(|b| b.bundle.bundle_id != req.bundle.bundle_id) {
            return Err(used("its keys differ from the first redemption (use the keys.zip saved then)"));
        }
        let key_is_the_first = api_keys::is_revoked(conn, self.org_id, self.key_id).await? == Some(false);
        if !key_is_the_first || api_keys::live_count(conn, self.org_id).await? != 1 {
            return Err(used("its API keys differ from the first redemption"));
        }
        if crate::db::messages::count_of_org(conn, self.org_id).await? != 0 {
            return Err(used("it has already sent or received faxes"));
        }
        let members = users::members(conn, self.org_id).await?;
        match members.as_slice() {
            [admin] if admin.passkeys == 0 && admin.email == req.admin_email => Ok(admin.id.clone()),
            [admin] if admin.passkeys == 0 => Err(used("the admin's e-mail address differs from the first redemption")),
            _ => Err(used("it is in use (a passkey is set up): sign in at /login, or use Lost your passkey?")),
        }
    }
}
