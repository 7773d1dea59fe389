//! Credentials: the configured scheme is sent, and a server that requires auth refuses
//! requests without a token or with a wrong one.

use super::definition::{case, Case};
use crate::context::{fail, CaseResult, Ctx, Stop, Verdict};
use crate::exchange::{AuthMode, Req};
use crate::proxy::TYPED_CLIENT_LABEL;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "auth",
            configured_scheme_is_sent,
            "with --token, the suite and memos_api::Client send the configured scheme and the server accepts it"
        ),
        case!(
            "auth",
            missing_token_rejected,
            "a server that requires auth refuses a request without credentials with 401 or 403"
        ),
        case!(
            "auth",
            wrong_token_rejected,
            "a server that requires auth refuses a request with a wrong token with 401 or 403"
        ),
    ]
}

const NO_AUTH: &str =
    "the server accepts requests without credentials, so it does not require auth \
                       (see security.unauthenticated_requests_accepted)";

async fn configured_scheme_is_sent(ctx: &mut Ctx) -> CaseResult {
    let Some(scheme) = ctx.credential_scheme() else {
        return Err(Stop::NotApplicable(
            "no token configured: pass --token T (and --auth bearer|token)".into(),
        ));
    };
    let ex = ctx
        .send(Req::get(&["users"]).label("a request with the configured credential"))
        .await;
    let sent = ex.sent.authorization.clone().unwrap_or_default();
    if !sent.starts_with(scheme.word()) {
        return fail(format!(
            "the suite sent Authorization {sent:?}, not the {} scheme",
            scheme.word()
        ));
    }
    if matches!(ex.status(), Some(401 | 403)) {
        return fail(format!(
            "the server refused the configured {} credential with {}; check the token and --auth",
            scheme.word(),
            ex.status().unwrap_or_default()
        ));
    }
    ex.expect_success()?;
    let client = ctx.typed_client().await?;
    client.list_users().await.map_err(|e| {
        Stop::Fail(format!(
            "memos_api::Client::list_users with the configured credential: {}",
            memos_text::with_causes(&e)
        ))
    })?;
    let typed = ctx
        .exchanges()
        .into_iter()
        .rev()
        .find(|e| e.label == TYPED_CLIENT_LABEL);
    match typed.and_then(|e| e.sent.authorization) {
        Some(a) if a.starts_with(scheme.word()) => Ok(Verdict::Pass),
        other => fail(format!(
            "memos_api::Client sent Authorization {other:?}, not the configured {} scheme",
            scheme.word()
        )),
    }
}

/// `Ok(true)` when a request without credentials is refused with 401/403.
async fn requires_auth(ctx: &Ctx) -> Result<bool, Stop> {
    let ex = ctx
        .send(
            Req::get(&["users"])
                .auth(AuthMode::Omit)
                .auth_probe()
                .label("a request without credentials"),
        )
        .await;
    match ex.status() {
        Some(401 | 403) => Ok(true),
        Some(s) if (200..300).contains(&s) => Ok(false),
        _ => fail(format!(
            "{} without credentials answered {}; expected 401/403 or, without auth, a success",
            ex.name(),
            crate::check::describe_outcome(&ex.outcome)
        )),
    }
}

async fn missing_token_rejected(ctx: &mut Ctx) -> CaseResult {
    if requires_auth(ctx).await? {
        Ok(Verdict::Pass)
    } else {
        Err(Stop::NotApplicable(NO_AUTH.into()))
    }
}

async fn wrong_token_rejected(ctx: &mut Ctx) -> CaseResult {
    if !requires_auth(ctx).await? {
        return Err(Stop::NotApplicable(NO_AUTH.into()));
    }
    let ex = ctx
        .send(
            Req::get(&["users"])
                .auth(AuthMode::Wrong)
                .auth_probe()
                .label("a request with a wrong token"),
        )
        .await;
    match ex.status() {
        Some(401 | 403) => Ok(Verdict::Pass),
        _ => fail(format!(
            "{} with a wrong token answered {}; a server that refuses missing credentials must refuse wrong ones with 401/403",
            ex.name(),
            crate::check::describe_outcome(&ex.outcome)
        )),
    }
}
