//! Every operation of `memos_api::v1::Client` against httpmock: the exact request it sends
//! (method, path, query, headers, body) and the typed value it makes of the reference server's
//! success answer. Each request test runs once with a bearer token and once with an API key.

use crate::common;

use common::{body, no_body, query_is, Cred};
use httpmock::prelude::*;
use httpmock::{Then, When};
use memos_api::v1::types::{self, MemoryCollection, UserRole};
use memos_api::v1::Client;
use serde_json::{json, Value};

/// The request line and headers every call sends: method, path, exactly `query`, the
/// credential, `accept: application/json`.
fn request(
    when: When,
    method: Method,
    path: &str,
    query: &'static [(&'static str, &'static str)],
    cred: Cred,
) -> When {
    when.method(method)
        .path(path)
        .is_true(query_is(query))
        .header("authorization", cred.header())
        .header("accept", "application/json")
}

/// A request with exactly this JSON body, sent as `content-type: application/json`.
fn with_json(when: When, body: Value) -> When {
    when.header("content-type", "application/json")
        .json_body(body)
}

/// A request without a body and without a content type.
fn without_body(when: When) -> When {
    when.header_missing("content-type").is_true(no_body)
}

/// The reference server's 200: compact JSON, `content-type: application/json`, no charset.
fn ok(then: Then, body: &str) -> Then {
    then.status(200)
        .header("content-type", "application/json")
        .body(body)
}

fn backend(name: &str, config: Value) -> types::BackendConfig {
    types::BackendConfig::builder()
        .backend(name)
        .config(config.as_object().expect("an object").clone())
        .try_into()
        .expect("a complete BackendConfig")
}

fn metadata_of(collection: &MemoryCollection) -> Vec<&types::MemoryMetadata> {
    match collection {
        MemoryCollection::Array(items) => items.iter().map(|item| &item.metadata).collect(),
        MemoryCollection::MemoryGraph(graph) => panic!("expected a list, got a graph: {graph:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// configure

#[tokio::test]
async fn configure_sends_the_whole_config_exactly_and_returns_unit() {
    let llm = json!({
        "model_name_or_path": "fake-model",
        "api_key": "sk-fake",
        "api_base": "http://127.0.0.1:9000/v1"
    });
    let config = types::MosConfig::builder()
        .user_id("root".to_owned())
        .session_id("default-session".to_owned())
        .chat_model(backend("openai", llm.clone()))
        .mem_reader(backend(
            "simple_struct",
            json!({
                "llm": {"backend": "openai", "config": llm},
                "embedder": {"backend": "universal_api", "config": {"provider": "openai", "api_key": "sk-fake", "base_url": "http://127.0.0.1:9000/v1", "model_name_or_path": "fake-embed"}},
                "chunker": {"backend": "sentence", "config": {"tokenizer_or_token_counter": "character", "chunk_size": 512, "chunk_overlap": 128}}
            }),
        ))
        .top_k(5)
        .enable_textual_memory(true)
        .enable_activation_memory(false)
        .pro_mode(false);
    let expected = json!({
        "user_id": "root",
        "session_id": "default-session",
        "chat_model": {"backend": "openai", "config": llm},
        "mem_reader": {"backend": "simple_struct", "config": {
            "llm": {"backend": "openai", "config": llm},
            "embedder": {"backend": "universal_api", "config": {"provider": "openai", "api_key": "sk-fake", "base_url": "http://127.0.0.1:9000/v1", "model_name_or_path": "fake-embed"}},
            "chunker": {"backend": "sentence", "config": {"tokenizer_or_token_counter": "character", "chunk_size": 512, "chunk_overlap": 128}}
        }},
        "top_k": 5,
        "enable_textual_memory": true,
        "enable_activation_memory": false,
        "PRO_MODE": false
    });
    for cred in Cred::BOTH {
        let server = MockServer::start_async().await;
        let mock = server
            .mock_async(|when, then| {
                with_json(
                    request(when, POST, "/configure", &[], cred),
                    expected.clone(),
                );
                ok(then, body::CONFIGURED);
            })
            .await;
        let result = cred.client(&server).configure(config.clone()).await;
        mock.assert_async().await;
        result.unwrap_or_else(|err| panic!("{cred:?}: {err}"));
    }
}

#[tokio::test]
async fn configure_omits_every_field_left_unset() {
    // `mem_reader` is the one required field.
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            with_json(
                request(when, POST, "/configure", &[], Cred::Bearer),
                json!({"user_id": "alice", "top_k": 3, "mem_reader": {"backend": "simple_struct", "config": {"k": 1}}}),
            );
            ok(then, body::CONFIGURED);
        })
        .await;
    let result = Cred::Bearer
        .client(&server)
        .configure(
            types::MosConfig::builder()
                .user_id("alice".to_owned())
                .top_k(3)
                .mem_reader(types::BackendConfig {
                    backend: "simple_struct".into(),
                    config: json!({"k": 1}).as_object().cloned().unwrap_or_default(),
                }),
        )
        .await;
    mock.assert_async().await;
    result.unwrap();
}

// ---------------------------------------------------------------------------------------------
// users

#[tokio::test]
async fn list_users_sends_a_bare_get_and_returns_the_users_in_order() {
    for cred in Cred::BOTH {
        let server = MockServer::start_async().await;
        let mock = server
            .mock_async(|when, then| {
                without_body(request(when, GET, "/users", &[], cred));
                ok(then, body::USERS);
            })
            .await;
        let result = cred.client(&server).list_users().await;
        mock.assert_async().await;
        let users = result.unwrap();
        assert_eq!(
            users,
            vec![
                types::User {
                    user_id: "root".into(),
                    user_name: "root".into(),
                    role: UserRole::Root,
                    created_at: "2026-11-26T10:00:00.123456".into(),
                    is_active: true,
                },
                types::User {
                    user_id: "alice".into(),
                    user_name: "Alice".into(),
                    role: UserRole::User,
                    created_at: "2026-11-26T10:00:01.5".into(),
                    is_active: true,
                },
            ]
        );
    }
}

#[tokio::test]
async fn create_user_sends_role_user_when_no_role_is_set_and_omits_the_name() {
    for cred in Cred::BOTH {
        let server = MockServer::start_async().await;
        let mock = server
            .mock_async(|when, then| {
                with_json(
                    request(when, POST, "/users", &[], cred),
                    json!({"user_id": "alice", "role": "USER"}),
                );
                ok(then, body::USER_CREATED);
            })
            .await;
        let result = cred
            .client(&server)
            .create_user(types::UserCreate::builder().user_id("alice"))
            .await;
        mock.assert_async().await;
        assert_eq!(result.unwrap().user_id.as_deref(), Some("alice"));
    }
}

#[tokio::test]
async fn create_user_sends_the_given_name_and_role() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            with_json(
                request(when, POST, "/users", &[], Cred::ApiKey),
                json!({"user_id": "alice", "user_name": "Alice", "role": "ADMIN"}),
            );
            ok(then, body::USER_CREATED);
        })
        .await;
    let result = Cred::ApiKey
        .client(&server)
        .create_user(
            types::UserCreate::builder()
                .user_id("alice")
                .user_name("Alice".to_owned())
                .role(UserRole::Admin),
        )
        .await;
    mock.assert_async().await;
    assert_eq!(result.unwrap().user_id.as_deref(), Some("alice"));
}

#[tokio::test]
async fn create_user_returns_no_id_when_the_id_exists_with_another_name() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST).path("/users");
            ok(then, body::USER_CREATED_NULL);
        })
        .await;
    let created = Cred::Bearer
        .client(&server)
        .create_user(
            types::UserCreate::builder()
                .user_id("alice")
                .user_name("Someone Else".to_owned()),
        )
        .await
        .unwrap();
    mock.assert_async().await;
    assert_eq!(created, types::CreatedUser { user_id: None });
}

#[tokio::test]
async fn get_current_user_sends_a_bare_get_and_returns_the_user_with_their_cubes() {
    for cred in Cred::BOTH {
        let server = MockServer::start_async().await;
        let mock = server
            .mock_async(|when, then| {
                without_body(request(when, GET, "/users/me", &[], cred));
                ok(then, body::ME);
            })
            .await;
        let result = cred.client(&server).get_current_user().await;
        mock.assert_async().await;
        let me = result.unwrap();
        assert_eq!(me.user_id, "root");
        assert_eq!(me.user_name, "root");
        assert_eq!(me.role, UserRole::Root);
        assert_eq!(me.created_at, "2026-11-26T10:00:00.123456");
        assert_eq!(
            me.accessible_cubes,
            vec![
                types::CubeInfo {
                    cube_id: "notes".into(),
                    cube_name: "/srv/cubes/notes".into(),
                    cube_path: Some("/srv/cubes/notes".into()),
                    owner_id: "root".into(),
                    is_loaded: true,
                },
                types::CubeInfo {
                    cube_id: "old".into(),
                    cube_name: "/srv/cubes/old".into(),
                    cube_path: Some("/srv/cubes/old".into()),
                    owner_id: "alice".into(),
                    is_loaded: false,
                },
            ]
        );
    }
}

// ---------------------------------------------------------------------------------------------
// cubes

#[tokio::test]
async fn register_cube_sends_path_id_and_user() {
    for cred in Cred::BOTH {
        let server = MockServer::start_async().await;
        let mock = server
            .mock_async(|when, then| {
                with_json(
                    request(when, POST, "/mem_cubes", &[], cred),
                    json!({"mem_cube_name_or_path": "/srv/cubes/notes", "mem_cube_id": "notes", "user_id": "alice"}),
                );
                ok(then, body::CUBE_REGISTERED);
            })
            .await;
        let result = cred
            .client(&server)
            .register_cube(
                types::MemCubeRegister::builder()
                    .mem_cube_name_or_path("/srv/cubes/notes")
                    .mem_cube_id("notes".to_owned())
                    .user_id("alice".to_owned()),
            )
            .await;
        mock.assert_async().await;
        result.unwrap();
    }
}

#[tokio::test]
async fn register_cube_omits_the_unset_id_and_user() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            with_json(
                request(when, POST, "/mem_cubes", &[], Cred::Bearer),
                json!({"mem_cube_name_or_path": "/srv/cubes/notes"}),
            );
            ok(then, body::CUBE_REGISTERED);
        })
        .await;
    let result = Cred::Bearer
        .client(&server)
        .register_cube(types::MemCubeRegister::builder().mem_cube_name_or_path("/srv/cubes/notes"))
        .await;
    mock.assert_async().await;
    result.unwrap();
}

#[tokio::test]
async fn unregister_cube_sends_delete_with_the_user_id_query() {
    for cred in Cred::BOTH {
        let server = MockServer::start_async().await;
        let mock = server
            .mock_async(|when, then| {
                without_body(request(
                    when,
                    DELETE,
                    "/mem_cubes/notes",
                    &[("user_id", "alice")],
                    cred,
                ));
                ok(then, body::CUBE_UNREGISTERED);
            })
            .await;
        let result = cred
            .client(&server)
            .unregister_cube("notes", Some("alice"))
            .await;
        mock.assert_async().await;
        result.unwrap();
    }
}

#[tokio::test]
async fn unregister_cube_without_a_user_sends_no_query_and_percent_encodes_the_id() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            without_body(request(
                when,
                DELETE,
                "/mem_cubes/team%20notes%3F",
                &[],
                Cred::Bearer,
            ));
            ok(then, body::CUBE_UNREGISTERED);
        })
        .await;
    let result = Cred::Bearer
        .client(&server)
        .unregister_cube("team notes?", None)
        .await;
    mock.assert_async().await;
    result.unwrap();
}

#[tokio::test]
async fn share_cube_posts_the_target_user_to_the_cube_share_path() {
    for cred in Cred::BOTH {
        let server = MockServer::start_async().await;
        let mock = server
            .mock_async(|when, then| {
                with_json(
                    request(when, POST, "/mem_cubes/notes/share", &[], cred),
                    json!({"target_user_id": "bob"}),
                );
                ok(then, body::CUBE_SHARED);
            })
            .await;
        let result = cred
            .client(&server)
            .share_cube("notes", types::CubeShare::builder().target_user_id("bob"))
            .await;
        mock.assert_async().await;
        result.unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// memories

#[tokio::test]
async fn add_memories_sends_messages_body_exactly() {
    for cred in Cred::BOTH {
        let server = MockServer::start_async().await;
        let mock = server
            .mock_async(|when, then| {
                with_json(
                    request(when, POST, "/memories", &[], cred),
                    json!({
                        "user_id": "alice",
                        "mem_cube_id": "notes",
                        "messages": [
                            {"role": "user", "content": "I moved to Lisbon in March."},
                            {"role": "assistant", "content": "Noted, you live in Lisbon."}
                        ]
                    }),
                );
                ok(then, body::MEMORIES_ADDED);
            })
            .await;
        let messages = vec![
            types::Message {
                role: "user".into(),
                content: "I moved to Lisbon in March.".into(),
            },
            types::Message {
                role: "assistant".into(),
                content: "Noted, you live in Lisbon.".into(),
            },
        ];
        let result = cred
            .client(&server)
            .add_memories(
                types::MemoryCreate::builder()
                    .user_id("alice".to_owned())
                    .mem_cube_id("notes".to_owned())
                    .messages(messages),
            )
            .await;
        mock.assert_async().await;
        result.unwrap();
    }
}

#[tokio::test]
async fn add_memories_sends_only_the_memory_content_that_was_set() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            with_json(
                request(when, POST, "/memories", &[], Cred::ApiKey),
                json!({"memory_content": "build 1432 passed in 4m12s — ✓"}),
            );
            ok(then, body::MEMORIES_ADDED);
        })
        .await;
    let result = Cred::ApiKey
        .client(&server)
        .add_memories(
            types::MemoryCreate::builder()
                .memory_content("build 1432 passed in 4m12s — ✓".to_owned()),
        )
        .await;
    mock.assert_async().await;
    result.unwrap();
}

#[tokio::test]
async fn add_memories_sends_a_doc_path_with_the_cube() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            with_json(
                request(when, POST, "/memories", &[], Cred::Bearer),
                json!({"doc_path": "/srv/docs/handbook", "mem_cube_id": "notes"}),
            );
            ok(then, body::MEMORIES_ADDED);
        })
        .await;
    let result = Cred::Bearer
        .client(&server)
        .add_memories(
            types::MemoryCreate::builder()
                .doc_path("/srv/docs/handbook".to_owned())
                .mem_cube_id("notes".to_owned()),
        )
        .await;
    mock.assert_async().await;
    result.unwrap();
}

#[tokio::test]
async fn list_memories_sends_cube_and_user_and_returns_items_with_their_metadata() {
    for cred in Cred::BOTH {
        let server = MockServer::start_async().await;
        let mock = server
            .mock_async(|when, then| {
                without_body(request(
                    when,
                    GET,
                    "/memories",
                    &[("mem_cube_id", "notes"), ("user_id", "alice")],
                    cred,
                ));
                ok(then, &body::memory_list());
            })
            .await;
        let result = cred
            .client(&server)
            .list_memories(Some("notes"), Some("alice"))
            .await;
        mock.assert_async().await;
        let list = result.unwrap();
        assert!(list.para_mem.is_empty() && list.act_mem.is_empty() && list.pref_mem.is_empty());
        assert_eq!(list.text_mem.len(), 1);
        let cube = &list.text_mem[0];
        assert_eq!(cube.cube_id, "notes");
        let MemoryCollection::Array(items) = &cube.memories else {
            panic!("expected a list of memories, got {:?}", cube.memories);
        };
        let ids: Vec<&str> = items.iter().map(|item| item.id.as_str()).collect();
        assert_eq!(ids, [body::MEMORY_ID, body::MEMORY_ID_2]);
        assert_eq!(items[0].memory, "I moved to Lisbon in March.");
        assert_eq!(
            items[0].metadata,
            types::MemoryMetadata {
                user_id: Some("alice".into()),
                session_id: Some("default-session".into()),
                status: Some("activated".into()),
                type_: Some("fact".into()),
                key: None,
                confidence: None,
                source: Some("conversation".into()),
                tags: None,
                visibility: None,
                updated_at: Some("2026-11-26T10:00:00.123456".into()),
                is_fast: None,
                evolve_to: Some(vec![]),
                version: None,
                history: Some(vec![]),
                working_binding: None,
                info: None,
                covered_history: None,
            }
        );
        assert_eq!(
            items[1].metadata,
            types::MemoryMetadata {
                user_id: Some("alice".into()),
                session_id: Some("s-1".into()),
                status: Some("activated".into()),
                type_: Some("opinion".into()),
                key: Some("home".into()),
                confidence: Some(0.75),
                source: Some("file".into()),
                tags: Some(vec!["home".into(), "city".into()]),
                visibility: Some("private".into()),
                updated_at: Some("2024-01-01T00:00:00".into()),
                is_fast: None,
                evolve_to: Some(vec![]),
                version: None,
                history: Some(vec![]),
                working_binding: None,
                info: None,
                covered_history: None,
            }
        );
    }
}

#[tokio::test]
async fn list_memories_without_arguments_sends_no_query() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            without_body(request(when, GET, "/memories", &[], Cred::Bearer));
            ok(then, &body::memory_list());
        })
        .await;
    let result = Cred::Bearer.client(&server).list_memories(None, None).await;
    mock.assert_async().await;
    let list = result.unwrap();
    assert_eq!(metadata_of(&list.text_mem[0].memories).len(), 2);
}

#[tokio::test]
async fn list_memories_returns_the_tree_text_graph_as_a_graph() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            without_body(request(
                when,
                GET,
                "/memories",
                &[("mem_cube_id", "tree")],
                Cred::ApiKey,
            ));
            ok(then, body::MEMORY_GRAPH);
        })
        .await;
    let result = Cred::ApiKey
        .client(&server)
        .list_memories(Some("tree"), None)
        .await;
    mock.assert_async().await;
    let list = result.unwrap();
    assert_eq!(list.text_mem[0].cube_id, "tree");
    let MemoryCollection::MemoryGraph(graph) = &list.text_mem[0].memories else {
        panic!("expected a graph, got {:?}", list.text_mem[0].memories);
    };
    assert_eq!(graph.total_nodes, Some(2));
    assert_eq!(graph.total_edges, Some(1));
    assert_eq!(graph.nodes.len(), 2);
    assert_eq!(graph.nodes[0]["id"], json!(body::MEMORY_ID));
    assert_eq!(
        graph.nodes[1]["metadata"]["memory_type"],
        json!("UserMemory")
    );
    assert_eq!(
        Value::Object(graph.edges[0].clone()),
        json!({"source": body::MEMORY_ID, "target": body::MEMORY_ID_2, "type": "PARENT"})
    );
}

#[tokio::test]
async fn get_memory_requests_the_memory_path_and_returns_the_item() {
    let path = format!("/memories/notes/{}", body::MEMORY_ID);
    for cred in Cred::BOTH {
        let server = MockServer::start_async().await;
        let mock = server
            .mock_async(|when, then| {
                without_body(request(when, GET, &path, &[("user_id", "alice")], cred));
                ok(then, &body::memory_item());
            })
            .await;
        let result = cred
            .client(&server)
            .get_memory("notes", body::MEMORY_ID, Some("alice"))
            .await;
        mock.assert_async().await;
        let item = result.unwrap();
        assert_eq!(item.id, body::MEMORY_ID);
        assert_eq!(item.memory, "I moved to Lisbon in March.");
        assert_eq!(item.metadata.source.as_deref(), Some("conversation"));
        assert_eq!(
            item.metadata.updated_at.as_deref(),
            Some("2026-11-26T10:00:00.123456")
        );
    }
}

#[tokio::test]
async fn update_memory_puts_the_new_content_to_the_memory_path() {
    let path = format!("/memories/notes/{}", body::MEMORY_ID);
    for cred in Cred::BOTH {
        let server = MockServer::start_async().await;
        let mock = server
            .mock_async(|when, then| {
                with_json(
                    request(when, PUT, &path, &[("user_id", "alice")], cred),
                    json!({"memory_content": "I moved to Porto in May."}),
                );
                ok(then, body::MEMORY_UPDATED);
            })
            .await;
        let result = cred
            .client(&server)
            .update_memory(
                "notes",
                body::MEMORY_ID,
                Some("alice"),
                types::MemoryUpdate::builder()
                    .memory_content("I moved to Porto in May.".to_owned()),
            )
            .await;
        mock.assert_async().await;
        result.unwrap();
    }
}

#[tokio::test]
async fn delete_memory_sends_delete_to_the_memory_path() {
    let path = format!("/memories/notes/{}", body::MEMORY_ID);
    for cred in Cred::BOTH {
        let server = MockServer::start_async().await;
        let mock = server
            .mock_async(|when, then| {
                without_body(request(when, DELETE, &path, &[("user_id", "alice")], cred));
                ok(then, body::MEMORY_DELETED);
            })
            .await;
        let result = cred
            .client(&server)
            .delete_memory("notes", body::MEMORY_ID, Some("alice"))
            .await;
        mock.assert_async().await;
        result.unwrap();
    }
}

#[tokio::test]
async fn delete_all_memories_sends_delete_to_the_cube_path() {
    for cred in Cred::BOTH {
        let server = MockServer::start_async().await;
        let mock = server
            .mock_async(|when, then| {
                without_body(request(when, DELETE, "/memories/notes", &[], cred));
                ok(then, body::ALL_MEMORIES_DELETED);
            })
            .await;
        let result = cred
            .client(&server)
            .delete_all_memories("notes", None)
            .await;
        mock.assert_async().await;
        result.unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// search and chat

#[tokio::test]
async fn search_memories_sends_query_user_and_cubes_and_returns_memories_grouped_by_cube() {
    for cred in Cred::BOTH {
        let server = MockServer::start_async().await;
        let mock = server
            .mock_async(|when, then| {
                with_json(
                    request(when, POST, "/search", &[], cred),
                    json!({"query": "where do I live", "user_id": "alice", "install_cube_ids": ["notes", "work"]}),
                );
                ok(then, &body::search());
            })
            .await;
        let result = cred
            .client(&server)
            .search_memories(
                types::SearchRequest::builder()
                    .query("where do I live")
                    .user_id("alice".to_owned())
                    .install_cube_ids(vec!["notes".to_owned(), "work".to_owned()]),
            )
            .await;
        mock.assert_async().await;
        let found = result.unwrap();
        assert!(found.act_mem.is_empty() && found.para_mem.is_empty() && found.pref_mem.is_empty());
        let cubes: Vec<&str> = found
            .text_mem
            .iter()
            .map(|cube| cube.cube_id.as_str())
            .collect();
        assert_eq!(cubes, ["notes", "work"]);
        let MemoryCollection::Array(items) = &found.text_mem[0].memories else {
            panic!("expected a list, got {:?}", found.text_mem[0].memories);
        };
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].id, body::MEMORY_ID);
        assert_eq!(items[0].memory, "I moved to Lisbon in March.");
        assert_eq!(metadata_of(&found.text_mem[1].memories).len(), 0);
    }
}

#[tokio::test]
async fn search_memories_sends_only_the_query_when_nothing_else_is_set() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            with_json(
                request(when, POST, "/search", &[], Cred::Bearer),
                json!({"query": "Lisbon"}),
            );
            ok(then, &body::search());
        })
        .await;
    let result = Cred::Bearer
        .client(&server)
        .search_memories(types::SearchRequest::builder().query("Lisbon"))
        .await;
    mock.assert_async().await;
    result.unwrap();
}

#[tokio::test]
async fn chat_sends_query_and_user_and_returns_the_answer_string() {
    for cred in Cred::BOTH {
        let server = MockServer::start_async().await;
        let mock = server
            .mock_async(|when, then| {
                with_json(
                    request(when, POST, "/chat", &[], cred),
                    json!({"query": "Where do I live?", "user_id": "alice"}),
                );
                ok(then, body::CHAT);
            })
            .await;
        let result = cred
            .client(&server)
            .chat(
                types::ChatRequest::builder()
                    .query("Where do I live?")
                    .user_id("alice".to_owned()),
            )
            .await;
        mock.assert_async().await;
        assert_eq!(result.unwrap(), "You live in Lisbon.");
    }
}

#[tokio::test]
async fn chat_without_a_user_sends_only_the_query() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            with_json(
                request(when, POST, "/chat", &[], Cred::ApiKey),
                json!({"query": "Hi"}),
            );
            ok(
                then,
                r#"{"code":200,"message":"Chat response generated","data":""}"#,
            );
        })
        .await;
    let result = Cred::ApiKey
        .client(&server)
        .chat(types::ChatRequest::builder().query("Hi"))
        .await;
    mock.assert_async().await;
    assert_eq!(result.unwrap(), "");
}

// ---------------------------------------------------------------------------------------------
// across operations

#[tokio::test]
async fn a_client_without_credentials_sends_no_authorization_header() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/users")
                .header_missing("authorization");
            ok(then, body::USERS);
        })
        .await;
    let client = common::client_with(&server.base_url(), memos_api::RetryPolicy::none());
    let result = client.list_users().await;
    mock.assert_async().await;
    assert_eq!(result.unwrap().len(), 2);
}

#[tokio::test]
async fn requests_carry_the_user_agent_and_keep_the_base_url_path_prefix() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET).path("/api/users/me").header(
                "user-agent",
                concat!("memos-api/", env!("CARGO_PKG_VERSION")),
            );
            ok(then, body::ME);
        })
        .await;
    // A trailing slash on the base URL must not double the `/` (the server redirects `//`).
    let client = Client::builder(server.url("/api/"))
        .retry_policy(memos_api::RetryPolicy::none())
        .build()
        .unwrap();
    let result = client.get_current_user().await;
    mock.assert_async().await;
    assert_eq!(result.unwrap().user_id, "root");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_calls_are_send_and_run_on_spawned_tasks() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET).path("/users");
            ok(then, body::USERS);
        })
        .await;
    let client = Cred::Bearer.client(&server);
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.list_users().await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap().len(), 2);
    }
    assert_eq!(mock.calls_async().await, 4);
}
