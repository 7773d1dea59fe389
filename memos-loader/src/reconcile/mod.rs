//! Deciding, on resume, which records in doubt the server already holds.
//!
//! The server returns no ids, so an interrupted run leaves records that were sent but not
//! acknowledged *in doubt*. Each is looked for in the cube, in the shape the server lists
//! it in:
//!
//! * a **list** (`naive_text`, `general_text`): each message and each content record is
//!   stored verbatim, one memory each, so texts are counted ([`list`]);
//! * a **graph** (`tree_text`): the server's extractor makes nodes whose text is its own,
//!   but each node names the messages it came from, so nodes are matched to records by
//!   those ([`graph`]).
//!
//! Neither relies on the order the server lists memories in (`general_text` lists them at
//! random, `tree_text` newest first). What the cube held before the import is left out by
//! id ([`Baseline`]). The input is read twice, once for the records in doubt and once for
//! the acknowledged ones, and only what concerns the records in doubt is kept.
//!
//! When the cube cannot be used (no baseline, or it lost memories since), the records in
//! doubt are sent again and counted as possibly duplicated.
//!
//! The `/product` API needs none of this: every record carries a marker the server keeps
//! with its nodes, so records in doubt are looked up by it, as far as the runs the checkpoint
//! recorded make a node the import's own ([`product`]).

mod baseline;
mod graph;
mod list;
pub(crate) mod product;

use std::collections::{HashMap, HashSet};

use memos_api::v1::Client;
use sha2::{Digest, Sha256};

pub(crate) use baseline::{capture as capture_baseline, Baseline};

use crate::checkpoint::Checkpoint;
use crate::cube::{self, Memories};
use crate::engine::blocking;
use crate::error::LoadError;
use crate::server::Server;
use crate::setup::Target;
use crate::source::Prepared;
use crate::summary::Reconciliation;

/// What to do with the records in doubt.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    /// Records found on the server: mark as acknowledged.
    pub present: Vec<u64>,
    /// Sessions to send with only these messages (by position).
    pub partial: HashMap<u64, Vec<usize>>,
    /// `/product`: of the records found, which run's copy is the one kept.
    pub kept: Vec<(u64, String)>,
}

/// A text's hash: stable across runs and builds (baselines are saved in the checkpoint).
pub(crate) fn text_hash(text: &str) -> u64 {
    let digest = Sha256::digest(text.as_bytes());
    let mut first = [0; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first)
}

/// A record in doubt: its index and the hash of each text it stores, in order.
#[derive(Debug, Clone)]
pub(crate) struct InDoubt {
    pub index: u64,
    pub texts: Vec<u64>,
}

/// Calls `visit` with the text hashes of every valid record below `sent_below` for which
/// `select` says yes, in input order. Blocking.
fn scan(
    prepared: &Prepared,
    ck: &Checkpoint,
    select: impl Fn(u64) -> bool,
    mut visit: impl FnMut(u64, Vec<u64>),
) -> Result<(), LoadError> {
    let mut pass = prepared.pass();
    while let Some(item) = pass.next_item()? {
        let Ok(record) = item else { continue };
        if record.index >= ck.data.sent_below {
            break;
        }
        if select(record.index) {
            let texts = record.payload.texts().into_iter().map(text_hash).collect();
            visit(record.index, texts);
        }
    }
    Ok(())
}

/// The records in doubt of `ck`. Blocking.
fn read_in_doubt(prepared: &Prepared, ck: &Checkpoint) -> Result<Vec<InDoubt>, LoadError> {
    let mut records = Vec::new();
    scan(
        prepared,
        ck,
        |index| !ck.acked.contains(index),
        |index, texts| records.push(InDoubt { index, texts }),
    )?;
    Ok(records)
}

/// What the evidence in a cube needs to learn from the acknowledged records.
trait Acked: Send + 'static {
    /// One acknowledged record's text hashes.
    fn acked(&mut self, texts: &[u64]);
}

/// Feeds every acknowledged record below `sent_below` to `tally`, on a blocking thread.
async fn feed_acked<T: Acked>(
    prepared: &Prepared,
    ck: &Checkpoint,
    tally: T,
) -> Result<T, LoadError> {
    let (prepared, ck) = (prepared.clone(), ck.clone());
    blocking(move || {
        let mut tally = tally;
        scan(
            &prepared,
            &ck,
            |index| ck.acked.contains(index),
            |_, texts| tally.acked(&texts),
        )?;
        Ok(tally)
    })
    .await
}

/// Checks the records in doubt of `ck` against the cube's memories.
pub(crate) async fn reconcile(
    server: &Server,
    target: &Target,
    prepared: &Prepared,
    ck: &Checkpoint,
) -> Result<(Reconciliation, Plan), LoadError> {
    let client = match server {
        Server::V1(client) => client,
        Server::Product(client) => {
            let below = ck.data.sent_below.min(ck.data.records_total);
            let gaps = ck.acked.gaps_below(below).to_pairs();
            let in_doubt: Vec<u64> = gaps.iter().flat_map(|&[start, end]| start..end).collect();
            let Some(import_id) = ck.data.import_id.as_deref() else {
                return Ok((
                    cannot_tell(
                        in_doubt.len() as u64,
                        "the checkpoint has no import id to find the records' memories by",
                    ),
                    Plan::default(),
                ));
            };
            let runs = &ck.data.runs;
            let nodes = product::read_nodes(client, target).await?;
            let copies = product::Copies::new(&nodes, import_id, runs);
            let removed = product::remove_duplicates(client, target, &copies, runs).await?;
            let (mut report, plan) =
                product::decide(&in_doubt, &copies, runs, ck.data.earlier_runs_unknown);
            report.duplicates_removed = removed;
            return Ok((report, plan));
        }
    };
    reconcile_v1(client, target, prepared, ck).await
}

/// [`reconcile`] on the v1 API: by the texts the cube holds.
async fn reconcile_v1(
    client: &Client,
    target: &Target,
    prepared: &Prepared,
    ck: &Checkpoint,
) -> Result<(Reconciliation, Plan), LoadError> {
    let in_doubt = {
        let (prepared, ck) = (prepared.clone(), ck.clone());
        blocking(move || read_in_doubt(&prepared, &ck)).await?
    };
    let memories = cube::read(client, &target.user_id, &target.cube_id).await?;
    let before = match usable_baseline(
        ck.data.baseline.as_ref(),
        ck.data.baseline_memories,
        memories.len(),
    ) {
        Ok(ids) => ids,
        Err(reason) => return Ok((cannot_tell(in_doubt.len() as u64, &reason), Plan::default())),
    };
    Ok(match memories {
        Memories::List(items) => {
            let tally = list::Tally::new(&in_doubt, &items, &before);
            drop(items);
            let tally = feed_acked(prepared, ck, tally).await?;
            list::decide(in_doubt, tally)
        }
        Memories::Graph(nodes) => {
            let runs = graph::Runs::new(&in_doubt, &nodes, &before);
            drop(nodes);
            let runs = feed_acked(prepared, ck, runs).await?;
            graph::decide(&in_doubt, runs)
        }
    })
}

/// The ids of the memories the cube held before the import that concern it, or why the
/// cube (now holding `listed` memories) cannot be used.
fn usable_baseline(
    baseline: Option<&Baseline>,
    legacy: Option<u64>,
    listed: usize,
) -> Result<HashSet<String>, String> {
    let baseline = match (baseline, legacy) {
        (Some(baseline), _) => baseline.clone(),
        // An older loader's checkpoint of an import into an empty cube.
        (None, Some(0)) => Baseline::default(),
        (None, _) => {
            return Err(
                "the checkpoint has no record of the cube's memories from before the import"
                    .to_owned(),
            )
        }
    };
    if (listed as u64) < baseline.memories {
        return Err(format!(
            "the cube holds {listed} memories, fewer than the {} it held before the import \
             (memories were deleted since)",
            baseline.memories
        ));
    }
    Ok(baseline.overlapping.into_iter().collect())
}

fn cannot_tell(in_doubt: u64, reason: &str) -> Reconciliation {
    Reconciliation {
        in_doubt,
        cannot_tell: in_doubt,
        reason: Some(format!(
            "{reason}; the {in_doubt} records in doubt are sent again and may be duplicated"
        )),
        ..Reconciliation::default()
    }
}

/// Records in doubt with these texts, for tests.
#[cfg(test)]
fn in_doubt(records: &[(u64, &[&str])]) -> Vec<InDoubt> {
    records
        .iter()
        .map(|(index, texts)| InDoubt {
            index: *index,
            texts: texts.iter().map(|t| text_hash(t)).collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_hash_is_stable() {
        // Saved in checkpoints: it must never change.
        assert_eq!(text_hash("ok"), 0xce16_5c20_7b36_8926);
        assert_ne!(text_hash("ok"), text_hash("ok "));
    }

    #[test]
    fn an_unusable_baseline_means_cannot_tell() {
        let baseline = Baseline {
            memories: 3,
            overlapping: vec!["m1".into()],
        };
        let ids = usable_baseline(Some(&baseline), None, 5).unwrap();
        assert!(ids.contains("m1") && ids.len() == 1);
        let reason = usable_baseline(Some(&baseline), None, 2).unwrap_err();
        assert!(reason.contains("deleted"), "{reason}");
        // Checkpoints of older loaders: an empty cube is a usable baseline, a count is not.
        assert!(usable_baseline(None, Some(0), 4).unwrap().is_empty());
        assert!(usable_baseline(None, Some(2), 4).is_err());
        assert!(usable_baseline(None, None, 0).is_err());
        let report = cannot_tell(4, "because");
        assert_eq!((report.in_doubt, report.cannot_tell), (4, 4));
        assert!(report.reason.unwrap().starts_with("because; the 4 records"));
    }
}
