//! Security probes. What they find is reported as a warning with its risk and fix, not
//! as a failure. Every probe acts only on users and cubes of its own namespace, except
//! the `/configure` probe, which needs `--allow-configure` (and sends a body the server
//! must refuse).

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{json, Value};

use super::definition::{case, Case};
use super::get_memory::user_cube_memory;
use crate::check::describe_outcome;
use crate::context::{fail, warning, CaseResult, Ctx, Stop, Verdict};
use crate::exchange::{AuthMode, Req};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "security",
            unauthenticated_requests_accepted,
            "warns when a request without credentials is answered instead of refused with 401/403"
        ),
        case!(
            "security",
            caller_can_act_as_any_user,
            "warns when one caller, with the same credentials, can act as two different user_ids"
        ),
        case!(
            "security",
            install_cube_ids_reads_other_users_cube,
            "warns when a user without access reads another user's cube through install_cube_ids in /search"
        ),
        case!(
            "security",
            other_users_cube_can_be_unloaded,
            "warns when a user without access can unregister another user's cube"
        ),
        case!(
            "security",
            doc_path_walks_named_directories,
            "warns when doc_path makes the server read a server-side directory the caller names"
        ),
        case!(
            "security",
            errors_leak_internals,
            "warns when an error message carries exception text or server paths"
        ),
        case!(
            "security",
            configure_open_to_anyone,
            "warns when POST /configure handles a request without credentials (--allow-configure)"
        ),
    ]
}

fn is_success(status: Option<u16>) -> bool {
    status.is_some_and(|s| (200..300).contains(&s))
}

fn credentials_text(ctx: &Ctx) -> String {
    match ctx.credential_scheme() {
        Some(s) => format!("the same {} token", s.word()),
        None => "no credentials".to_owned(),
    }
}

async fn unauthenticated_requests_accepted(ctx: &mut Ctx) -> CaseResult {
    let ex = ctx
        .send(
            Req::get(&["users"])
                .auth(AuthMode::Omit)
                .auth_probe()
                .label("list users without credentials"),
        )
        .await;
    match ex.status() {
        Some(401 | 403) => Ok(Verdict::Pass),
        s if is_success(s) => warning(
            "requests without credentials are accepted",
            "anyone who can reach the server can read, change and delete every user's memories",
            "require a token on every request (e.g. an authenticating reverse proxy) and expose the server only to trusted networks",
            format!("GET /users without an Authorization header answered {}", describe_outcome(&ex.outcome)),
        ),
        _ => fail(format!(
            "GET /users without credentials answered {}; expected 401/403 or a success",
            describe_outcome(&ex.outcome)
        )),
    }
}

async fn caller_can_act_as_any_user(ctx: &mut Ctx) -> CaseResult {
    let (alice, alice_cube) = ctx.user_with_cube("alice").await?;
    let (bob, bob_cube) = ctx.user_with_cube("bob").await?;
    let mut answers = Vec::new();
    for (user, cube) in [(&alice, &alice_cube), (&bob, &bob_cube)] {
        let ex = ctx
            .send(
                Req::get(&["memories"])
                    .query("mem_cube_id", cube)
                    .query("user_id", user)
                    .label("the same caller acts as another user_id"),
            )
            .await;
        answers.push(ex.status());
    }
    if answers.iter().all(|s| is_success(*s)) {
        warning(
            "any caller can act as any user_id",
            "the user_id in the request alone picks the acting user, so one caller can read and change every user's memories",
            "derive the acting user from the authenticated credential and refuse a user_id that does not belong to it",
            format!(
                "with {}, GET /memories as {alice} and as {bob} both answered 200",
                credentials_text(ctx)
            ),
        )
    } else {
        Ok(Verdict::Pass)
    }
}

async fn install_cube_ids_reads_other_users_cube(ctx: &mut Ctx) -> CaseResult {
    let secret = "Alice's safe code is 4711.";
    let (_, alice_cube, _) = user_cube_memory(ctx, "alice", secret).await?;
    let (bob, _) = ctx.user_with_cube("bob").await?;
    let ex = ctx
        .send(
            Req::post(&["search"])
                .json(
                    json!({"user_id": bob, "query": "safe code", "install_cube_ids": [alice_cube]}),
                )
                .label("bob searches alice's cube by naming it"),
        )
        .await;
    let leaked = ex.json().is_some_and(|body| {
        body.pointer("/data/text_mem")
            .and_then(Value::as_array)
            .is_some_and(|entries| entries.iter().any(|e| e.to_string().contains("4711")))
    });
    if is_success(ex.status()) && leaked {
        warning(
            "install_cube_ids reads another user's cube",
            "any user can search any loaded cube by naming it, bypassing the access checks of the other endpoints",
            "check the acting user's access to every cube in install_cube_ids, as GET /memories does, and refuse the others",
            format!("bob, never given access, searched alice's cube {alice_cube} and got her memory {secret:?}"),
        )
    } else {
        Ok(Verdict::Pass)
    }
}

async fn other_users_cube_can_be_unloaded(ctx: &mut Ctx) -> CaseResult {
    let (_, alice_cube) = ctx.user_with_cube("alice").await?;
    let mallory = ctx.create_user("mallory").await?;
    let ex = ctx
        .send(
            Req::delete(&["mem_cubes", &alice_cube])
                .query("user_id", &mallory)
                .label("mallory unregisters alice's cube"),
        )
        .await;
    if is_success(ex.status()) {
        ctx.forget_cube(&alice_cube);
        warning(
            "another user's cube can be unloaded",
            "any caller can unload any cube, dropping its in-memory memories and denying service to its owner",
            "check that the acting user owns (or may manage) the cube before unregistering it",
            format!("mallory, without access, unregistered alice's cube {alice_cube}: {}", describe_outcome(&ex.outcome)),
        )
    } else {
        Ok(Verdict::Pass)
    }
}

async fn doc_path_walks_named_directories(ctx: &mut Ctx) -> CaseResult {
    let cube_path = ctx.cube_path()?;
    ctx.require_destructive_for(
        "posts the cube directory as doc_path, which makes a server whose doc_path works ingest its \
         config.json (LLM keys, database passwords) as memories",
    )?;
    let (user, cube) = ctx.user_with_cube("owner").await?;
    let named = ctx
        .send(
            Req::post(&["memories"])
                .json(json!({"user_id": user, "mem_cube_id": cube, "doc_path": cube_path}))
                .label("doc_path names a server directory (the cube directory)"),
        )
        .await;
    let missing_dir = format!("/{}-no-such-directory", ctx.namespace());
    let missing = ctx
        .send(
            Req::post(&["memories"])
                .json(json!({"user_id": user, "mem_cube_id": cube, "doc_path": missing_dir}))
                .label("doc_path names a directory that does not exist"),
        )
        .await;
    if is_success(named.status()) {
        warning(
            "doc_path walks server-side directories the caller names",
            "callers can make the server read and ingest any directory it can read (configs, keys) and probe which directories exist",
            "accept only paths under a configured documents root (after resolving symlinks and ..), or take uploads instead of server paths",
            format!(
                "doc_path {cube_path:?} (a cube directory holding config.json) answered {}, a missing directory answered {}",
                describe_outcome(&named.outcome),
                describe_outcome(&missing.outcome)
            ),
        )
    } else {
        Ok(Verdict::Pass)
    }
}

static LEAK_MARKERS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(validation errors? for \w+|Traceback|\[Errno \d+\]|errors\.pydantic\.dev|",
        r"unexpected keyword argument|File .+\.py|\w+(Error|Exception)\b|",
        r#"(^|[\s'"(=])/(usr|home|tmp|var|opt|srv|root|etc)/[\w.-]+)"#
    ))
    .expect("valid regex")
});

async fn errors_leak_internals(ctx: &mut Ctx) -> CaseResult {
    let (user, cube) = ctx.user_with_cube("owner").await?;
    let ex = ctx
        .send(
            Req::get(&["memories", &cube, "not-a-uuid"])
                .query("user_id", &user)
                .label("fetch a memory id that is not a UUID"),
        )
        .await;
    let Some(message) = ex.message() else {
        return match ex.status() {
            Some(_) => Ok(Verdict::Pass),
            None => fail(format!(
                "{} got no answer: {}",
                ex.name(),
                describe_outcome(&ex.outcome)
            )),
        };
    };
    let found: Vec<String> = LEAK_MARKERS
        .find_iter(&message)
        .map(|m| m.as_str().trim().to_owned())
        .collect();
    if found.is_empty() {
        return Ok(Verdict::Pass);
    }
    warning(
        "error messages leak server paths and exception text",
        "internal paths, library versions and exception text help an attacker map the server and its dependencies",
        "log exception details on the server and answer a short, generic message (with an error id to correlate)",
        format!(
            "{} answered {} with {:?}; it shows {}",
            ex.name(),
            ex.status().unwrap_or_default(),
            memos_text::one_line(&message, 160),
            found.join(", ")
        ),
    )
}

async fn configure_open_to_anyone(ctx: &mut Ctx) -> CaseResult {
    ctx.require_allow_configure()?;
    let ex = ctx
        .send(
            Req::post(&["configure"])
                .json(json!({"memos_conformance_probe": "an unknown field; the server must not apply this"}))
                .auth(AuthMode::Omit)
                .auth_probe()
                .label("POST /configure without credentials (a body the server must refuse)"),
        )
        .await;
    if is_success(ex.status()) {
        ctx.forget_all_cubes();
        if let Some(body) = ctx.settings().configure_body.clone() {
            ctx.send(
                Req::post(&["configure"])
                    .json(body)
                    .label("restore the operator's configuration"),
            )
            .await;
        }
    }
    match ex.status() {
        Some(401 | 403) => Ok(Verdict::Pass),
        Some(_) => warning(
            "/configure is open to anyone",
            "anyone can replace the server's configuration, repointing its LLM to an address they choose (SSRF, data exfiltration) and dropping every loaded cube",
            "remove /configure from the public API or restrict it to an administrator credential",
            format!(
                "POST /configure without credentials was handled: {} (not 401/403)",
                describe_outcome(&ex.outcome)
            ),
        ),
        None => Err(Stop::Fail(format!(
            "POST /configure got no answer: {}",
            describe_outcome(&ex.outcome)
        ))),
    }
}
