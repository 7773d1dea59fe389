//! Known server defects, keyed by server version and storage backend.
//!
//! The key is `"<info.title> <info.version>"` of the server's own `/openapi.json` (what
//! FastAPI publishes), read by the `meta.server_version` case, or given with
//! `--server-version`. The reference server, `memos.api.start_api:app` of PyPI
//! `MemoryOS==2.0.10`, publishes `MemOS REST APIs 1.0.0`. That version string does not
//! change with every MemoryOS release, which is what we want: when a release fixes a
//! defect, its case passes, is reported as "defect fixed", and the entry can go.
//!
//! Within a version's list each entry names the backends it is seen with: the same
//! server answers PUT and a single DELETE differently with `naive_text`, `general_text`
//! and `tree_text` (see [`Backend`]).
//!
//! A listed case counts as a known defect only when it fails *the way the entry says*
//! (its reason or a failed check mentions one of the entry's signatures); failing in
//! another way (a timeout, a new status) is a real failure.

use crate::api::Api;
use crate::backend::Backend;
use crate::product::defects::{DEFECTS as PRODUCT_DEFECTS, PRODUCT_KEY};

/// Every backend.
const ANY: &[Backend] = &Backend::ALL;
/// The backends that list memories as a list and fail PUT alike.
const LISTS_ONLY: &[Backend] = &[Backend::NaiveText, Backend::GeneralText];
const NAIVE: &[Backend] = &[Backend::NaiveText];
const GENERAL: &[Backend] = &[Backend::GeneralText];
const TREE: &[Backend] = &[Backend::TreeText];

/// One known defect.
#[derive(Debug, Clone, Copy)]
pub struct KnownDefect {
    /// The case that fails because of it.
    pub case: &'static str,
    /// The backends it is seen with.
    pub backends: &'static [Backend],
    /// What the real server does.
    pub behaviour: &'static str,
    /// Texts, any of which the failure must mention.
    pub signatures: &'static [&'static str],
}

/// The defects of one server version.
#[derive(Debug, Clone, Copy)]
pub struct DefectList {
    /// The version key.
    pub key: &'static str,
    /// The API the server speaks.
    pub api: Api,
    /// Which server this is.
    pub server: &'static str,
    /// Its defects.
    pub defects: &'static [KnownDefect],
}

impl DefectList {
    /// The entry for a case on `backend`.
    pub fn get(&self, case: &str, backend: Backend) -> Option<&'static KnownDefect> {
        self.defects
            .iter()
            .find(|d| d.case == case && d.backends.contains(&backend))
    }

    /// Every entry seen with `backend`.
    pub fn for_backend(&self, backend: Backend) -> impl Iterator<Item = &'static KnownDefect> {
        self.defects
            .iter()
            .filter(move |d| d.backends.contains(&backend))
    }
}

impl KnownDefect {
    /// Whether a failure (its reason and failed-check details) is this defect.
    pub fn matches(&self, failure_text: &str) -> bool {
        self.signatures.iter().any(|s| failure_text.contains(s))
    }
}

/// The key the reference server publishes.
pub const REFERENCE_KEY: &str = "MemOS REST APIs 1.0.0";

/// Every known list.
pub static LISTS: &[DefectList] = &[REFERENCE_LIST, PRODUCT_LIST];

/// The product server's list (see [`crate::product`]).
const PRODUCT_LIST: DefectList = DefectList {
    key: PRODUCT_KEY,
    api: Api::Product,
    server: "MemoryOS 2.0.33 (memos.api.server_api:app) on the PostgreSQL graph store, the product reference server",
    defects: PRODUCT_DEFECTS,
};

/// The reference server's list.
const REFERENCE_LIST: DefectList = DefectList {
    key: REFERENCE_KEY,
    api: Api::V1,
    server: "MemoryOS 2.0.10 (memos.api.start_api:app), the reference server",
    defects: &[
        KnownDefect {
            case: "create_user.role_defaults_to_user",
            backends: ANY,
            behaviour: "a body without `role` gets 400 \"'user' is not a valid UserRole\" (the server's own default is lower case)",
            signatures: &["is not a valid UserRole"],
        },
        KnownDefect {
            case: "register_cube.rejects_missing_directory",
            backends: ANY,
            behaviour: "a directory that does not exist gives 500 after the server tries `git clone https://huggingface.co/datasets/<path>`",
            signatures: &["git", "HTTP 500", "answered 500"],
        },
        KnownDefect {
            case: "share_cube.target_user_gains_access",
            backends: ANY,
            behaviour: "share checks the cube with swapped arguments: 400 \"User '<cube_id>' does not exist or is inactive\"",
            signatures: &["does not exist or is inactive"],
        },
        KnownDefect {
            case: "add_memories.doc_path_is_listed",
            backends: ANY,
            behaviour: "a doc_path directory with documents answers 200 but stores nothing (the document reader fails on the chunker's output; the error goes only to the server log)",
            signatures: &["stored nothing"],
        },
        KnownDefect {
            case: "list_memories.unloaded_cube_is_4xx",
            backends: ANY,
            behaviour: "listing a cube that is registered but not loaded gives 500 with the quoted cube id (a KeyError)",
            signatures: &["answered 500", "HTTP 500"],
        },
        KnownDefect {
            case: "get_memory.returns_listed_memory",
            backends: ANY,
            behaviour: "never succeeds: 400 \"1 validation error for MemoryResponse ... Input should be a valid dictionary [type=dict_type ...]\"",
            signatures: &["dict_type"],
        },
        KnownDefect {
            case: "update_memory.update_reads_back",
            backends: LISTS_ONLY,
            behaviour: "always 500 \"NaiveTextMemory.update() got an unexpected keyword argument 'memories'\" (GeneralTextMemory's with general_text); the memory is unchanged",
            signatures: &["unexpected keyword argument"],
        },
        KnownDefect {
            case: "update_memory.rejects_unknown_cube",
            backends: ANY,
            behaviour: "an unknown cube gives 500 \"MemCube with ID <id> does not exist. please regiester\" (an assertion before the access check)",
            signatures: &["please regiester"],
        },
        KnownDefect {
            case: "delete_memory.rejects_unknown_cube",
            backends: ANY,
            behaviour: "an unknown cube gives 500 \"MemCube with ID <id> does not exist. please regiester\"",
            signatures: &["please regiester"],
        },
        KnownDefect {
            case: "delete_memory.matches_whole_ids_only",
            backends: NAIVE,
            behaviour: "ids are matched by substring: deleting two ids concatenated deletes both memories",
            signatures: &["substring"],
        },
        KnownDefect {
            case: "delete_all_memories.rejects_unknown_cube",
            backends: ANY,
            behaviour: "an unknown cube gives 500 \"MemCube with ID <id> does not exist. please regiester\"",
            signatures: &["please regiester"],
        },
        KnownDefect {
            case: "chat.rejects_unknown_user",
            backends: ANY,
            behaviour: "an unknown user_id is not validated: 200 with an answer built from no memories",
            signatures: &["succeeded (200"],
        },
        KnownDefect {
            case: "client.get_memory",
            backends: ANY,
            behaviour: "memos_api::Client::get_memory gets the server's 400 dict_type (see get_memory.returns_listed_memory)",
            signatures: &["dict_type"],
        },
        KnownDefect {
            case: "client.update_memory",
            backends: LISTS_ONLY,
            behaviour: "memos_api::Client::update_memory gets the server's 500 (see update_memory.update_reads_back)",
            signatures: &["unexpected keyword argument"],
        },
        KnownDefect {
            case: "client.share_cube",
            backends: ANY,
            behaviour: "memos_api::Client::share_cube gets the server's 400 (see share_cube.target_user_gains_access)",
            signatures: &["does not exist or is inactive"],
        },
        KnownDefect {
            case: "update_memory.update_reads_back",
            backends: TREE,
            behaviour: "answers 200 but changes nothing: the memory reads as before",
            signatures: &["after the update the memory reads"],
        },
        KnownDefect {
            case: "client.update_memory",
            backends: TREE,
            behaviour: "memos_api::Client::update_memory gets the server's 200, but nothing changed (see update_memory.update_reads_back)",
            signatures: &["after update_memory the memory reads"],
        },
        KnownDefect {
            case: "delete_memory.deleted_memory_is_gone",
            backends: GENERAL,
            behaviour: "never deletes: 400 \"1 validation error for PointIdsList ... Input should be a valid list [type=list_type ...]\" (the id is passed to Qdrant as a string, not a list)",
            signatures: &["PointIdsList", "list_type"],
        },
        KnownDefect {
            case: "client.delete_memory",
            backends: GENERAL,
            behaviour: "memos_api::Client::delete_memory gets the server's 400 PointIdsList (see delete_memory.deleted_memory_is_gone)",
            signatures: &["PointIdsList", "list_type"],
        },
        KnownDefect {
            case: "delete_memory.deleted_memory_is_gone",
            backends: TREE,
            behaviour: "answers 200 but deletes nothing: the memory is still listed",
            signatures: &["the deleted memory is still listed"],
        },
        KnownDefect {
            case: "client.delete_memory",
            backends: TREE,
            behaviour: "memos_api::Client::delete_memory gets the server's 200, but the memory is still listed (see delete_memory.deleted_memory_is_gone)",
            signatures: &["the deleted memory is still in the typed list"],
        },
    ],
};

/// The list for a version key.
pub fn list_for(key: &str) -> Option<&'static DefectList> {
    LISTS.iter().find(|l| l.key == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_case_exists_once_per_backend() {
        for list in LISTS {
            let names: Vec<&str> = crate::cases::all_for(list.api)
                .iter()
                .map(|c| c.name)
                .collect();
            for (i, d) in list.defects.iter().enumerate() {
                assert!(
                    names.contains(&d.case),
                    "{} lists unknown case {}",
                    list.key,
                    d.case
                );
                assert!(
                    !list.defects[..i]
                        .iter()
                        .any(|e| e.case == d.case
                            && e.backends.iter().any(|b| d.backends.contains(b))),
                    "{} lists {} twice for one backend",
                    list.key,
                    d.case
                );
                assert!(!d.signatures.is_empty() && !d.backends.is_empty());
            }
        }
    }

    #[test]
    fn entries_differ_by_backend() {
        let list = list_for(REFERENCE_KEY).expect("the reference list");
        let behaviour = |case: &str, b: Backend| list.get(case, b).map(|d| d.behaviour);
        assert!(behaviour("delete_memory.deleted_memory_is_gone", Backend::NaiveText).is_none());
        assert!(
            behaviour("delete_memory.deleted_memory_is_gone", Backend::GeneralText)
                .is_some_and(|t| t.contains("PointIdsList"))
        );
        assert!(behaviour("delete_memory.matches_whole_ids_only", Backend::TreeText).is_none());
        assert_eq!(
            behaviour("get_memory.returns_listed_memory", Backend::TreeText),
            behaviour("get_memory.returns_listed_memory", Backend::NaiveText)
        );
    }
}
