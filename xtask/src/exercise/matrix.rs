//! The requests of the exercise: every optional field and mode of each operation, in an
//! order where later requests can use what earlier ones made (memory ids, cubes). Only the
//! exercise's own users and cubes (named after `prefix`) are touched.

use serde_json::{json, Value};

use super::session::{Answer, Request, Session};

/// The names the exercise writes under.
pub struct Names {
    pub user: String,
    pub cube: String,
    pub other_cube: String,
    pub session: String,
}

impl Names {
    pub fn new(prefix: &str) -> Names {
        Names {
            user: format!("{prefix}-user"),
            cube: format!("{prefix}-cube"),
            other_cube: format!("{prefix}-cube-2"),
            session: format!("{prefix}-session"),
        }
    }
}

/// Sends the whole matrix.
pub async fn run(session: &mut Session<'_>, names: &Names) -> anyhow::Result<()> {
    let ids = add(session, names).await?;
    reads(session, names, &ids).await?;
    search(session, names).await?;
    cubes(session, names).await?;
    internal(session, names, &ids).await?;
    chat(session, names).await?;
    feedback(session, names, &ids).await?;
    scheduler(session, names).await?;
    session
        .send(Request::query("health_check", "plain", Vec::new()))
        .await?;
    delete(session, names, &ids).await?;
    Ok(())
}

/// The ids of the first memory of each 200 add answer.
fn memory_ids(answer: &Answer) -> Vec<String> {
    answer
        .body
        .get("data")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|item| item.get("memory_id").and_then(Value::as_str))
        .map(str::to_owned)
        .collect()
}

/// A short chat with every role and every optional message field.
fn every_role() -> Value {
    json!([
        {"role": "system", "content": "You are a helpful assistant.", "name": "sys",
         "chat_time": "2026-12-01 10:00:00", "message_id": "m-0"},
        {"role": "user", "content": "I moved to Lisbon in March.", "name": "alice",
         "chat_time": "2026-12-01 10:00:01", "message_id": "m-1"},
        {"role": "assistant", "content": "Noted, you live in Lisbon.",
         "chat_time": "2026-12-01 10:00:02", "message_id": "m-2", "refusal": null},
        {"role": "assistant", "content": null, "tool_calls": [
            {"id": "call-1", "type": "function",
             "function": {"name": "weather", "arguments": "{\"city\": \"Lisbon\"}"}}]},
        {"role": "tool", "content": "Sunny, 21 degrees.", "tool_call_id": "call-1"},
        {"role": "user", "content": [
            {"type": "text", "text": "And the weather there?"},
            {"type": "image_url", "image_url": {"url": "https://example.invalid/a.png", "detail": "low"}}
        ]}
    ])
}

fn history() -> Value {
    json!([
        {"role": "user", "content": "Where do I live?"},
        {"role": "assistant", "content": "You live in Porto."}
    ])
}

async fn add(session: &mut Session<'_>, n: &Names) -> anyhow::Result<Vec<String>> {
    let base = |extra: Value| -> Value {
        let mut body = json!({"user_id": n.user, "writable_cube_ids": [n.cube]});
        merge(&mut body, extra);
        body
    };
    let sync_fast = json!({"async_mode": "sync", "mode": "fast"});
    let mut ids = Vec::new();
    let cases: Vec<(&str, Value)> = vec![
        ("string, sync fast", {
            let mut b = base(sync_fast.clone());
            merge(&mut b, json!({"messages": "build 1432 passed in 4m12s"}));
            b
        }),
        ("every role and message field, sync fast", {
            let mut b = base(sync_fast.clone());
            merge(
                &mut b,
                json!({"messages": every_role(), "session_id": n.session}),
            );
            b
        }),
        ("content as one part object", {
            let mut b = base(sync_fast.clone());
            merge(
                &mut b,
                json!({"messages": [
                    {"role": "user", "content": {"type": "text", "text": "A single part."}},
                    {"role": "assistant", "content": {"type": "text", "text": "One part back."}},
                    {"role": "system", "content": {"type": "text", "text": "System part."}}
                ]}),
            );
            b
        }),
        ("content parts with refusal and file", {
            let mut b = base(sync_fast.clone());
            merge(
                &mut b,
                json!({"messages": [
                    {"role": "user", "content": [
                        {"type": "text", "text": "See the file."},
                        {"type": "file", "file": {"file_data": "plain text of a file", "filename": "a.txt"}}
                    ]},
                    {"role": "assistant", "content": [
                        {"type": "text", "text": "I read it."},
                        {"type": "refusal", "refusal": "I will not summarise it."}
                    ]},
                    {"role": "system", "content": [{"type": "text", "text": "System parts."}]}
                ]}),
            );
            b
        }),
        ("tool call as one object, audio reference", {
            let mut b = base(sync_fast.clone());
            merge(
                &mut b,
                json!({"messages": [
                    {"role": "user", "content": "What is the weather?"},
                    {"role": "assistant", "audio": {"id": "audio-1"}, "tool_calls":
                        {"id": "call-2", "type": "custom", "custom": {"name": "weather", "input": "Lisbon"}}},
                    {"role": "tool", "content": [{"type": "text", "text": "Rain."}], "tool_call_id": "call-2"}
                ]}),
            );
            b
        }),
        ("raw text and file parts", {
            let mut b = base(sync_fast.clone());
            merge(
                &mut b,
                json!({"messages": [
                    {"type": "text", "text": "Meeting notes: ship on Friday."},
                    {"type": "file", "file": {"file_data": "notes body", "filename": "notes.txt"}}
                ]}),
            );
            b
        }),
        ("empty messages list", {
            let mut b = base(sync_fast.clone());
            merge(&mut b, json!({"messages": []}));
            b
        }),
        // `messages: null` is not sent: the server takes it as no messages, and the spec
        // keeps the field non-nullable on purpose (see the drift allow-list: a nullable
        // `$ref` would give the typed request a `NullValue` variant).
        ("no messages", base(sync_fast.clone())),
        (
            "async (the default)",
            base(json!({"messages": "async note about Porto"})),
        ),
        (
            "async with mode fine",
            base(json!({"messages": "async fine note", "async_mode": "async", "mode": "fine"})),
        ),
        (
            "sync fine",
            base(
                json!({"messages": [{"role": "user", "content": "I like green tea."}], "async_mode": "sync", "mode": "fine"}),
            ),
        ),
        (
            "sync without mode",
            base(json!({"messages": "sync note without a mode", "async_mode": "sync"})),
        ),
        (
            "feedback mode",
            base(json!({"messages": [
            {"role": "user", "content": "Where do I live?"},
            {"role": "assistant", "content": "Porto."},
            {"role": "user", "content": "No, Lisbon."}
        ], "async_mode": "sync", "is_feedback": true})),
        ),
        (
            "feedback mode, fast",
            base(
                json!({"messages": "No, I live in Lisbon.", "async_mode": "sync", "mode": "fast", "is_feedback": true}),
            ),
        ),
        (
            "every metadata field",
            base(json!({
                "messages": "tagged note", "async_mode": "sync", "mode": "fast",
                "session_id": n.session, "task_id": format!("{}-task", n.user),
                "manager_user_id": "manager", "project_id": "project",
                "custom_tags": ["a", "b"], "info": {"source_type": "web", "run": 1},
                "source": "exercise"
            })),
        ),
        (
            "every nullable field null",
            base(json!({
                "messages": "nulls note", "async_mode": "sync", "mode": null,
                "session_id": null, "task_id": null, "manager_user_id": null, "project_id": null,
                "custom_tags": null, "info": null, "chat_history": null, "mem_cube_id": null,
                "memory_content": null, "doc_path": null, "source": null, "operation": null
            })),
        ),
        (
            "chat_history",
            base(
                json!({"messages": "follow-up", "async_mode": "sync", "mode": "fast", "chat_history": history()}),
            ),
        ),
        (
            "operation permissions",
            base(
                json!({"messages": "permitted", "async_mode": "sync", "mode": "fast",
            "operation": [{"mem_cube_id": n.cube, "permissions": ["read", "write"]}]}),
            ),
        ),
        ("two writable cubes", {
            let mut b = json!({"user_id": n.user, "writable_cube_ids": [n.cube, n.other_cube]});
            merge(
                &mut b,
                json!({"messages": "in two cubes", "async_mode": "sync", "mode": "fast"}),
            );
            b
        }),
        (
            "mem_cube_id instead of writable_cube_ids",
            json!({"user_id": n.user, "mem_cube_id": n.other_cube,
            "messages": "by mem_cube_id", "async_mode": "sync", "mode": "fast"}),
        ),
        (
            "no cube: the user's own",
            json!({"user_id": n.user, "messages": "own cube", "async_mode": "sync", "mode": "fast"}),
        ),
        (
            "memory_content with messages",
            base(
                json!({"messages": [{"role": "user", "content": "with content"}],
            "memory_content": "deprecated content", "async_mode": "sync", "mode": "fast"}),
            ),
        ),
        (
            "memory_content alone",
            base(
                json!({"memory_content": "deprecated content alone", "async_mode": "sync", "mode": "fast"}),
            ),
        ),
        (
            "doc_path with messages",
            base(
                json!({"messages": [{"role": "user", "content": "with a doc"}],
            "doc_path": "/nonexistent/doc.txt", "async_mode": "sync", "mode": "fast"}),
            ),
        ),
        (
            "is_upload_skill false",
            base(
                json!({"messages": "not a skill", "is_upload_skill": false, "async_mode": "sync", "mode": "fast"}),
            ),
        ),
        (
            "without user_id",
            json!({"writable_cube_ids": [n.cube], "messages": "no user"}),
        ),
        (
            "async_mode invalid",
            base(json!({"messages": "x", "async_mode": "later"})),
        ),
        (
            "mode invalid",
            base(json!({"messages": "x", "mode": "slow"})),
        ),
        (
            "a message without role",
            base(json!({"messages": [{"content": "no role"}]})),
        ),
    ];
    for (case, body) in cases {
        let answer = session
            .send(Request::body("add_memories", case, body))
            .await?;
        if answer.status == 200 {
            ids.extend(memory_ids(&answer));
        }
    }
    Ok(ids)
}

async fn reads(session: &mut Session<'_>, n: &Names, ids: &[String]) -> anyhow::Result<()> {
    let first = ids.first().cloned().unwrap_or_default();
    let get_memories: Vec<(&str, Value)> = vec![
        ("minimal", json!({"mem_cube_id": n.cube})),
        (
            "every bucket",
            json!({"mem_cube_id": n.cube, "user_id": n.user, "include_preference": true,
            "include_tool_memory": true, "include_skill_memory": true}),
        ),
        (
            "no extra bucket",
            json!({"mem_cube_id": n.cube, "include_preference": false,
            "include_tool_memory": false, "include_skill_memory": false}),
        ),
        (
            "page, page_size and filter",
            json!({"mem_cube_id": n.cube, "page": 1, "page_size": 2,
            "filter": {"session_id": n.session}}),
        ),
        (
            "nulls",
            json!({"mem_cube_id": n.cube, "user_id": null, "filter": null, "page": null, "page_size": null}),
        ),
        (
            "an empty cube",
            json!({"mem_cube_id": format!("{}-empty", n.cube)}),
        ),
        ("without mem_cube_id", json!({"user_id": n.user})),
    ];
    for (case, body) in get_memories {
        session
            .send(Request::body("get_memories", case, body))
            .await?;
    }
    let dashboard: Vec<(&str, Value)> = vec![
        ("a cube", json!({"mem_cube_id": n.cube})),
        (
            "a cube, no extra bucket",
            json!({"mem_cube_id": n.cube, "include_preference": false,
            "include_tool_memory": false, "include_skill_memory": false}),
        ),
        (
            "every field",
            json!({"mem_cube_id": n.cube, "user_id": n.user, "include_preference": true,
            "include_tool_memory": true, "include_skill_memory": true, "filter": {"a": 1}, "page": 1, "page_size": 5}),
        ),
        ("a user without a cube", json!({"user_id": n.user})),
        (
            "a user with no memories",
            json!({"user_id": format!("{}-new", n.user)}),
        ),
        ("empty body", json!({})),
        (
            "mem_cube_id null",
            json!({"mem_cube_id": null, "include_tool_memory": false}),
        ),
        (
            "an empty cube",
            json!({"mem_cube_id": format!("{}-empty", n.cube)}),
        ),
    ];
    for (case, body) in dashboard {
        session
            .send(Request::body("get_memory_dashboard", case, body))
            .await?;
    }
    for (case, id) in [
        ("an id added to a cube", first.clone()),
        (
            "an unknown id",
            "00000000-0000-4000-8000-000000000000".to_owned(),
        ),
        ("not a uuid", "not-a-uuid".to_owned()),
    ] {
        session
            .send(Request {
                operation: "get_memory",
                case,
                path_params: vec![("memory_id", id)],
                query: Vec::new(),
                body: None,
            })
            .await?;
    }
    for (case, body) in [
        ("ids added to a cube", json!(ids)),
        ("an empty list", json!([])),
        (
            "unknown ids",
            json!(["00000000-0000-4000-8000-000000000000"]),
        ),
        ("not a list", json!({"memory_ids": [first]})),
    ] {
        session
            .send(Request::body("get_memories_by_ids", case, body))
            .await?;
    }
    let get_all: Vec<(&str, Value)> = vec![
        (
            "text_mem",
            json!({"user_id": n.user, "memory_type": "text_mem", "mem_cube_ids": [n.cube]}),
        ),
        (
            "text_mem, the user's own cube",
            json!({"user_id": n.user, "memory_type": "text_mem"}),
        ),
        (
            "text_mem, an empty cube",
            json!({"user_id": n.user, "memory_type": "text_mem", "mem_cube_ids": [format!("{}-empty", n.cube)]}),
        ),
        (
            "act_mem",
            json!({"user_id": n.user, "memory_type": "act_mem", "mem_cube_ids": [n.cube]}),
        ),
        (
            "param_mem",
            json!({"user_id": n.user, "memory_type": "param_mem", "mem_cube_ids": [n.cube]}),
        ),
        (
            "para_mem",
            json!({"user_id": n.user, "memory_type": "para_mem", "mem_cube_ids": [n.cube]}),
        ),
        (
            "nulls",
            json!({"user_id": n.user, "memory_type": "text_mem", "mem_cube_ids": null, "search_query": null}),
        ),
        (
            "search_query fulltext",
            json!({"user_id": n.user, "memory_type": "text_mem", "mem_cube_ids": [n.cube],
            "search_query": "Lisbon", "search_type": "fulltext"}),
        ),
        (
            "search_query embedding",
            json!({"user_id": n.user, "memory_type": "text_mem", "mem_cube_ids": [n.cube],
            "search_query": "Lisbon", "search_type": "embedding"}),
        ),
        (
            "memory_type invalid",
            json!({"user_id": n.user, "memory_type": "pref_mem"}),
        ),
    ];
    for (case, body) in get_all {
        session
            .send(Request::body("get_all_memories", case, body))
            .await?;
    }
    Ok(())
}

async fn search(session: &mut Session<'_>, n: &Names) -> anyhow::Result<()> {
    let base = |extra: Value| -> Value {
        let mut body = json!({"query": "where do I live", "user_id": n.user,
            "readable_cube_ids": [n.cube], "relativity": 0});
        merge(&mut body, extra);
        body
    };
    let cases: Vec<(&str, Value)> = vec![
        (
            "minimal (the user's own cube)",
            json!({"query": "where do I live", "user_id": n.user}),
        ),
        ("mode fast", base(json!({"mode": "fast"}))),
        ("mode fine", base(json!({"mode": "fine"}))),
        ("mode mixture", base(json!({"mode": "mixture"}))),
        ("dedup no", base(json!({"dedup": "no"}))),
        ("dedup sim", base(json!({"dedup": "sim"}))),
        ("dedup mmr", base(json!({"dedup": "mmr"}))),
        ("dedup null", base(json!({"dedup": null}))),
        (
            "no rerank, no extra kinds",
            base(json!({"rerank": false, "include_preference": false,
            "search_tool_memory": false, "include_skill_memory": false})),
        ),
        (
            "every top_k",
            base(json!({"top_k": 3, "pref_top_k": 0, "tool_mem_top_k": 0, "skill_mem_top_k": 0})),
        ),
        (
            "filter, session, threshold, time",
            base(json!({"filter": {"session_id": n.session},
            "session_id": n.session, "threshold": 0.1, "reference_time": "2026-12-01T10:00:00Z",
            "context_format": "memory", "source": "exercise", "internet_search": false})),
        ),
        (
            "search_memory_type LongTermMemory",
            base(json!({"search_memory_type": "LongTermMemory"})),
        ),
        (
            "search_memory_type PreferenceMemory",
            base(json!({"search_memory_type": "PreferenceMemory"})),
        ),
        (
            "search_memory_type ToolSchemaMemory",
            base(json!({"search_memory_type": "ToolSchemaMemory"})),
        ),
        (
            "search_memory_type SkillMemory",
            base(json!({"search_memory_type": "SkillMemory"})),
        ),
        (
            "search_memory_type RawFileMemory",
            base(json!({"search_memory_type": "RawFileMemory"})),
        ),
        ("chat_history", base(json!({"chat_history": history()}))),
        (
            "neighbor_discovery",
            base(json!({"neighbor_discovery": true})),
        ),
        (
            "mem_cube_id",
            json!({"query": "where do I live", "user_id": n.user, "mem_cube_id": n.cube, "relativity": 0}),
        ),
        (
            "two cubes",
            base(json!({"readable_cube_ids": [n.cube, n.other_cube]})),
        ),
        (
            "an empty cube",
            base(json!({"readable_cube_ids": [format!("{}-empty", n.cube)]})),
        ),
        (
            "operation permissions",
            base(json!({"operation": [{"mem_cube_id": n.cube, "permissions": ["read"]}]})),
        ),
        ("moscube", base(json!({"moscube": true}))),
        (
            "nulls",
            base(
                json!({"session_id": null, "filter": null, "threshold": null, "reference_time": null,
            "chat_history": null, "mem_cube_id": null, "operation": null, "source": null}),
            ),
        ),
        ("an empty query", base(json!({"query": ""}))),
        ("without query", json!({"user_id": n.user})),
        ("mode invalid", base(json!({"mode": "slow"}))),
    ];
    for (case, body) in cases {
        session
            .send(Request::body("search_memories", case, body))
            .await?;
    }
    Ok(())
}

async fn cubes(session: &mut Session<'_>, n: &Names) -> anyhow::Result<()> {
    let created = format!("{}-created", n.cube);
    let cases: Vec<(&str, Value)> = vec![
        (
            "with cube_id",
            json!({"cube_name": "exercise", "owner_id": "root", "cube_id": created}),
        ),
        (
            "generated id, cube_path",
            json!({"cube_name": "exercise-2", "owner_id": "root",
            "cube_path": format!("/nonexistent/{}", n.cube)}),
        ),
        (
            "nulls",
            json!({"cube_name": "exercise-3", "owner_id": "root", "cube_id": null, "cube_path": null}),
        ),
        (
            "a duplicate cube_id",
            json!({"cube_name": "exercise", "owner_id": "root", "cube_id": created}),
        ),
        (
            "an owner that does not exist",
            json!({"cube_name": "x", "owner_id": n.user}),
        ),
        ("without owner_id", json!({"cube_name": "x"})),
    ];
    for (case, body) in cases {
        session
            .send(Request::body("create_cube", case, body))
            .await?;
    }
    let cases: Vec<(&str, Value)> = vec![
        (
            "a path only",
            json!({"mem_cube_name_or_path": format!("/nonexistent/{}", n.cube)}),
        ),
        (
            "every field",
            json!({"mem_cube_name_or_path": format!("/nonexistent/{}", n.cube),
            "mem_cube_id": n.cube, "user_id": "root"}),
        ),
        (
            "nulls",
            json!({"mem_cube_name_or_path": "x", "mem_cube_id": null, "user_id": null}),
        ),
        (
            "a user that does not exist",
            json!({"mem_cube_name_or_path": "x", "user_id": n.user}),
        ),
        ("without a path", json!({"mem_cube_id": n.cube})),
    ];
    for (case, body) in cases {
        session
            .send(Request::body("register_cube", case, body))
            .await?;
    }
    for (case, body) in [
        ("a cube", json!({"mem_cube_id": n.cube})),
        ("without mem_cube_id", json!({})),
    ] {
        session
            .send(Request::body("exist_mem_cube_id", case, body))
            .await?;
    }
    Ok(())
}

async fn internal(session: &mut Session<'_>, n: &Names, ids: &[String]) -> anyhow::Result<()> {
    for (case, body) in [
        ("ids", json!({"memory_ids": ids})),
        ("an empty list", json!({"memory_ids": []})),
        ("without memory_ids", json!({})),
    ] {
        session
            .send(Request::body("get_user_names_by_memory_ids", case, body))
            .await?;
    }
    let record = format!("{}-record", n.user);
    for (case, body) in [
        (
            "soft",
            json!({"mem_cube_id": n.other_cube, "record_id": record}),
        ),
        (
            "hard",
            json!({"mem_cube_id": n.other_cube, "record_id": record, "hard_delete": true}),
        ),
        ("without record_id", json!({"mem_cube_id": n.other_cube})),
    ] {
        session
            .send(Request::body("delete_memory_by_record_id", case, body))
            .await?;
    }
    for (case, body) in [
        (
            "a record",
            json!({"mem_cube_id": n.other_cube, "delete_record_id": record}),
        ),
        (
            "without delete_record_id",
            json!({"mem_cube_id": n.other_cube}),
        ),
    ] {
        session
            .send(Request::body("recover_memory_by_record_id", case, body))
            .await?;
    }
    Ok(())
}

async fn chat(session: &mut Session<'_>, n: &Names) -> anyhow::Result<()> {
    let base = |extra: Value| -> Value {
        let mut body = json!({"user_id": n.user, "query": "Where do I live?",
            "readable_cube_ids": [n.cube], "writable_cube_ids": [n.other_cube], "relativity": 0});
        merge(&mut body, extra);
        body
    };
    let every_field = json!({
        "history": history(), "mode": "fine", "system_prompt": "Be brief.", "top_k": 3,
        "session_id": n.session, "include_preference": false, "pref_top_k": 0,
        "model_name_or_path": null, "max_tokens": 64, "temperature": 0.2, "top_p": 0.9,
        "add_message_on_answer": false, "manager_user_id": "manager", "project_id": "project",
        "filter": {"session_id": n.session}, "internet_search": false, "threshold": 0.1,
        "mem_cube_id": null, "moscube": false
    });
    let complete: Vec<(&str, Value)> = vec![
        (
            "minimal",
            json!({"user_id": n.user, "query": "Where do I live?"}),
        ),
        ("cubes", base(json!({}))),
        ("every field", base(every_field.clone())),
        (
            "mode mixture",
            base(json!({"mode": "mixture", "add_message_on_answer": false})),
        ),
        (
            "mem_cube_id",
            json!({"user_id": n.user, "query": "Where do I live?", "mem_cube_id": n.cube, "add_message_on_answer": false}),
        ),
        (
            "an unknown model",
            base(json!({"model_name_or_path": "no-such-model"})),
        ),
        ("top_k 0", base(json!({"top_k": 0}))),
        ("without query", json!({"user_id": n.user})),
    ];
    for (case, body) in complete {
        session
            .send(Request::body("chat_complete", case, body))
            .await?;
    }
    let stream: Vec<(&str, Value)> = vec![
        (
            "minimal",
            json!({"user_id": n.user, "query": "Where do I live?", "add_message_on_answer": false}),
        ),
        ("cubes", base(json!({}))),
        ("every field", base(every_field.clone())),
        (
            "an unknown model",
            base(json!({"model_name_or_path": "no-such-model"})),
        ),
        ("without query", json!({"user_id": n.user})),
    ];
    for (case, body) in stream {
        session
            .send(Request::body("chat_stream", case, body))
            .await?;
    }
    let playground: Vec<(&str, Value)> = vec![
        (
            "minimal",
            json!({"user_id": n.user, "query": "Where do I live?"}),
        ),
        (
            "cubes, no add",
            base(json!({"add_message_on_answer": false})),
        ),
        (
            "beginner_guide_step first",
            base(json!({"beginner_guide_step": "first"})),
        ),
        (
            "beginner_guide_step second",
            base(json!({"beginner_guide_step": "second"})),
        ),
        (
            "every field",
            base({
                let mut b = every_field.clone();
                merge(&mut b, json!({"beginner_guide_step": null}));
                b
            }),
        ),
        (
            "an unknown model",
            base(json!({"model_name_or_path": "no-such-model"})),
        ),
    ];
    for (case, body) in playground {
        session
            .send(Request::body("chat_stream_playground", case, body))
            .await?;
    }
    let business: Vec<(&str, Value)> = vec![
        (
            "an unknown business_key",
            base(json!({"business_key": "no-such-key"})),
        ),
        (
            "need_search",
            base(json!({"business_key": "no-such-key", "need_search": true})),
        ),
        ("without business_key", base(json!({}))),
    ];
    for (case, body) in business {
        session
            .send(Request::body("chat_stream_business_user", case, body))
            .await?;
    }
    let suggestions: Vec<(&str, Value)> = vec![
        (
            "en",
            json!({"user_id": n.user, "mem_cube_id": n.cube, "language": "en"}),
        ),
        (
            "zh (the default)",
            json!({"user_id": n.user, "mem_cube_id": n.cube}),
        ),
        (
            "an empty cube",
            json!({"user_id": n.user, "mem_cube_id": format!("{}-empty", n.cube), "language": "en"}),
        ),
        (
            "message string",
            json!({"user_id": n.user, "mem_cube_id": n.cube, "language": "en", "message": "I moved to Lisbon."}),
        ),
        (
            "message list",
            json!({"user_id": n.user, "mem_cube_id": n.cube, "language": "en", "message": history()}),
        ),
        (
            "language invalid",
            json!({"user_id": n.user, "mem_cube_id": n.cube, "language": "fr"}),
        ),
    ];
    for (case, body) in suggestions {
        session
            .send(Request::body("get_suggestions", case, body))
            .await?;
    }
    Ok(())
}

async fn feedback(session: &mut Session<'_>, n: &Names, ids: &[String]) -> anyhow::Result<()> {
    let base = |extra: Value| -> Value {
        let mut body = json!({"user_id": n.user, "writable_cube_ids": [n.cube],
            "history": history(), "feedback_content": "No, I live in Lisbon."});
        merge(&mut body, extra);
        body
    };
    let cases: Vec<(&str, Value)> = vec![
        ("sync", base(json!({"async_mode": "sync"}))),
        ("async (the default)", base(json!({}))),
        (
            "sync, corrected_answer",
            base(json!({"async_mode": "sync", "corrected_answer": true})),
        ),
        (
            "sync, every field",
            base(json!({"async_mode": "sync", "session_id": n.session,
            "task_id": format!("{}-feedback", n.user), "retrieved_memory_ids": ids.iter().take(2).collect::<Vec<_>>(),
            "feedback_time": "2026-12-01 10:05:00", "info": {"source_type": "exercise"}})),
        ),
        (
            "sync, two cubes",
            base(json!({"async_mode": "sync", "writable_cube_ids": [n.cube, n.other_cube]})),
        ),
        (
            "sync, mem_cube_id",
            json!({"user_id": n.user, "mem_cube_id": n.cube, "history": history(),
            "feedback_content": "No, I live in Lisbon.", "async_mode": "sync"}),
        ),
        (
            "sync, no cube",
            json!({"user_id": n.user, "history": history(),
            "feedback_content": "No, I live in Lisbon.", "async_mode": "sync"}),
        ),
        (
            "sync, history null",
            base(json!({"async_mode": "sync", "history": null})),
        ),
        (
            "sync, empty history",
            base(json!({"async_mode": "sync", "history": []})),
        ),
        (
            "sync, feedback_content null",
            base(json!({"async_mode": "sync", "feedback_content": null})),
        ),
        (
            "nulls",
            base(
                json!({"session_id": null, "task_id": null, "retrieved_memory_ids": null,
            "feedback_time": null, "info": null, "mem_cube_id": null}),
            ),
        ),
        (
            "without history",
            json!({"user_id": n.user, "feedback_content": "x"}),
        ),
    ];
    for (case, body) in cases {
        session
            .send(Request::body("feedback_memories", case, body))
            .await?;
    }
    Ok(())
}

async fn scheduler(session: &mut Session<'_>, n: &Names) -> anyhow::Result<()> {
    session
        .send(Request::query("scheduler_all_status", "plain", Vec::new()))
        .await?;
    let user = || ("user_id", n.user.clone());
    for (case, query) in [
        ("a user", vec![user()]),
        (
            "a task_id",
            vec![user(), ("task_id", format!("{}-task", n.user))],
        ),
        ("without user_id", Vec::new()),
    ] {
        session
            .send(Request::query("scheduler_status", case, query))
            .await?;
    }
    for (case, query) in [("a user", vec![user()]), ("without user_id", Vec::new())] {
        session
            .send(Request::query("scheduler_task_queue_status", case, query))
            .await?;
    }
    let name = || ("user_name", n.user.clone());
    for operation in ["scheduler_wait", "scheduler_wait_stream"] {
        for (case, query) in [
            ("a user", vec![name()]),
            (
                "timeout and poll interval",
                vec![
                    name(),
                    ("timeout_seconds", "2".to_owned()),
                    ("poll_interval", "0.1".to_owned()),
                ],
            ),
            ("without user_name", Vec::new()),
        ] {
            session.send(Request::query(operation, case, query)).await?;
        }
    }
    Ok(())
}

async fn delete(session: &mut Session<'_>, n: &Names, ids: &[String]) -> anyhow::Result<()> {
    let first: Vec<&String> = ids.iter().take(1).collect();
    let cases: Vec<(&str, Value)> = vec![
        (
            "memory_ids",
            json!({"writable_cube_ids": [n.cube], "memory_ids": first}),
        ),
        (
            "memory_ids, auto_cleanup_working",
            json!({"writable_cube_ids": [n.cube],
            "memory_ids": ids.iter().skip(1).take(1).collect::<Vec<_>>(), "auto_cleanup_working": true}),
        ),
        (
            "file_ids",
            json!({"writable_cube_ids": [n.cube], "file_ids": ["no-such-file"]}),
        ),
        (
            "filter",
            json!({"writable_cube_ids": [n.other_cube], "filter": {"session_id": "no-such-session"}}),
        ),
        (
            "session_id",
            json!({"writable_cube_ids": [n.other_cube], "session_id": "no-such-session"}),
        ),
        (
            "conversation_id equal to session_id",
            json!({"writable_cube_ids": [n.other_cube],
            "session_id": "no-such-session", "conversation_id": "no-such-session"}),
        ),
        (
            "conversation_id alone",
            json!({"writable_cube_ids": [n.other_cube], "conversation_id": "no-such-session"}),
        ),
        (
            "user_id",
            json!({"writable_cube_ids": [n.other_cube], "user_id": n.user}),
        ),
        ("no selector", json!({"writable_cube_ids": [n.cube]})),
        (
            "two selectors",
            json!({"writable_cube_ids": [n.cube], "memory_ids": ["x"], "file_ids": ["y"]}),
        ),
        (
            "an empty memory_ids list",
            json!({"writable_cube_ids": [n.cube], "memory_ids": []}),
        ),
        (
            "nulls",
            json!({"writable_cube_ids": null, "memory_ids": null, "file_ids": null, "filter": null,
            "user_id": null, "session_id": null, "conversation_id": null, "auto_cleanup_working": null}),
        ),
        ("memory_ids not a list", json!({"memory_ids": "x"})),
    ];
    for (case, body) in cases {
        session
            .send(Request::body("delete_memories", case, body))
            .await?;
    }
    Ok(())
}

/// `extra`'s keys set on `body` (both objects).
fn merge(body: &mut Value, extra: Value) {
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
}
