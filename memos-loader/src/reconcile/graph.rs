//! Records in doubt against a cube listed as a graph (`tree_text`).
//!
//! The server's extractor turns one add into any number of nodes (none, one per message,
//! several per message: the LLM's choice), and a node's text is the extractor's, so it is
//! never compared with the input. What identifies a node's record is `metadata.sources`:
//! the messages of the window of the session it was extracted from (a content record is
//! one user message). So each node's source texts, a *run*, are looked for in the records:
//!
//! * a run equal to whole records points at those records; otherwise at the records that
//!   hold it in order (a window of a long session, where the server may have dropped
//!   messages of roles it does not know);
//! * a run that points at one record in doubt and no acknowledged record proves that
//!   record stored: it is **present**;
//! * a run that points at several identical records in doubt and no acknowledged one
//!   proves that one of them is stored: the first is present;
//! * a record no run points at is **missing**;
//! * otherwise its nodes may be another record's (a copy of it that was acknowledged):
//!   the graph cannot tell copies apart, so it **cannot be told** and is sent again.
//!
//! A session is never sent in part: a window without nodes is what the extractor made of
//! it, not a sign that the server lost it.

use std::collections::{HashMap, HashSet};

use super::{Acked, InDoubt, Plan};
use crate::cube::{self, Node, Sources};
use crate::summary::Reconciliation;

/// A run found in records in doubt.
struct Run {
    texts: Vec<u64>,
    nodes: u64,
    /// Acknowledged records equal to the run.
    acked_equal: u64,
    /// Acknowledged records that hold it.
    acked_holding: u64,
}

/// The runs of the graph's nodes that occur in records in doubt.
pub(super) struct Runs {
    runs: Vec<Run>,
    by_texts: HashMap<Vec<u64>, usize>,
    /// Runs by their first text.
    by_first: HashMap<u64, Vec<usize>>,
    /// Where each text occurs in the records in doubt: (record, position).
    positions: HashMap<u64, Vec<(usize, usize)>>,
    /// Nodes whose sources could not be read.
    ignored: u64,
}

/// Whether `texts` holds `run` in order starting at `start` (where `run[0]` is), other
/// texts in between allowed.
fn holds_at(texts: &[u64], start: usize, run: &[u64]) -> bool {
    let mut wanted = run.iter().skip(1).peekable();
    for text in texts.get(start + 1..).unwrap_or_default() {
        if wanted.peek() == Some(&text) {
            wanted.next();
        }
    }
    texts.get(start) == run.first() && wanted.peek().is_none()
}

impl Runs {
    /// Collects the runs of `nodes` (except the `before` ids) found in `in_doubt`.
    pub(super) fn new(in_doubt: &[InDoubt], nodes: &[Node], before: &HashSet<String>) -> Self {
        let mut positions: HashMap<u64, Vec<(usize, usize)>> = HashMap::new();
        for (record, doubt) in in_doubt.iter().enumerate() {
            for (position, &hash) in doubt.texts.iter().enumerate() {
                positions.entry(hash).or_default().push((record, position));
            }
        }
        let mut runs = Runs {
            runs: Vec::new(),
            by_texts: HashMap::new(),
            by_first: HashMap::new(),
            positions,
            ignored: 0,
        };
        for node in nodes {
            if cube::node_id(node).is_some_and(|id| before.contains(id)) {
                continue;
            }
            let texts: Vec<u64> = match cube::node_sources(node) {
                Sources::None => continue,
                Sources::Unreadable => {
                    runs.ignored += 1;
                    continue;
                }
                Sources::Messages(texts) => texts.iter().map(|t| super::text_hash(t)).collect(),
            };
            if let Some(&i) = runs.by_texts.get(&texts) {
                runs.runs[i].nodes += 1;
            } else if !runs.holders(in_doubt, &texts).is_empty() {
                let i = runs.runs.len();
                runs.by_first.entry(texts[0]).or_default().push(i);
                runs.by_texts.insert(texts.clone(), i);
                runs.runs.push(Run {
                    texts,
                    nodes: 1,
                    acked_equal: 0,
                    acked_holding: 0,
                });
            }
        }
        runs
    }

    /// The records in doubt (by position in `in_doubt`, each once) that hold `run`.
    fn holders(&self, in_doubt: &[InDoubt], run: &[u64]) -> Vec<usize> {
        let mut out: Vec<usize> = self
            .positions
            .get(&run[0])
            .into_iter()
            .flatten()
            .filter(|&&(record, position)| holds_at(&in_doubt[record].texts, position, run))
            .map(|&(record, _)| record)
            .collect();
        out.dedup();
        out
    }
}

impl Acked for Runs {
    fn acked(&mut self, texts: &[u64]) {
        if let Some(&i) = self.by_texts.get(texts) {
            self.runs[i].acked_equal += 1;
        }
        let mut counted = HashSet::new();
        for (start, text) in texts.iter().enumerate() {
            for &i in self.by_first.get(text).into_iter().flatten() {
                if !counted.contains(&i) && holds_at(texts, start, &self.runs[i].texts) {
                    counted.insert(i);
                    self.runs[i].acked_holding += 1;
                }
            }
        }
    }
}

/// What the runs say about one record in doubt.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Finding {
    Nothing,
    Unsure,
    Present,
}

pub(super) fn decide(in_doubt: &[InDoubt], runs: Runs) -> (Reconciliation, Plan) {
    let mut found = vec![Finding::Nothing; in_doubt.len()];
    // Runs pointing at several identical records in doubt: one of each is stored.
    let mut one_of = Vec::new();
    for run in &runs.runs {
        let holders = runs.holders(in_doubt, &run.texts);
        let equal: Vec<usize> = holders
            .iter()
            .copied()
            .filter(|&r| in_doubt[r].texts == run.texts)
            .collect();
        let (records, acked, identical) = if !equal.is_empty() || run.acked_equal > 0 {
            (equal, run.acked_equal, true)
        } else {
            (holders, run.acked_holding, false)
        };
        match (acked, records.as_slice()) {
            (0, [only]) => found[*only] = Finding::Present,
            (0, [_, _, ..]) if identical => one_of.push(records),
            _ => {
                for &r in &records {
                    if found[r] == Finding::Nothing {
                        found[r] = Finding::Unsure;
                    }
                }
            }
        }
    }
    for records in one_of {
        if records.iter().all(|&r| found[r] != Finding::Present) {
            found[records[0]] = Finding::Present;
        }
        for &r in &records {
            if found[r] == Finding::Nothing {
                found[r] = Finding::Unsure;
            }
        }
    }
    let mut report = Reconciliation {
        in_doubt: in_doubt.len() as u64,
        ignored_nodes: runs.ignored,
        ..Reconciliation::default()
    };
    let mut plan = Plan::default();
    for (record, finding) in in_doubt.iter().zip(found) {
        match finding {
            Finding::Present => {
                report.present += 1;
                plan.present.push(record.index);
            }
            Finding::Nothing => report.missing += 1,
            Finding::Unsure => report.cannot_tell += 1,
        }
    }
    if report.cannot_tell > 0 {
        report.reason = Some(format!(
            "the graph's nodes for {} records in doubt may come from copies of them that \
             were acknowledged (the same messages elsewhere in the input), and a graph \
             cannot tell copies apart; they are sent again and may be duplicated",
            report.cannot_tell
        ));
    }
    (report, plan)
}

#[cfg(test)]
mod tests {
    use super::super::{in_doubt, text_hash};
    use super::*;
    use serde_json::{json, Value};

    fn source(content: &str, index: usize) -> String {
        json!({"type": "chat", "role": "user", "chat_time": "", "content": content, "index": index})
            .to_string()
    }

    /// A node extracted from the messages `sources`.
    fn node(id: &str, sources: &[&str]) -> Node {
        let sources: Vec<String> = sources
            .iter()
            .enumerate()
            .map(|(i, s)| source(s, i))
            .collect();
        let Value::Object(map) = json!({
            "id": id,
            "memory": "the extractor's words, never matched",
            "metadata": {"sources": sources, "memory_type": "UserMemory"}
        }) else {
            unreachable!()
        };
        map
    }

    fn run(
        records: &[(u64, &[&str])],
        acked: &[&[&str]],
        nodes: &[Node],
        before: &[&str],
    ) -> (Reconciliation, Plan) {
        let records = in_doubt(records);
        let before = before.iter().map(|id| id.to_string()).collect();
        let mut runs = Runs::new(&records, nodes, &before);
        for texts in acked {
            runs.acked(&texts.iter().map(|t| text_hash(t)).collect::<Vec<_>>());
        }
        decide(&records, runs)
    }

    fn counts(report: &Reconciliation) -> (u64, u64, u64, u64) {
        (
            report.present,
            report.missing,
            report.partial,
            report.cannot_tell,
        )
    }

    #[test]
    fn nodes_are_matched_by_their_sources() {
        // Sessions 1 and 3 are stored (two nodes each, one per message), 2 is not; session
        // 0 was acknowledged; "ok" is in every session.
        let nodes = [
            node("a", &["hello", "ok"]),
            node("b", &["hello", "ok"]),
            node("c", &["bye", "ok"]),
            node("d", &["bye", "ok"]),
            node("e", &["first", "ok"]),
        ];
        let (report, plan) = run(
            &[
                (1, &["hello", "ok"]),
                (2, &["later", "ok"]),
                (3, &["bye", "ok"]),
            ],
            &[&["first", "ok"]],
            &nodes,
            &[],
        );
        assert_eq!(counts(&report), (2, 1, 0, 0));
        assert_eq!(plan.present, vec![1, 3]);
        assert!(plan.partial.is_empty());
        assert!(report.reason.is_none());
    }

    #[test]
    fn nodes_from_before_the_import_do_not_count() {
        let nodes = [node("old", &["hello"]), node("new", &["bye"])];
        let (report, plan) = run(&[(0, &["hello"]), (1, &["bye"])], &[], &nodes, &["old"]);
        assert_eq!(counts(&report), (1, 1, 0, 0));
        assert_eq!(plan.present, vec![1]);
    }

    #[test]
    fn repeated_records_are_told_apart_only_when_they_can_be() {
        // Three identical content records "ok" in doubt, none acknowledged, nodes for "ok":
        // at least one is stored; how many the graph cannot say.
        let nodes = [node("1", &["ok"]), node("2", &["ok"])];
        let (report, plan) = run(
            &[(4, &["ok"]), (5, &["ok"]), (6, &["ok"])],
            &[],
            &nodes,
            &[],
        );
        assert_eq!(counts(&report), (1, 0, 0, 2));
        assert_eq!(plan.present, vec![4]);
        assert!(report.reason.unwrap().contains("cannot tell copies apart"));
        // With a copy acknowledged, its nodes may be all there is.
        let (report, _) = run(&[(4, &["ok"])], &[&["ok"]], &nodes[..1], &[]);
        assert_eq!(counts(&report), (0, 0, 0, 1));
        // Without nodes, every copy is missing.
        let (report, _) = run(&[(4, &["ok"]), (5, &["ok"])], &[&["ok"]], &[], &[]);
        assert_eq!(counts(&report), (0, 2, 0, 0));
    }

    #[test]
    fn a_record_that_is_part_of_another_is_matched_exactly() {
        // "ok" alone (a content record) and a session holding "ok": the node made from the
        // session names both of its messages, the one from the record only "ok".
        let nodes = [node("s", &["are you there?", "ok"])];
        let (report, plan) = run(
            &[(0, &["ok"]), (1, &["are you there?", "ok"])],
            &[],
            &nodes,
            &[],
        );
        assert_eq!(counts(&report), (1, 1, 0, 0));
        assert_eq!(plan.present, vec![1]);
        let (report, plan) = run(
            &[(0, &["ok"]), (1, &["are you there?", "ok"])],
            &[],
            &[node("r", &["ok"])],
            &[],
        );
        assert_eq!(counts(&report), (1, 1, 0, 0));
        assert_eq!(plan.present, vec![0]);
    }

    #[test]
    fn a_window_of_a_long_session_finds_it_and_it_is_never_partial() {
        // The server reads sessions in windows of ten messages; a tool message it dropped
        // leaves a gap. Only the first window made nodes (or was stored): the session is
        // present, not sent again in part.
        let session: Vec<String> = (0..14).map(|i| format!("m{i}")).collect();
        let texts: Vec<&str> = session.iter().map(String::as_str).collect();
        let window: Vec<&str> = texts[..10].iter().copied().filter(|t| *t != "m3").collect();
        let (report, plan) = run(&[(7, &texts)], &[], &[node("w", &window)], &[]);
        assert_eq!(counts(&report), (1, 0, 0, 0));
        assert_eq!(plan.present, vec![7]);
        assert!(plan.partial.is_empty());
        // A window that two records in doubt hold cannot say which was stored.
        let (report, _) = run(
            &[(7, &texts), (8, &[texts.as_slice(), &["more"]].concat())],
            &[],
            &[node("w", &window)],
            &[],
        );
        assert_eq!(counts(&report), (0, 0, 0, 2));
    }

    #[test]
    fn unreadable_sources_are_ignored_and_counted() {
        let mut broken = node("x", &["hello"]);
        broken["metadata"]["sources"] = json!(["{not json"]);
        let mut none = node("y", &["hello"]);
        none["metadata"].as_object_mut().unwrap().remove("sources");
        let (report, _) = run(&[(0, &["hello"])], &[], &[broken, none], &[]);
        assert_eq!(counts(&report), (0, 1, 0, 0));
        assert_eq!(report.ignored_nodes, 1);
    }

    #[test]
    fn holds_at_allows_gaps_but_not_reordering() {
        let t = |s: &[&str]| s.iter().map(|x| text_hash(x)).collect::<Vec<_>>();
        let texts = t(&["a", "b", "c", "d"]);
        assert!(holds_at(&texts, 0, &t(&["a", "c"])));
        assert!(holds_at(&texts, 1, &t(&["b", "c", "d"])));
        assert!(!holds_at(&texts, 0, &t(&["a", "d", "c"])));
        assert!(!holds_at(&texts, 1, &t(&["a"])));
        assert!(!holds_at(&texts, 3, &t(&["d", "e"])));
        assert!(!holds_at(&texts, 9, &t(&["d"])));
    }
}
