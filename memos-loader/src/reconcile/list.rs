//! Records in doubt against a cube listed as a list of memories (`naive_text`,
//! `general_text`), where each message and each content record is one memory, its text
//! verbatim:
//!
//! 1. the memories that were not in the cube before the import are counted by text (only
//!    the texts of records in doubt);
//! 2. the copies that acknowledged records account for are taken away: what is left was
//!    stored by records in doubt;
//! 3. those copies are handed out to the records in doubt, in input order, one text at a
//!    time: a record whose texts are all found is present (not sent again), one with none
//!    is missing (sent), a session with some is sent with only the missing messages.
//!
//! Counting copies (rather than asking "is this text there?") keeps repeated texts exact:
//! the input's `ok` ten times needs ten `ok` memories.

use std::collections::{HashMap, HashSet};

use memos_api::v1::types::MemoryItem;

use super::{text_hash, Acked, InDoubt, Plan};
use crate::summary::Reconciliation;

/// Copies of the texts of records in doubt that no acknowledged record accounts for.
pub(super) struct Tally {
    available: HashMap<u64, i64>,
}

impl Tally {
    /// Counts the texts of records in doubt among `items`, leaving out the `before` ids.
    pub(super) fn new(
        in_doubt: &[InDoubt],
        items: &[MemoryItem],
        before: &HashSet<String>,
    ) -> Self {
        let mut available: HashMap<u64, i64> = in_doubt
            .iter()
            .flat_map(|record| record.texts.iter().map(|&hash| (hash, 0)))
            .collect();
        for item in items {
            if before.contains(&item.id) {
                continue;
            }
            if let Some(count) = available.get_mut(&text_hash(&item.memory)) {
                *count += 1;
            }
        }
        Tally { available }
    }
}

impl Acked for Tally {
    fn acked(&mut self, texts: &[u64]) {
        for hash in texts {
            if let Some(count) = self.available.get_mut(hash) {
                *count -= 1;
            }
        }
    }
}

pub(super) fn decide(in_doubt: Vec<InDoubt>, tally: Tally) -> (Reconciliation, Plan) {
    let mut available = tally.available;
    let mut report = Reconciliation {
        in_doubt: in_doubt.len() as u64,
        ..Reconciliation::default()
    };
    let mut plan = Plan::default();
    for InDoubt { index, texts } in in_doubt {
        let mut missing = Vec::new();
        for (position, hash) in texts.iter().enumerate() {
            match available.get_mut(hash) {
                Some(count) if *count > 0 => *count -= 1,
                _ => missing.push(position),
            }
        }
        if missing.is_empty() {
            report.present += 1;
            plan.present.push(index);
        } else if missing.len() == texts.len() {
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
    use super::super::in_doubt;
    use super::*;
    use memos_api::v1::types::MemoryMetadata;

    /// Items `m0`, `m1`, ... in the order given.
    fn items(texts: &[&str]) -> Vec<MemoryItem> {
        texts
            .iter()
            .enumerate()
            .map(|(i, text)| MemoryItem {
                id: format!("m{i}"),
                memory: text.to_string(),
                metadata: MemoryMetadata::default(),
            })
            .collect()
    }

    fn run(
        records: &[(u64, &[&str])],
        acked: &[&str],
        listed: &[&str],
        before: &[&str],
    ) -> (Reconciliation, Plan) {
        let records = in_doubt(records);
        let before = before.iter().map(|id| id.to_string()).collect();
        let mut tally = Tally::new(&records, &items(listed), &before);
        for text in acked {
            tally.acked(&[text_hash(text)]);
        }
        decide(records, tally)
    }

    #[test]
    fn present_missing_and_partial() {
        let (report, plan) = run(
            &[(3, &["a", "b"]), (4, &["c"]), (5, &["d", "e"])],
            &["x"],
            &["old", "x", "a", "b", "d"],
            &["m0"],
        );
        assert_eq!((report.present, report.missing, report.partial), (1, 1, 1));
        assert_eq!(plan.present, vec![3]);
        assert_eq!(plan.partial.get(&5), Some(&vec![1]));
    }

    #[test]
    fn repeated_texts_are_counted_not_just_found() {
        // "ok" is acknowledged twice and in doubt twice; the server holds three: one of
        // the two in doubt is there.
        let (report, plan) = run(
            &[(2, &["ok"]), (3, &["ok"])],
            &["ok", "ok"],
            &["ok"; 3],
            &[],
        );
        assert_eq!((report.present, report.missing), (1, 1));
        assert_eq!(plan.present, vec![2]);
        // The cube's own "ok" from before the import does not count.
        let (report, _) = run(&[(0, &["ok"])], &[], &["ok"], &["m0"]);
        assert_eq!(report.missing, 1);
    }

    #[test]
    fn the_order_of_the_listing_does_not_matter() {
        // general_text lists at random: the memory from before the import may come last.
        let (report, plan) = run(
            &[(1, &["a"]), (2, &["ok"])],
            &[],
            &["a", "ok", "ok"],
            &["m2"],
        );
        assert_eq!((report.present, report.missing), (2, 0));
        assert_eq!(plan.present, vec![1, 2]);
        let (report, _) = run(&[(1, &["a"]), (2, &["ok"])], &[], &["ok", "a"], &["m0"]);
        assert_eq!((report.present, report.missing), (1, 1));
    }
}
