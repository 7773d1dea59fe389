//! Records in doubt against a cube of the `/product` API, found by the marker every record
//! carries.
//!
//! Each add sends `info: {"memos_load_import": <import id>, "memos_load_record": <index>}`
//! and the server keeps `info` verbatim in `metadata.info` of every node it makes of the
//! add (however many). The import id is random per import and saved in the checkpoint
//! before the first record is sent, so a node carrying it was made by this import, and
//! its record index says which record. That makes the check exact: copies of one record
//! are told apart, and what the cube held before needs no baseline.
//!
//! The adds are synchronous (`async_mode: sync`): the answer comes once every node is
//! stored, so a record whose add the server finished has its nodes listed. A record whose
//! add the server itself did not finish (it crashed mid-add) may have some nodes: it is
//! counted present, as the server would not store the rest on its own.
//!
//! The server carries out an add to the end even when the client that sent it is gone,
//! and it serves requests in parallel: an add a killed run had in flight can land *after*
//! the next run read the cube, found the record missing and sent it again. So the marker
//! also names the run that sent the add (`memos_load_run`, random per run), and a record
//! whose nodes come from two runs has a second copy: [`remove_duplicates`] deletes the
//! nodes of all runs but one. It runs on every resume, and again at the end of a run that
//! resumed records in doubt, at least 3 s after the reconciliation (the engine's
//! `LATE_ADD_GRACE`): the killed run's adds were sent before this run started, and the
//! server takes one in well under a second. An add the server holds back longer than this
//! whole run is not seen; its record then has two copies.

use std::collections::{BTreeMap, HashSet};

use memos_api::product;
use memos_api::product::types::{DeleteMemoryRequest, MemoryItem};
use serde_json::Value;

use super::Plan;
use crate::error::LoadError;
use crate::setup::{setup_error, Target};
use crate::summary::Reconciliation;

/// The key of the import id in `info`.
pub(crate) const IMPORT_KEY: &str = "memos_load_import";
/// The key of the record's index in `info`.
pub(crate) const RECORD_KEY: &str = "memos_load_record";
/// The key of the id of the run that sent the add.
pub(crate) const RUN_KEY: &str = "memos_load_run";

/// The ids a record's marker names besides its index.
#[derive(Debug, Clone)]
pub(crate) struct MarkerIds {
    /// The import's (saved in its checkpoint).
    pub import: String,
    /// This run's.
    pub run: String,
}

/// The marker of record `index`, sent as the add's `info` (flat strings).
pub(crate) fn marker(ids: &MarkerIds, index: u64) -> serde_json::Map<String, Value> {
    let mut info = serde_json::Map::new();
    info.insert(IMPORT_KEY.to_owned(), Value::String(ids.import.clone()));
    info.insert(RECORD_KEY.to_owned(), Value::String(index.to_string()));
    info.insert(RUN_KEY.to_owned(), Value::String(ids.run.clone()));
    info
}

/// The record index and run a node of import `import_id` carries, if it is one.
fn marked_record<'a>(item: &'a MemoryItem, import_id: &str) -> Option<(u64, &'a str)> {
    let info = item.metadata.info.as_ref()?;
    if info.get(IMPORT_KEY)?.as_str()? != import_id {
        return None;
    }
    let record = info.get(RECORD_KEY)?.as_str()?.parse().ok()?;
    // Loaders before the run id: one run per node is all that can be said.
    let run = info.get(RUN_KEY).and_then(Value::as_str).unwrap_or("");
    Some((record, run))
}

/// The nodes to delete so that each record of import `import_id` keeps the nodes of one
/// run only (the run whose id sorts first), and how many records had more.
fn duplicate_nodes(nodes: &[MemoryItem], import_id: &str) -> (u64, Vec<String>) {
    let mut by_record: BTreeMap<u64, BTreeMap<&str, Vec<&str>>> = BTreeMap::new();
    for node in nodes {
        if let Some((record, run)) = marked_record(node, import_id) {
            by_record
                .entry(record)
                .or_default()
                .entry(run)
                .or_default()
                .push(&node.id);
        }
    }
    let mut records = 0;
    let mut ids = Vec::new();
    for runs in by_record.values() {
        if runs.len() > 1 {
            records += 1;
            ids.extend(runs.values().skip(1).flatten().map(|id| (*id).to_owned()));
        }
    }
    (records, ids)
}

/// Deletes the second copies of records among `nodes` (see the module docs); returns how
/// many records had one.
pub(crate) async fn remove_duplicates(
    client: &product::Client,
    target: &Target,
    nodes: &[MemoryItem],
    import_id: &str,
) -> Result<u64, LoadError> {
    let (records, ids) = duplicate_nodes(nodes, import_id);
    // A few hundred ids per request keep each body small.
    for chunk in ids.chunks(200) {
        let request = DeleteMemoryRequest::builder()
            .writable_cube_ids(Some(vec![target.cube_id.clone()]))
            .memory_ids(Some(chunk.to_vec()));
        client.delete_memories(request).await.map_err(|source| {
            setup_error(
                &format!(
                    "deleting the second copies of {records} records from cube {:?}",
                    target.cube_id
                ),
                source,
                None,
            )
        })?;
    }
    Ok(records)
}

/// Every node of the target's cube ([`product::Client::get_text_memories`]).
pub(crate) async fn read_nodes(
    client: &product::Client,
    target: &Target,
) -> Result<Vec<MemoryItem>, LoadError> {
    let entries = client
        .get_text_memories(&target.cube_id, Some(&target.user_id))
        .await
        .map_err(|source| {
            setup_error(
                &format!("listing the memories of cube {:?}", target.cube_id),
                source,
                None,
            )
        })?;
    Ok(entries
        .into_iter()
        .flat_map(|entry| entry.memories)
        .collect())
}

/// Which of the records `in_doubt` (indices) the nodes of import `import_id` hold.
pub(crate) fn decide(
    in_doubt: &[u64],
    nodes: &[MemoryItem],
    import_id: &str,
) -> (Reconciliation, Plan) {
    let stored: HashSet<u64> = nodes
        .iter()
        .filter_map(|node| marked_record(node, import_id).map(|(record, _)| record))
        .collect();
    let mut report = Reconciliation {
        in_doubt: in_doubt.len() as u64,
        ..Reconciliation::default()
    };
    let mut plan = Plan::default();
    for &index in in_doubt {
        if stored.contains(&index) {
            report.present += 1;
            plan.present.push(index);
        } else {
            report.missing += 1;
        }
    }
    (report, plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(info: Option<Value>) -> MemoryItem {
        let mut value = serde_json::json!({"id": "n", "memory": "text", "metadata": {}});
        if let Some(info) = info {
            value["metadata"]["info"] = info;
        }
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn only_this_imports_markers_count_and_copies_are_told_apart() {
        let ids = |import: &str| MarkerIds {
            import: import.into(),
            run: "r1".into(),
        };
        let ours = |index: u64| node(Some(Value::Object(marker(&ids("imp"), index))));
        let nodes = vec![
            ours(0),
            ours(0), // a record the server made two nodes of
            ours(2),
            node(Some(Value::Object(marker(&ids("other"), 3)))),
            node(Some(serde_json::json!({IMPORT_KEY: "imp", RECORD_KEY: 4}))), // not a string
            node(Some(
                serde_json::json!({IMPORT_KEY: "imp", RECORD_KEY: "x"}),
            )),
            node(None),
        ];
        // Records 0, 1 and 2 may be identical sessions: the markers still tell them apart.
        let (report, plan) = decide(&[0, 1, 2, 3, 4], &nodes, "imp");
        assert_eq!(plan.present, vec![0, 2]);
        assert_eq!(
            (
                report.in_doubt,
                report.present,
                report.missing,
                report.cannot_tell
            ),
            (5, 2, 3, 0)
        );
        assert!(plan.partial.is_empty());
    }

    #[test]
    fn a_record_with_nodes_of_two_runs_keeps_one_runs() {
        let node_of = |id: &str, import: &str, run: &str, index: u64| {
            let ids = MarkerIds {
                import: import.into(),
                run: run.into(),
            };
            let mut item = node(Some(Value::Object(marker(&ids, index))));
            item.id = id.into();
            item
        };
        let nodes = vec![
            node_of("a1", "imp", "run-b", 0),
            node_of("a2", "imp", "run-b", 0),
            node_of("b1", "imp", "run-a", 0),
            node_of("c1", "imp", "run-a", 1),
            node_of("d1", "imp", "run-b", 2),
            node_of("e1", "other", "run-a", 2),
        ];
        let (records, mut ids) = duplicate_nodes(&nodes, "imp");
        ids.sort();
        assert_eq!((records, ids), (1, vec!["a1".to_owned(), "a2".to_owned()]));
    }
}
