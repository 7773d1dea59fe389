//! Deciding, on resume, which records in doubt the server already holds.
//!
//! The server returns no ids, so an interrupted run leaves records that were sent but not
//! acknowledged *in doubt*. The reference server stores each message's and each content
//! record's text verbatim, one memory each, and lists a cube in insertion order. So:
//!
//! 1. the memories listed after the `baseline` (what the cube held before the import's
//!    first run) are what this import added;
//! 2. of those, each text is counted, minus the copies that acknowledged records account
//!    for: what is left was stored by records in doubt;
//! 3. those copies are handed out to the records in doubt, in input order, one text at a
//!    time: a record whose texts are all found is present (not sent again), one with none
//!    is missing (sent), a session with some is sent with only the missing messages.
//!
//! Counting copies (rather than asking "is this text there?") keeps repeated texts exact:
//! the input's `ok` ten times needs ten `ok` memories. When the listing cannot be used (no
//! baseline, the cube lost memories, or the backend lists a graph), the records in doubt
//! are sent again and counted as possibly duplicated.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

use memos_api::Client;

use crate::checkpoint::Checkpoint;
use crate::error::LoadError;
use crate::setup::{list_texts, Target};
use crate::source::Prepared;
use crate::summary::Reconciliation;

/// What to do with the records in doubt.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    /// Records found on the server: mark as acknowledged.
    pub present: Vec<u64>,
    /// Sessions to send with only these messages (by position).
    pub partial: HashMap<u64, Vec<usize>>,
}

fn text_hash(text: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    text.hash(&mut hasher);
    hasher.finish()
}

/// The texts of the records in doubt, and how often acknowledged records hold each of them.
struct Doubt {
    records: Vec<(u64, Vec<u64>)>,
    acked_copies: HashMap<u64, i64>,
}

/// Reads the input up to `sent_below` twice: once for the texts of the records in doubt,
/// once to count those texts in acknowledged records. Blocking.
fn read_doubt(prepared: &Prepared, ck: &Checkpoint) -> Result<Doubt, LoadError> {
    let limit = ck.data.sent_below;
    let mut records = Vec::new();
    let mut wanted = HashSet::new();
    let mut pass = prepared.pass();
    while let Some(item) = pass.next_item()? {
        let Ok(record) = item else { continue };
        if record.index >= limit {
            break;
        }
        if !ck.acked.contains(record.index) {
            let hashes: Vec<u64> = record.payload.texts().into_iter().map(text_hash).collect();
            wanted.extend(hashes.iter().copied());
            records.push((record.index, hashes));
        }
    }
    let mut acked_copies = HashMap::new();
    let mut pass = prepared.pass();
    while let Some(item) = pass.next_item()? {
        let Ok(record) = item else { continue };
        if record.index >= limit {
            break;
        }
        if ck.acked.contains(record.index) {
            for text in record.payload.texts() {
                let hash = text_hash(text);
                if wanted.contains(&hash) {
                    *acked_copies.entry(hash).or_insert(0) += 1;
                }
            }
        }
    }
    Ok(Doubt {
        records,
        acked_copies,
    })
}

/// Checks the records in doubt of `ck` against the cube's memories.
pub(crate) async fn reconcile(
    client: &Client,
    target: &Target,
    prepared: &Prepared,
    ck: &Checkpoint,
) -> Result<(Reconciliation, Plan), LoadError> {
    let doubt = {
        let (prepared, ck) = (prepared.clone(), ck.clone());
        tokio::task::spawn_blocking(move || read_doubt(&prepared, &ck))
            .await
            .map_err(|err| LoadError::Read {
                path: "<input>".into(),
                reason: format!("the reader thread failed: {err}"),
            })??
    };
    let texts = list_texts(client, &target.user_id, &target.cube_id).await?;
    Ok(decide(doubt, texts, ck.data.baseline_memories))
}

fn decide(
    doubt: Doubt,
    listing: Option<Vec<String>>,
    baseline: Option<u64>,
) -> (Reconciliation, Plan) {
    let mut report = Reconciliation {
        in_doubt: doubt.records.len() as u64,
        ..Reconciliation::default()
    };
    let mut plan = Plan::default();
    let added = match (listing, baseline) {
        (None, _) => Err("the server does not list the cube's memories as a list".to_owned()),
        (Some(_), None) => Err(
            "the checkpoint has no count of the cube's memories from before the import".to_owned(),
        ),
        (Some(texts), Some(base)) if (texts.len() as u64) < base => Err(format!(
            "the cube holds {} memories, fewer than the {base} it held before the import \
             (memories were deleted since)",
            texts.len()
        )),
        (Some(texts), Some(base)) => Ok(texts.into_iter().skip(base as usize).collect::<Vec<_>>()),
    };
    let added = match added {
        Ok(added) => added,
        Err(reason) => {
            report.cannot_tell = report.in_doubt;
            report.reason = Some(format!(
                "{reason}; the {} records in doubt are sent again and may be duplicated",
                report.in_doubt
            ));
            return (report, plan);
        }
    };
    let wanted: HashSet<u64> = doubt
        .records
        .iter()
        .flat_map(|(_, h)| h.iter().copied())
        .collect();
    let mut available: HashMap<u64, i64> = HashMap::new();
    for text in &added {
        let hash = text_hash(text);
        if wanted.contains(&hash) {
            *available.entry(hash).or_insert(0) += 1;
        }
    }
    for (hash, copies) in &doubt.acked_copies {
        if let Some(count) = available.get_mut(hash) {
            *count -= copies;
        }
    }
    for (index, hashes) in doubt.records {
        let mut missing = Vec::new();
        for (position, hash) in hashes.iter().enumerate() {
            match available.get_mut(hash) {
                Some(count) if *count > 0 => *count -= 1,
                _ => missing.push(position),
            }
        }
        if missing.is_empty() {
            report.present += 1;
            plan.present.push(index);
        } else if missing.len() == hashes.len() {
            report.missing += 1;
        } else {
            report.partial += 1;
            plan.partial.insert(index, missing);
        }
    }
    (report, plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doubt(records: &[(u64, &[&str])], acked: &[&str]) -> Doubt {
        let mut acked_copies = HashMap::new();
        for text in acked {
            *acked_copies.entry(text_hash(text)).or_insert(0) += 1;
        }
        Doubt {
            records: records
                .iter()
                .map(|(i, texts)| (*i, texts.iter().map(|t| text_hash(t)).collect()))
                .collect(),
            acked_copies,
        }
    }

    fn listing(texts: &[&str]) -> Option<Vec<String>> {
        Some(texts.iter().map(|t| t.to_string()).collect())
    }

    #[test]
    fn present_missing_and_partial() {
        let d = doubt(&[(3, &["a", "b"]), (4, &["c"]), (5, &["d", "e"])], &["x"]);
        let (report, plan) = decide(d, listing(&["old", "x", "a", "b", "d"]), Some(1));
        assert_eq!((report.present, report.missing, report.partial), (1, 1, 1));
        assert_eq!(plan.present, vec![3]);
        assert_eq!(plan.partial.get(&5), Some(&vec![1]));
    }

    #[test]
    fn repeated_texts_are_counted_not_just_found() {
        // "ok" is acknowledged twice and in doubt twice; the server holds three after the
        // baseline: one of the two in doubt is there.
        let d = doubt(&[(2, &["ok"]), (3, &["ok"])], &["ok", "ok"]);
        let (report, plan) = decide(d, listing(&["ok", "ok", "ok"]), Some(0));
        assert_eq!((report.present, report.missing), (1, 1));
        assert_eq!(plan.present, vec![2]);
        // The baseline's own "ok" does not count.
        let d = doubt(&[(0, &["ok"])], &[]);
        let (report, _) = decide(d, listing(&["ok"]), Some(1));
        assert_eq!(report.missing, 1);
    }

    #[test]
    fn an_unusable_listing_means_cannot_tell() {
        let d = doubt(&[(0, &["a"])], &[]);
        let (report, plan) = decide(d, listing(&[]), Some(2));
        assert_eq!(report.cannot_tell, 1);
        assert!(report.reason.unwrap().contains("deleted"));
        assert!(plan.present.is_empty());
        let (report, _) = decide(doubt(&[(0, &["a"])], &[]), None, Some(0));
        assert_eq!(report.cannot_tell, 1);
    }
}
