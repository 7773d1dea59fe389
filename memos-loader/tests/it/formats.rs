//! The loader's input formats and its handling of bad input, without a server: what each
//! file becomes (records, their locations and texts) and how each kind of bad input is
//! reported (file, line, reason), via `loader::read` and `loader::validate_source`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use memos_loader as loader;
use memos_loader::records::{MessagesLine, SessionArray};
use memos_loader::{
    ContentOptions, DocumentOptions, Event, Hint, Input, InvalidRecord, LoadError, LoadOptions,
    MessageOptions, Payload, Record, Source,
};

fn write(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, content).unwrap();
    path
}

fn messages(path: &Path) -> Source {
    messages_with(path, MessageOptions::default())
}

fn messages_with(path: &Path, options: MessageOptions) -> Source {
    Source::Messages {
        inputs: vec![Input::Path(path.to_path_buf())],
        options,
    }
}

/// Every record and invalid record of a source.
fn read_all(source: &Source) -> (Vec<Record>, Vec<InvalidRecord>) {
    let mut records = Vec::new();
    let mut invalid = Vec::new();
    for item in loader::read(source).expect("the source opens") {
        match item.expect("no fatal error") {
            Ok(record) => records.push(record),
            Err(bad) => invalid.push(bad),
        }
    }
    (records, invalid)
}

/// `role: content` of each message of a session record.
fn session(record: &Record) -> Vec<String> {
    match &record.payload {
        Payload::Messages(messages) => messages
            .iter()
            .map(|m| format!("{}: {}", m.role, m.content))
            .collect(),
        Payload::Content(text) => panic!("expected a session, got content {text:?}"),
    }
}

fn content(record: &Record) -> &str {
    match &record.payload {
        Payload::Content(text) => text,
        Payload::Messages(_) => panic!("expected content"),
    }
}

fn lines(record: &Record) -> (u64, u64) {
    (record.location.line, record.location.end_line)
}

#[test]
fn jsonl_is_grouped_by_session_field_and_blank_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "chats.jsonl",
        br#"{"role":"user","content":"a1","session_id":"a"}
{"role":"assistant","content":"a2","session_id":"a"}
{"role":"user","content":"b1","session_id":"b"}
{"role":"user","content":"n1","session_id":7}

{"role":"user","content":"x1"}
{"role":"assistant","content":"x2","extra":"ignored"}

{"role":"user","content":"y1"}
"#,
    );
    let (records, invalid) = read_all(&messages(&path));
    assert!(invalid.is_empty(), "{invalid:?}");
    let got: Vec<Vec<String>> = records.iter().map(session).collect();
    assert_eq!(
        got,
        vec![
            vec!["user: a1", "assistant: a2"],
            vec!["user: b1"],
            vec!["user: n1"],
            vec!["user: x1", "assistant: x2"],
            vec!["user: y1"],
        ]
    );
    assert_eq!(
        records.iter().map(lines).collect::<Vec<_>>(),
        vec![(1, 2), (3, 3), (4, 4), (6, 7), (9, 9)]
    );
    assert_eq!(
        records.iter().map(|r| r.index).collect::<Vec<_>>(),
        vec![0, 1, 2, 3, 4]
    );
    assert_eq!(
        records[0].location.to_string(),
        format!("{}:1-2", path.display())
    );
}

#[test]
fn a_custom_session_field_groups_by_that_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "c.jsonl",
        br#"{"role":"user","content":"1","conversation":"c1","session_id":"x"}
{"role":"user","content":"2","conversation":"c1","session_id":"y"}
{"role":"user","content":"3","conversation":"c2"}
"#,
    );
    let options = MessageOptions {
        session_field: "conversation".into(),
        ..MessageOptions::default()
    };
    let (records, _) = read_all(&messages_with(&path, options));
    assert_eq!(records.len(), 2);
    assert_eq!(session(&records[0]), vec!["user: 1", "user: 2"]);
}

#[test]
fn openai_objects_per_line_per_file_and_content_parts() {
    let dir = tempfile::tempdir().unwrap();
    let jsonl = write(
        dir.path(),
        "ft.jsonl",
        br#"{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]}
{"messages":[{"role":"user","content":[{"type":"text","text":"look"},{"type":"image_url","image_url":{"url":"x"}},{"type":"text","text":"here"}]},{"role":"assistant","content":null,"tool_calls":[{"id":"1"}]},{"role":"tool","content":"42"}]}
"#,
    );
    let (records, invalid) = read_all(&messages(&jsonl));
    assert!(invalid.is_empty(), "{invalid:?}");
    assert_eq!(
        session(&records[0]),
        vec!["system: Be brief.", "user: hi", "assistant: hello"]
    );
    // Text parts are joined, other parts and tool-call messages without text are left out.
    assert_eq!(session(&records[1]), vec!["user: look\nhere", "tool: 42"]);

    let pretty = write(
        dir.path(),
        "one.json",
        b"{\n  \"messages\": [\n    {\"role\": \"user\", \"content\": \"pretty\"}\n  ]\n}\n",
    );
    let (records, invalid) = read_all(&messages(&pretty));
    assert!(invalid.is_empty(), "{invalid:?}");
    assert_eq!(records.len(), 1);
    assert_eq!(session(&records[0]), vec!["user: pretty"]);
    assert_eq!(lines(&records[0]), (1, 5));
}

#[test]
fn json_array_of_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "sessions.json",
        br#"[
  {"id": "s1", "messages": [{"role": "user", "content": "one"}]},
  [{"role": "user", "content": "two"}, {"role": "assistant", "content": "three"}],
  {"messages": [{"role": "user", "content": "four"}]}
]
"#,
    );
    let (records, invalid) = read_all(&messages(&path));
    assert!(invalid.is_empty(), "{invalid:?}");
    let got: Vec<Vec<String>> = records.iter().map(session).collect();
    assert_eq!(
        got,
        vec![
            vec!["user: one"],
            vec!["user: two", "assistant: three"],
            vec!["user: four"]
        ]
    );
    assert_eq!(
        records.iter().map(lines).collect::<Vec<_>>(),
        vec![(2, 2), (3, 3), (4, 4)]
    );
}

#[test]
fn several_files_number_records_across_files() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(
        dir.path(),
        "a.jsonl",
        b"{\"role\":\"user\",\"content\":\"a\"}\n",
    );
    let b = write(
        dir.path(),
        "b.json",
        b"[[{\"role\":\"user\",\"content\":\"b\"}]]",
    );
    let source = Source::Messages {
        inputs: vec![Input::Path(a), Input::Path(b.clone())],
        options: MessageOptions::default(),
    };
    let (records, _) = read_all(&source);
    assert_eq!(
        records.iter().map(|r| r.index).collect::<Vec<_>>(),
        vec![0, 1]
    );
    assert_eq!(
        &*records[1].location.source,
        b.display().to_string().as_str()
    );
}

/// The documented record types accept what the reader accepts.
#[test]
fn record_types_match_the_reader_and_have_schemas() {
    for line in [
        r#"{"role":"user","content":"a","session_id":"s"}"#,
        r#"{"role":"user","content":[{"type":"text","text":"a"}],"session_id":3}"#,
        r#"{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":null,"tool_calls":[]}]}"#,
    ] {
        serde_json::from_str::<MessagesLine>(line).unwrap_or_else(|e| panic!("{line}: {e}"));
    }
    let array = r#"[{"id":"s1","messages":[{"role":"user","content":"a"}]},[{"role":"user","content":"b"}]]"#;
    let parsed: SessionArray = serde_json::from_str(array).unwrap();
    assert_eq!(parsed.0.len(), 2);
    let schema = serde_json::to_value(schemars::schema_for!(MessagesLine)).unwrap();
    assert!(schema.to_string().contains("session_id"), "{schema}");
    let schema = serde_json::to_value(schemars::schema_for!(SessionArray)).unwrap();
    assert_eq!(schema["type"], "array", "{schema}");
}

#[test]
fn content_is_chunked_at_lines_or_split_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = "line one\nline two\n\nline three is longer\r\n\n\nfour\n";
    let path = write(dir.path(), "out.log", text.as_bytes());
    let chunked = Source::Content {
        inputs: vec![Input::Path(path.clone())],
        options: ContentOptions {
            chunk_size: 30,
            per_line: false,
        },
    };
    let (records, invalid) = read_all(&chunked);
    assert!(invalid.is_empty());
    assert_eq!(
        records.iter().map(content).collect::<Vec<_>>(),
        vec!["line one\nline two", "line three is longer\n\n\nfour"]
    );
    assert_eq!(
        records.iter().map(lines).collect::<Vec<_>>(),
        vec![(1, 2), (4, 7)]
    );

    let per_line = Source::Content {
        inputs: vec![Input::Path(path)],
        options: ContentOptions {
            chunk_size: 10,
            per_line: true,
        },
    };
    let (records, _) = read_all(&per_line);
    assert_eq!(
        records.iter().map(content).collect::<Vec<_>>(),
        vec![
            "line one",
            "line two",
            "line ",
            "three is ",
            "longer",
            "four"
        ]
    );
}

#[test]
fn documents_are_walked_in_order_and_chunked_at_paragraphs() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("handbook");
    write(&root, "b.md", b"# B\n\nPara one.\n\nPara two.\n");
    write(&root, "a/z.txt", b"nested text\n");
    write(&root, ".git/config", b"hidden\n");
    write(&root, ".hidden.md", b"hidden\n");
    write(&root, "empty.txt", b"");
    let single = write(dir.path(), "single.md", b"Single file.\n");
    let source = Source::Documents {
        paths: vec![root.clone(), single],
        options: DocumentOptions {
            chunk_size: 17,
            ..DocumentOptions::default()
        },
    };
    let (records, invalid) = read_all(&source);
    assert!(invalid.is_empty(), "{invalid:?}");
    let got: Vec<(String, &str)> = records
        .iter()
        .map(|r| {
            let file = Path::new(&*r.location.source)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (file, content(r))
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("z.txt".to_owned(), "nested text"),
            ("b.md".to_owned(), "# B\n\nPara one."),
            ("b.md".to_owned(), "Para two."),
            ("single.md".to_owned(), "Single file."),
        ]
    );
}

#[test]
fn a_binary_document_is_one_invalid_record() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ok.md", b"fine\n");
    write(dir.path(), "logo.png", b"\x89PNG\r\n\x1a\n\x00\x00binary");
    let source = Source::Documents {
        paths: vec![dir.path().to_path_buf()],
        options: DocumentOptions::default(),
    };
    let (records, invalid) = read_all(&source);
    assert_eq!(records.len(), 1);
    assert_eq!(invalid.len(), 1);
    assert!(invalid[0].location.source.ends_with("logo.png"));
    assert!(
        invalid[0].reason.contains("not valid UTF-8"),
        "{}",
        invalid[0].reason
    );
}

/// Each kind of bad message input: the invalid record names the line and the reason.
#[test]
fn bad_message_records_name_line_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str, u64, &str)] = &[
        ("not-json", "{\"role\": \"user\", \"content\": \"a\"}\n\n{\"role\": oops}\n", 3, "invalid JSON at column 10: expected value"),
        ("no-role", "{\"content\":\"a\"}\n", 1, "missing field 'role'"),
        ("role-type", "{\"role\":1,\"content\":\"a\"}\n", 1, "'role' must be a string, found a number"),
        ("no-content", "{\"role\":\"user\"}\n", 1, "missing field 'content'"),
        ("empty-content", "{\"role\":\"user\",\"content\":\"  \"}\n", 1, "'content' is empty"),
        ("content-type", "{\"role\":\"user\",\"content\":{}}\n", 1, "found an object"),
        ("parts-no-text", "{\"role\":\"user\",\"content\":[{\"type\":\"image_url\"}]}\n", 1, "no text parts"),
        ("neither", "{\"text\":\"a\"}\n", 1, "neither"),
        ("scalar", "42\n", 1, "expected a JSON object"),
        ("messages-type", "{\"messages\":\"a\"}\n", 1, "'messages' must be an array"),
        ("message-type", "{\"messages\":[\"a\"]}\n", 1, "message 1 must be an object"),
        ("empty-session", "{\"messages\":[]}\n", 1, "no messages with text"),
        ("session-type", "{\"role\":\"user\",\"content\":\"a\",\"session_id\":[1]}\n", 1, "'session_id' must be a string or a number"),
        ("array-element", "[\n{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}]},\n{\"messages\":[{\"role\":\"user\"}]}\n]\n", 3, "message 1: missing field 'content'"),
    ];
    for (name, text, line, reason) in cases {
        let path = write(dir.path(), &format!("{name}.jsonl"), text.as_bytes());
        let (_, invalid) = read_all(&messages(&path));
        assert_eq!(invalid.len(), 1, "{name}: {invalid:?}");
        assert_eq!(invalid[0].location.line, *line, "{name}: {}", invalid[0]);
        assert!(invalid[0].reason.contains(reason), "{name}: {}", invalid[0]);
    }
}

#[test]
fn a_bad_line_spoils_its_whole_session_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "s.jsonl",
        b"{\"role\":\"user\",\"content\":\"a1\",\"session_id\":\"a\"}\n{\"role\":\"user\",\"session_id\":\"a\"}\n{\"role\":\"user\",\"content\":\"a3\",\"session_id\":\"a\"}\n{\"role\":\"user\",\"content\":\"b1\",\"session_id\":\"b\"}\n",
    );
    let (records, invalid) = read_all(&messages(&path));
    assert_eq!(records.len(), 1);
    assert_eq!(session(&records[0]), vec!["user: b1"]);
    assert_eq!(invalid.len(), 1);
    assert_eq!(
        (invalid[0].location.line, invalid[0].location.end_line),
        (1, 3)
    );
    assert!(
        invalid[0]
            .reason
            .contains("line 2: missing field 'content'"),
        "{}",
        invalid[0]
    );
    assert!(
        invalid[0].reason.contains("left out as a whole"),
        "{}",
        invalid[0]
    );
}

#[test]
fn sessions_over_the_limit_and_lines_over_the_size_are_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..5 {
        text.push_str(&format!("{{\"role\":\"user\",\"content\":\"m{i}\"}}\n"));
    }
    let path = write(dir.path(), "big.jsonl", text.as_bytes());
    let options = MessageOptions {
        max_session_messages: 3,
        ..MessageOptions::default()
    };
    let (records, invalid) = read_all(&messages_with(&path, options));
    assert!(records.is_empty());
    assert!(
        invalid[0].reason.contains("more than the limit of 3"),
        "{}",
        invalid[0]
    );

    let long = format!(
        "{{\"role\":\"user\",\"content\":\"{}\"}}\n{{\"role\":\"user\",\"content\":\"ok\"}}\n",
        "x".repeat(200)
    );
    let path = write(dir.path(), "long.jsonl", long.as_bytes());
    let options = MessageOptions {
        max_record_bytes: 64,
        ..MessageOptions::default()
    };
    let (records, invalid) = read_all(&messages_with(&path, options));
    assert_eq!(invalid.len(), 1, "{invalid:?}");
    assert!(
        invalid[0].reason.contains("longer than 64 bytes"),
        "{}",
        invalid[0]
    );
    // A bad line that starts a file (or follows a blank line) is a record of its own.
    assert_eq!(records.len(), 1);
}

#[test]
fn broken_structure_stops_the_file_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text, line, reason) in [
        ("unclosed.json", "[\n{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}]}\n", 3, "missing ']'"),
        ("comma.json", "[\n[{\"role\":\"user\",\"content\":\"a\"}]\n[{\"role\":\"user\",\"content\":\"b\"}]\n]", 3, "expected ','"),
        ("string.json", "[{\"messages\": \"open\n", 2, "unclosed string"),
    ] {
        let path = write(dir.path(), name, text.as_bytes());
        let err = loader::read(&messages(&path))
            .unwrap()
            .find_map(|item| item.err())
            .unwrap_or_else(|| panic!("{name}: no error"));
        match err {
            LoadError::Malformed { line: got, reason: why, .. } => {
                assert_eq!(got, line, "{name}: {why}");
                assert!(why.contains(reason), "{name}: {why}");
            }
            other => panic!("{name}: {other}"),
        }
    }
}

#[test]
fn bad_text_lines_are_invalid_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "mixed.log",
        b"good one\n\xff\xfebad\ngood two\nnul\x00here\n",
    );
    let source = Source::Content {
        inputs: vec![Input::Path(path)],
        options: ContentOptions::default(),
    };
    let (records, invalid) = read_all(&source);
    assert_eq!(
        records.iter().map(content).collect::<Vec<_>>(),
        vec!["good one", "good two"]
    );
    assert_eq!(
        invalid.iter().map(|i| i.location.line).collect::<Vec<_>>(),
        vec![2, 4]
    );
    assert!(invalid[0].reason.contains("UTF-8"));
    assert!(invalid[1].reason.contains("NUL"));
}

#[test]
fn unusable_inputs_and_options_fail_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.jsonl");
    match loader::read(&messages(&missing)) {
        Err(LoadError::Read { reason, .. }) => assert!(reason.contains("no such file")),
        other => panic!("{:?}", other.err()),
    }
    match loader::read(&messages(dir.path())) {
        Err(LoadError::Read { reason, .. }) => assert!(reason.contains("is a directory")),
        other => panic!("{:?}", other.err()),
    }
    let source = Source::Content {
        inputs: vec![Input::Path(write(dir.path(), "x.txt", b"x"))],
        options: ContentOptions {
            chunk_size: 0,
            per_line: false,
        },
    };
    assert!(matches!(loader::read(&source), Err(LoadError::Options(_))));
    let source = Source::Documents {
        paths: vec![dir.path().join("missing-dir")],
        options: DocumentOptions::default(),
    };
    assert!(matches!(loader::read(&source), Err(LoadError::Read { .. })));
}

#[tokio::test]
async fn validation_fails_before_sending_or_reports_every_skipped_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "m.jsonl",
        b"{\"role\":\"user\",\"content\":\"ok\"}\n\n{\"role\":\"user\"}\n\n{\"role\":1,\"content\":\"x\"}\n",
    );
    let err = loader::validate_source(&messages(&path), &LoadOptions::default())
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("2 invalid records in the input; nothing was sent"),
        "{text}"
    );
    assert!(
        text.contains(&format!("{}:3: missing field 'content'", path.display())),
        "{text}"
    );
    assert!(text.contains("skip_invalid"), "{text}");
    assert_eq!(err.hint(), Some(Hint::SkipInvalid));

    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let options = LoadOptions {
        skip_invalid: true,
        dry_run: true,
        progress: Some(Arc::new(move |event: &Event<'_>| {
            if let Event::Invalid { record, skipped } = event {
                assert!(skipped);
                sink.lock().unwrap().push(record.location.line);
            }
        })),
        ..LoadOptions::default()
    };
    let validated = loader::validate_source(&messages(&path), &options)
        .await
        .unwrap();
    let summary = validated.dry_run_summary();
    assert_eq!((summary.records_read, summary.skipped), (1, 2));
    assert_eq!(summary.skipped_records.len(), 2);
    assert_eq!(*seen.lock().unwrap(), vec![3, 5]);
}
