//! Property tests ("fuzzing" on the stable toolchain) of the parts that read untrusted
//! bytes: the JSON scanner, the line reader, the chunk splitters, the grouping of message
//! lines into sessions, and the checkpoint parser.
//!
//! Each property runs a fixed number of cases in the normal test binary (a few seconds in
//! all); `PROPTEST_CASES=100000 cargo test -p memos-loader fuzz` runs longer. Failures
//! proptest finds are saved under `proptest-regressions/` and replayed first by every
//! later run; check those files in.

use std::io::Cursor;

use proptest::prelude::*;
use serde_json::{json, Value};

use crate::checkpoint::{Checkpoint, Expected, TargetRecord};
use crate::chunk::{split_long, Chunk, Chunker};
use crate::jsonscan::{JsonScanner, ScanError};
use crate::lines::LineReader;
use crate::rangeset::RangeSet;
use crate::{Input, MessageOptions, Payload, Source};

/// The fixed case count of a property, unless `PROPTEST_CASES` asks for another.
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

/// Bytes that look like JSON more often than uniform bytes would.
fn jsonish_bytes() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        4 => prop::sample::select(b"{}[]\",:\\ \n\r\t0123456789-.eEtrufalsn".to_vec()),
        1 => any::<u8>(),
    ];
    prop::collection::vec(byte, 0..600)
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "[^\u{0}]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z\\[\\]{}\",]{0,5}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Runs a scanner to its end: the values' bytes, or where it stopped.
fn scan_all(bytes: &[u8], max: usize) -> (Vec<Option<Vec<u8>>>, Option<String>) {
    let mut scanner = JsonScanner::new(Cursor::new(bytes), max);
    let mut values = Vec::new();
    // Each value takes at least one byte, so more turns than bytes is a loop.
    for _ in 0..=bytes.len() + 1 {
        match scanner.next_value() {
            Ok(Some(scanned)) => {
                assert!(scanned.line <= scanned.end_line);
                values.push(scanned.bytes);
            }
            Ok(None) => return (values, None),
            Err(ScanError::Syntax { reason, .. }) => return (values, Some(reason)),
            Err(ScanError::Io(err)) => panic!("reading memory failed: {err}"),
        }
    }
    panic!("the scanner did not end on {} bytes", bytes.len());
}

fn chunk_all(lines: &[String], max: usize, paragraphs: bool) -> Vec<Chunk> {
    let mut chunker = Chunker::new(max, paragraphs);
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        chunker.line(i as u64 + 1, line, &mut out);
    }
    chunker.flush(&mut out);
    out
}

fn non_space(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// All records of a source written to a temporary file, read the way an import reads
/// them; `None` when the file as a whole is refused.
fn read_file(bytes: &[u8], source: impl Fn(Input) -> Source) -> Option<Vec<Payload>> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("input");
    std::fs::write(&path, bytes).unwrap();
    let records = crate::read(&source(Input::Path(path))).ok()?;
    let mut out = Vec::new();
    for item in records {
        match item {
            Ok(Ok(record)) => out.push(record.payload),
            Ok(Err(_invalid)) => {}
            Err(_stopped) => return None,
        }
    }
    Some(out)
}

fn messages(input: Input) -> Source {
    Source::Messages {
        inputs: vec![input],
        options: MessageOptions::default(),
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// Any bytes: the scanner ends, with values or a syntax error, and never panics.
    #[test]
    fn json_scanner_ends_on_any_bytes(bytes in jsonish_bytes(), max in 1usize..64) {
        scan_all(&bytes, max);
    }

    /// The elements of a top-level array come out one by one, each parsing back to itself.
    #[test]
    fn json_scanner_finds_every_array_element(
        values in prop::collection::vec(json_value(), 0..6),
        pretty in any::<bool>(),
    ) {
        let text = if pretty {
            serde_json::to_string_pretty(&Value::Array(values.clone())).unwrap()
        } else {
            serde_json::to_string(&Value::Array(values.clone())).unwrap()
        };
        let (found, stopped) = scan_all(text.as_bytes(), 1 << 20);
        prop_assert_eq!(stopped, None);
        let found: Vec<Value> = found
            .into_iter()
            .map(|b| serde_json::from_slice(&b.unwrap()).unwrap())
            .collect();
        prop_assert_eq!(found, values);
    }

    /// Lines come out in pieces of at most the bound, which put back together (with the
    /// line endings) give the input.
    #[test]
    fn line_pieces_rebuild_the_input(text in "[a-zé€😀 \n]{0,200}", max in 8usize..40) {
        let mut reader = LineReader::new(Cursor::new(text.as_bytes()), max);
        let mut rebuilt = Vec::new();
        let mut turns = 0;
        while let Some(piece) = reader.next_piece().unwrap() {
            turns += 1;
            prop_assert!(turns <= text.len() + 1, "the reader does not end");
            prop_assert!(piece.bytes.len() <= max);
            // Cut at character boundaries.
            prop_assert!(std::str::from_utf8(piece.bytes).is_ok());
            rebuilt.extend_from_slice(piece.bytes);
            if piece.last {
                rebuilt.push(b'\n');
            }
        }
        let mut expected = text.clone().into_bytes();
        if !expected.is_empty() && !expected.ends_with(b"\n") {
            expected.push(b'\n');
        }
        prop_assert_eq!(String::from_utf8_lossy(&rebuilt), String::from_utf8_lossy(&expected));
    }

    /// A long text is cut into parts of at most `max` characters that rebuild it.
    #[test]
    fn split_long_rebuilds_the_text(text in "[a-z é😀\n]{0,120}", max in 1usize..30) {
        let parts = split_long(&text, max);
        for part in &parts {
            prop_assert!(part.chars().count() <= max, "{:?}", part);
        }
        prop_assert_eq!(parts.concat(), text);
    }

    /// Chunks hold at most `max` characters, and only whitespace is added or dropped.
    #[test]
    fn chunks_keep_the_text_within_the_bound(
        lines in prop::collection::vec("[a-z é😀]{0,40}", 0..30),
        max in 1usize..50,
        paragraphs in any::<bool>(),
    ) {
        let chunks = chunk_all(&lines, max, paragraphs);
        let mut last_line = 0;
        for chunk in &chunks {
            prop_assert!(chunk.text.chars().count() <= max, "{:?}", chunk.text);
            prop_assert!(chunk.first_line <= chunk.last_line);
            prop_assert!(chunk.first_line >= last_line, "chunks go forward");
            last_line = chunk.last_line;
        }
        let got: String = chunks.iter().map(|c| non_space(&c.text)).collect();
        let want: String = lines.iter().map(|l| non_space(l)).collect();
        prop_assert_eq!(got, want);
    }

    /// Message lines are grouped into one session per run of the same session id; every
    /// message ends up in exactly one session, in order.
    #[test]
    fn messages_group_by_consecutive_session(
        lines in prop::collection::vec((0u8..3, any::<bool>(), "[a-z][a-z ]{0,9}"), 1..40),
    ) {
        let mut text = String::new();
        for (session, user, content) in &lines {
            let role = if *user { "user" } else { "assistant" };
            let line = json!({"session_id": format!("s{session}"), "role": role, "content": content});
            text.push_str(&line.to_string());
            text.push('\n');
        }
        let records = read_file(text.as_bytes(), messages).expect("valid input reads");
        let runs = 1 + lines.windows(2).filter(|w| w[0].0 != w[1].0).count();
        prop_assert_eq!(records.len(), runs);
        let contents: Vec<String> = records
            .into_iter()
            .flat_map(|payload| match payload {
                Payload::Messages(messages) => messages.into_iter().map(|m| m.content).collect(),
                Payload::Content(_) => Vec::new(),
            })
            .collect();
        let want: Vec<String> = lines.iter().map(|(_, _, c)| c.clone()).collect();
        prop_assert_eq!(contents, want);
    }

    /// Any bytes as a messages file: records, invalid records or a refusal, never a panic.
    #[test]
    fn messages_reader_survives_any_bytes(bytes in jsonish_bytes()) {
        read_file(&bytes, messages);
    }

    /// Any bytes as a checkpoint: a checkpoint or an error, never a panic.
    #[test]
    fn checkpoint_parser_survives_any_bytes(bytes in jsonish_bytes()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ck.json");
        std::fs::write(&path, &bytes).unwrap();
        let target = target();
        let _ = Checkpoint::open(&path, expected(&target, 10));
    }

    /// A well-formed checkpoint with any `acked` and `sent_below` values (reversed,
    /// overlapping, huge ranges) loads without a panic, and its counts stay in range.
    #[test]
    fn checkpoint_parser_survives_any_ranges(
        pairs in prop::collection::vec(
            (prop_oneof![0u64..50, Just(u64::MAX - 1), Just(u64::MAX)],
             prop_oneof![0u64..50, Just(u64::MAX - 1), Just(u64::MAX)]),
            0..8,
        ),
        sent_below in prop_oneof![0u64..50, Just(u64::MAX)],
        total in 0u64..40,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ck.json");
        let target = target();
        let fresh = Checkpoint::open(&path, expected(&target, total)).unwrap();
        let mut data = serde_json::to_value(&fresh.data).unwrap();
        drop(fresh);
        data["acked"] = json!(pairs.iter().map(|&(s, e)| [s, e]).collect::<Vec<_>>());
        data["sent_below"] = json!(sent_below);
        std::fs::write(&path, serde_json::to_vec(&data).unwrap()).unwrap();
        let ck = Checkpoint::open(&path, expected(&target, total)).unwrap();
        prop_assert!(ck.acked.count_below(total) <= total);
        let gaps = ck.acked.gaps_below(ck.data.sent_below.min(total));
        prop_assert!(gaps.len() <= total);
        let _ = ck.snapshot().unwrap();
        let set = RangeSet::from_pairs(&ck.acked.to_pairs());
        prop_assert_eq!(set, ck.acked);
    }
}

fn target() -> TargetRecord {
    TargetRecord {
        base_url: "http://127.0.0.1:1".into(),
        user_id: "u".into(),
        cube_id: "c".into(),
    }
}

fn expected(target: &TargetRecord, total: u64) -> Expected<'_> {
    Expected {
        api: "v1",
        kind: "content",
        target,
        input_digest: "abc",
        options: "content chunk_size=10 per_line=false",
        inputs: vec!["a.txt".into()],
        records_total: total,
    }
}
