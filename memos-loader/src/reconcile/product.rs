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
//!
//! Anyone who can read the cube sees the markers and can add nodes carrying a copy of
//! one. So a node is the import's own only if its run is one the checkpoint recorded
//! (each run records its id before it sends anything, [`Copies`]); any other node with
//! the import's marker (another run id, or none) is *foreign*: it is never deleted, never
//! makes a record count as stored, and is counted in the report (`foreign_markers`). Of a
//! record's own copies, the one kept is the acknowledged one: the checkpoint records which
//! run's add got the 200 (or whose copy a resume kept), and a sync add's 200 means all of
//! the record's chunks are stored. A record no run acknowledged keeps the copy with the
//! most nodes (a partial copy has fewer), the earliest run's of equals. A checkpoint of an
//! older loader recorded no runs: a record in doubt with only nodes of unknown runs is
//! then sent again and counted as possibly duplicated.
//!
//! The run ids are visible to every reader of the cube: a writer of the cube who copies
//! the marker of a recorded run is trusted like that run. That writer could delete the
//! import's memories anyway; what the check keeps out is markers of runs that were never
//! the import's.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use memos_api::product;
use memos_api::product::types::{DeleteMemoryRequest, MemoryItem};
use serde_json::Value;

use super::Plan;
use crate::checkpoint::RunRecord;
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
fn marked_record<'a>(item: &'a MemoryItem, import_id: &str) -> Option<(u64, Option<&'a str>)> {
    let info = item.metadata.info.as_ref()?;
    if info.get(IMPORT_KEY)?.as_str()? != import_id {
        return None;
    }
    let record = info.get(RECORD_KEY)?.as_str()?.parse().ok()?;
    Some((record, info.get(RUN_KEY).and_then(Value::as_str)))
}

/// The nodes of import `import_id` in a cube, by record and by run, as far as the runs the
/// checkpoint recorded (`runs`) make them the import's own.
#[derive(Debug, Default)]
pub(crate) struct Copies<'a> {
    /// Record -> position of the run in `runs` -> the ids of its nodes.
    own: BTreeMap<u64, BTreeMap<usize, Vec<&'a str>>>,
    /// Records with nodes whose marker names no run the checkpoint knows (or none).
    foreign: BTreeSet<u64>,
    /// How many such nodes.
    foreign_nodes: u64,
}

impl<'a> Copies<'a> {
    pub(crate) fn new(nodes: &'a [MemoryItem], import_id: &str, runs: &[RunRecord]) -> Self {
        let position: HashMap<&str, usize> = runs
            .iter()
            .enumerate()
            .map(|(at, run)| (run.id.as_str(), at))
            .collect();
        let mut copies = Copies::default();
        for node in nodes {
            let Some((record, run)) = marked_record(node, import_id) else {
                continue;
            };
            match run.and_then(|run| position.get(run)) {
                Some(&at) => copies
                    .own
                    .entry(record)
                    .or_default()
                    .entry(at)
                    .or_default()
                    .push(&node.id),
                None => {
                    copies.foreign.insert(record);
                    copies.foreign_nodes += 1;
                }
            }
        }
        copies
    }

    /// The run (position in `runs`) whose copy of `record` is kept: the run recorded as
    /// having acknowledged it, if its copy is there; otherwise the copy with the most nodes
    /// (a run's add stores all of a record's chunks, so fewer means partial), the earliest
    /// run's of equals.
    fn keeper(&self, record: u64, runs: &[RunRecord]) -> Option<usize> {
        let copies = self.own.get(&record)?;
        let acked = copies
            .keys()
            .rev()
            .find(|&&at| runs[at].acked.contains(record));
        acked.copied().or_else(|| {
            copies
                .iter()
                .max_by(|(a, a_ids), (b, b_ids)| a_ids.len().cmp(&b_ids.len()).then(b.cmp(a)))
                .map(|(&at, _)| at)
        })
    }

    /// The nodes to delete so that each record keeps the copy of one run (see
    /// [`Copies::keeper`]), and how many records had more. Only nodes of recorded runs
    /// are ever named.
    fn duplicates(&self, runs: &[RunRecord]) -> (u64, Vec<String>) {
        let mut records = 0;
        let mut ids = Vec::new();
        for (&record, copies) in &self.own {
            if copies.len() < 2 {
                continue;
            }
            let keep = self.keeper(record, runs);
            records += 1;
            for (at, nodes) in copies {
                if Some(*at) != keep {
                    ids.extend(nodes.iter().map(|id| (*id).to_owned()));
                }
            }
        }
        (records, ids)
    }
}

/// Deletes the second copies of records among `nodes` that runs of the checkpoint made
/// (see the module docs); returns how many records had one.
pub(crate) async fn remove_duplicates(
    client: &product::Client,
    target: &Target,
    copies: &Copies<'_>,
    runs: &[RunRecord],
) -> Result<u64, LoadError> {
    let (records, ids) = copies.duplicates(runs);
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

/// Which of the records `in_doubt` (indices) the import's own nodes hold, and which run's
/// copy of each is kept. `earlier_runs_unknown`: the checkpoint did not record the runs of
/// an older loader, so a record with only nodes of unknown runs may be stored.
pub(crate) fn decide(
    in_doubt: &[u64],
    copies: &Copies<'_>,
    runs: &[RunRecord],
    earlier_runs_unknown: bool,
) -> (Reconciliation, Plan) {
    let mut report = Reconciliation {
        in_doubt: in_doubt.len() as u64,
        foreign_markers: copies.foreign_nodes,
        ..Reconciliation::default()
    };
    let mut plan = Plan::default();
    for &index in in_doubt {
        if let Some(at) = copies.keeper(index, runs) {
            report.present += 1;
            plan.present.push(index);
            plan.kept.push((index, runs[at].id.clone()));
        } else if earlier_runs_unknown && copies.foreign.contains(&index) {
            report.cannot_tell += 1;
        } else {
            report.missing += 1;
        }
    }
    if report.cannot_tell > 0 {
        report.reason = Some(format!(
            "the checkpoint was written by an older loader that did not record its runs, so \
             the memories its runs stored cannot be told from copies of their marker; the {} \
             records in doubt with only such memories are sent again and may be duplicated",
            report.cannot_tell
        ));
    }
    (report, plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rangeset::RangeSet;

    fn node(id: &str, info: Option<Value>) -> MemoryItem {
        let mut value = serde_json::json!({"id": id, "memory": "text", "metadata": {}});
        if let Some(info) = info {
            value["metadata"]["info"] = info;
        }
        serde_json::from_value(value).unwrap()
    }

    fn node_of(id: &str, import: &str, run: &str, index: u64) -> MemoryItem {
        let ids = MarkerIds {
            import: import.into(),
            run: run.into(),
        };
        node(id, Some(Value::Object(marker(&ids, index))))
    }

    fn run(id: &str, acked: &[[u64; 2]]) -> RunRecord {
        RunRecord {
            id: id.into(),
            acked: RangeSet::from_pairs(acked),
        }
    }

    #[test]
    fn only_this_imports_markers_of_known_runs_count_and_copies_are_told_apart() {
        let runs = [run("r1", &[])];
        let nodes = vec![
            node_of("a", "imp", "r1", 0),
            node_of("b", "imp", "r1", 0), // a record the server made two nodes of
            node_of("c", "imp", "r1", 2),
            node_of("d", "other", "r1", 3),
            node(
                "e",
                Some(serde_json::json!({IMPORT_KEY: "imp", RECORD_KEY: 4})),
            ), // not a string
            node(
                "f",
                Some(serde_json::json!({IMPORT_KEY: "imp", RECORD_KEY: "x"})),
            ),
            node("g", None),
            node(
                "h",
                Some(serde_json::json!({IMPORT_KEY: "imp", RECORD_KEY: "1"})),
            ), // no run
            node_of("i", "imp", "stranger", 3),
        ];
        let copies = Copies::new(&nodes, "imp", &runs);
        // Records 0, 1 and 2 may be identical sessions: the markers still tell them apart.
        let (report, plan) = decide(&[0, 1, 2, 3, 4], &copies, &runs, false);
        assert_eq!(plan.present, vec![0, 2]);
        assert_eq!(plan.kept, vec![(0, "r1".to_owned()), (2, "r1".to_owned())]);
        assert_eq!(
            (
                report.in_doubt,
                report.present,
                report.missing,
                report.cannot_tell,
                report.foreign_markers
            ),
            (5, 2, 3, 0, 2)
        );
        assert!(plan.partial.is_empty() && report.reason.is_none());

        // An older loader's checkpoint: a record with only nodes of unknown runs may be ours.
        let (report, plan) = decide(&[1, 3, 4], &copies, &runs, true);
        assert!(plan.present.is_empty());
        assert_eq!((report.missing, report.cannot_tell), (1, 2));
        assert!(report.reason.unwrap().contains("older loader"));
    }

    #[test]
    fn a_record_keeps_the_acknowledged_copy_or_else_the_fullest() {
        let runs = [
            run("run-a", &[]),
            run("run-b", &[[0, 1]]),
            run("run-c", &[]),
        ];
        let nodes = vec![
            // Record 0: acknowledged by run-b; run-a's copy has more nodes, still deleted.
            node_of("a0-1", "imp", "run-a", 0),
            node_of("a0-2", "imp", "run-a", 0),
            node_of("a0-3", "imp", "run-a", 0),
            node_of("b0-1", "imp", "run-b", 0),
            node_of("x0", "imp", "stranger", 0),
            // Record 1: acknowledged by none; run-c's copy is whole, run-a's partial.
            node_of("a1-1", "imp", "run-a", 1),
            node_of("c1-1", "imp", "run-c", 1),
            node_of("c1-2", "imp", "run-c", 1),
            // Record 2: two whole copies: the earlier run's is kept.
            node_of("b2", "imp", "run-b", 2),
            node_of("c2", "imp", "run-c", 2),
            // Record 3: one copy.
            node_of("c3", "imp", "run-c", 3),
            node_of("o3", "other", "run-a", 3),
        ];
        let copies = Copies::new(&nodes, "imp", &runs);
        let (records, mut ids) = copies.duplicates(&runs);
        ids.sort();
        assert_eq!(records, 3);
        assert_eq!(ids, ["a0-1", "a0-2", "a0-3", "a1-1", "c2"]);
    }
}
