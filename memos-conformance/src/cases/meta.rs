//! Facts about the server the rest of the run depends on.

use serde_json::Value;

use super::definition::{case, Case};
use crate::context::{fail, CaseResult, Ctx, Stop, Verdict, PATCHES_KEY};
use crate::exchange::Req;

pub(super) fn cases() -> Vec<Case> {
    vec![case!(
        "meta",
        server_version,
        "reads info.title and info.version of the server's /openapi.json to choose the known-defect list"
    )]
}

async fn server_version(ctx: &mut Ctx) -> CaseResult {
    let ex = ctx
        .send(Req::get(&["openapi.json"]).label("the server's own OpenAPI document"))
        .await;
    match ex.status() {
        None => fail(format!(
            "the server did not answer GET /openapi.json: {}",
            ex.outcome.as_ref().err().cloned().unwrap_or_default()
        )),
        Some(200) => {
            let body = ex.json().unwrap_or(Value::Null);
            let title = body.pointer("/info/title").and_then(Value::as_str);
            let version = body.pointer("/info/version").and_then(Value::as_str);
            let patches: Vec<String> = body
                .pointer("/info")
                .and_then(|info| info.get(PATCHES_KEY))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|p| p.as_str().map(str::to_owned))
                .collect();
            ctx.set_server_patches(patches);
            match (title, version) {
                (Some(t), Some(v)) => {
                    ctx.set_server_version(format!("{t} {v}"));
                    Ok(Verdict::Pass)
                }
                _ => Err(Stop::NotApplicable(
                    "GET /openapi.json has no info.title and info.version; pass --server-version to choose a known-defect list"
                        .into(),
                )),
            }
        }
        Some(status) => Err(Stop::NotApplicable(format!(
            "GET /openapi.json answered {status}; pass --server-version to choose a known-defect list"
        ))),
    }
}
