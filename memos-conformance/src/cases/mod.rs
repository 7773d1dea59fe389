//! The named conformance cases, grouped by endpoint (the spec's operationId) or theme.
//!
//! Every case works only with users and cubes in its own namespace
//! (`<run prefix>-<case name>-...`), so cases are independent, any subset can run, and
//! each case's snapshot stands alone.

mod add_memories;
mod auth;
mod chat;
mod client;
mod configure;
mod create_user;
mod definition;
mod delete_all_memories;
mod delete_memory;
mod get_current_user;
mod get_memory;
mod list_memories;
mod list_users;
mod meta;
mod register_cube;
mod search_memories;
mod security;
mod share_cube;
mod unregister_cube;
mod update_memory;

pub(crate) use definition::case;
pub use definition::Case;

use crate::api::Api;

/// The name of the case that reads the server version; it always runs first.
pub const SERVER_VERSION_CASE: &str = "meta.server_version";

/// Every case of `api`, in run order (the server-version case first).
pub fn all_for(api: Api) -> Vec<Case> {
    match api {
        Api::V1 => all(),
        Api::Product => {
            let mut cases = meta::cases();
            cases.extend(crate::product::cases());
            cases
        }
    }
}

/// Every v1 case, in run order.
pub fn all() -> Vec<Case> {
    let mut cases = Vec::new();
    cases.extend(meta::cases());
    cases.extend(configure::cases());
    cases.extend(create_user::cases());
    cases.extend(list_users::cases());
    cases.extend(get_current_user::cases());
    cases.extend(register_cube::cases());
    cases.extend(unregister_cube::cases());
    cases.extend(share_cube::cases());
    cases.extend(add_memories::cases());
    cases.extend(list_memories::cases());
    cases.extend(get_memory::cases());
    cases.extend(update_memory::cases());
    cases.extend(delete_memory::cases());
    cases.extend(delete_all_memories::cases());
    cases.extend(search_memories::cases());
    cases.extend(chat::cases());
    cases.extend(auth::cases());
    cases.extend(security::cases());
    cases.extend(client::cases());
    cases
}

/// Whether `name` matches a `--case` pattern: `*` and `?` are wildcards; a pattern
/// without them matches any name containing it.
pub fn matches(pattern: &str, name: &str) -> bool {
    if !pattern.contains(['*', '?']) {
        return name.contains(pattern);
    }
    glob(pattern.as_bytes(), name.as_bytes())
}

fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_grouped() {
        let cases = all();
        for (i, c) in cases.iter().enumerate() {
            assert!(c.name.starts_with(&format!("{}.", c.group)), "{}", c.name);
            assert!(
                !cases[..i].iter().any(|d| d.name == c.name),
                "duplicate {}",
                c.name
            );
            assert!(
                !c.purpose.is_empty() && !c.purpose.contains('\n'),
                "{}",
                c.name
            );
        }
        assert_eq!(cases[0].name, SERVER_VERSION_CASE);
    }

    #[test]
    fn every_operation_has_a_success_case() {
        let spec = crate::spec::Spec::embedded().expect("spec");
        let cases = all();
        for op in &spec.operations {
            assert!(
                cases.iter().any(|c| c.group == op.id),
                "no case group for operation {}",
                op.id
            );
            assert!(
                cases.iter().any(|c| c.name == format!("client.{}", op.id)),
                "no typed-client case for operation {}",
                op.id
            );
        }
    }

    #[test]
    fn patterns_select_cases() {
        assert!(matches("add_memories.*", "add_memories.content_is_listed"));
        assert!(matches("*.rejects_*", "chat.rejects_unknown_user"));
        assert!(!matches("chat.*", "add_memories.x"));
        assert!(matches(
            "security",
            "security.doc_path_walks_named_directories"
        ));
        assert!(matches("get_?emory.*", "get_memory.x"));
    }
}
