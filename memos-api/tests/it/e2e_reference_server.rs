//! End to end against the real reference server (`MemoryOS==2.0.10`), started by the
//! project's own `memos-refserver`. One walk through the whole API in the order a user
//! takes it, checking the server's state after each step, on each storage backend
//! (naive_text, general_text, tree_text); then one test per known server defect (on
//! naive_text) that asserts the defect exactly, so that a fixed server shows up as a
//! failing test to revisit.

use memos_api::v1::types::{self, MemoryCollection, MemoryItem, UserRole};
use memos_api::{v1::Client, Error};
use memos_refserver::{Backend, ReferenceServer, StartOptions};

async fn shared_server() -> Option<&'static ReferenceServer> {
    memos_refserver::testing::shared_or_skip().await
}

fn client(server: &ReferenceServer) -> Client {
    Client::new(server.base_url()).expect("the server's base URL is valid")
}

fn cube_dir(server: &ReferenceServer, index: usize) -> String {
    server.cube_dirs()[index].display().to_string()
}

async fn create_user(client: &Client, user_id: &str) {
    let created = client
        .create_user(
            types::UserCreate::builder()
                .user_id(user_id)
                .role(UserRole::User),
        )
        .await
        .expect("create_user");
    assert_eq!(created.user_id.as_deref(), Some(user_id));
}

async fn register(client: &Client, user_id: &str, cube_id: &str, path: &str) {
    client
        .register_cube(
            types::MemCubeRegister::builder()
                .user_id(user_id.to_owned())
                .mem_cube_id(cube_id.to_owned())
                .mem_cube_name_or_path(path),
        )
        .await
        .expect("register_cube");
}

async fn add_content(client: &Client, user_id: &str, cube_id: &str, text: &str) {
    client
        .add_memories(
            types::MemoryCreate::builder()
                .user_id(user_id.to_owned())
                .mem_cube_id(cube_id.to_owned())
                .memory_content(text.to_owned()),
        )
        .await
        .expect("add_memories (content)");
}

/// The memories of one cube, as the server lists them.
async fn memories(client: &Client, user_id: &str, cube_id: &str) -> Vec<MemoryItem> {
    let list = client
        .list_memories(Some(cube_id), Some(user_id))
        .await
        .expect("list_memories");
    assert_eq!(list.text_mem.len(), 1, "one cube entry: {list:?}");
    assert_eq!(list.text_mem[0].cube_id, cube_id);
    match &list.text_mem[0].memories {
        MemoryCollection::Array(items) => items.clone(),
        other => panic!("naive_text lists memories as an array, got {other:?}"),
    }
}

fn assert_api_error(err: &Error, status: u16, message_contains: &str) {
    assert_eq!(err.status().map(|s| s.as_u16()), Some(status), "{err}");
    let message = err.message().unwrap_or_default();
    assert!(
        message.contains(message_contains),
        "expected the message to contain {message_contains:?}, got {message:?}"
    );
    if status != 422 {
        assert_eq!(err.code(), Some(i64::from(status)), "envelope code: {err}");
    }
}

/// One memory as a cube lists it, in either shape: an item of the list (naive_text,
/// general_text) or a node of the graph (tree_text).
#[derive(Debug, Clone, PartialEq)]
struct Listed {
    id: String,
    memory: String,
    user_id: Option<String>,
}

/// The memories of one cube in either shape, in the order listed.
async fn listed(client: &Client, user_id: &str, cube_id: &str) -> Vec<Listed> {
    let list = client
        .list_memories(Some(cube_id), Some(user_id))
        .await
        .expect("list_memories");
    assert_eq!(list.text_mem.len(), 1, "one cube entry: {list:?}");
    match &list.text_mem[0].memories {
        MemoryCollection::Array(items) => items
            .iter()
            .map(|m| Listed {
                id: m.id.clone(),
                memory: m.memory.clone(),
                user_id: m.metadata.user_id.clone(),
            })
            .collect(),
        MemoryCollection::MemoryGraph(graph) => graph
            .nodes
            .iter()
            .map(|node| {
                let text = |v: Option<&serde_json::Value>| {
                    v.and_then(serde_json::Value::as_str).map(str::to_owned)
                };
                Listed {
                    id: text(node.get("id")).expect("a node has an id"),
                    memory: text(node.get("memory")).expect("a node has a memory"),
                    user_id: text(node.get("metadata").and_then(|m| m.get("user_id"))),
                }
            })
            .collect(),
    }
}

/// Whether each of `wanted` is in the text of exactly one listed memory (tree_text
/// memories are the LLM's extraction, which here quotes the message).
fn holds_each_once(listed: &[Listed], wanted: &[&str]) -> bool {
    wanted.len() == listed.len()
        && wanted
            .iter()
            .all(|w| listed.iter().filter(|m| m.memory.contains(w)).count() == 1)
}

#[tokio::test]
async fn walks_the_whole_api_like_a_user_on_naive_text() {
    walk(Backend::NaiveText).await;
}

#[tokio::test]
async fn walks_the_whole_api_like_a_user_on_general_text() {
    walk(Backend::GeneralText).await;
}

#[tokio::test]
async fn walks_the_whole_api_like_a_user_on_tree_text() {
    walk(Backend::TreeText).await;
}

/// The walk on a private server whose cubes use `backend`; where the backends answer
/// differently (see the spec's descriptions), each step asserts what that backend does.
async fn walk(backend: Backend) {
    let options = StartOptions {
        backend,
        cube_count: 2,
        ..StartOptions::default()
    };
    let Some(server) = memos_refserver::testing::start_or_skip(options).await else {
        return;
    };
    let client = client(&server);
    let (alice, bob) = ("walk-alice", "walk-bob");

    // Users: created, then listed.
    create_user(&client, alice).await;
    create_user(&client, bob).await;
    let users = client.list_users().await.expect("list_users");
    let ids: Vec<&str> = users.iter().map(|u| u.user_id.as_str()).collect();
    assert!(
        ids.contains(&"root") && ids.contains(&alice) && ids.contains(&bob),
        "{ids:?}"
    );
    let alice_row = users.iter().find(|u| u.user_id == alice).unwrap();
    assert_eq!(alice_row.role, UserRole::User);
    assert!(alice_row.is_active);

    // A cube for alice, empty at first.
    register(&client, alice, "walk-notes", &cube_dir(&server, 0)).await;
    assert!(listed(&client, alice, "walk-notes").await.is_empty());

    // Add in all three ways.
    client
        .add_memories(
            types::MemoryCreate::builder()
                .user_id(alice.to_owned())
                .mem_cube_id("walk-notes".to_owned())
                .messages(vec![
                    types::Message {
                        role: "user".into(),
                        content: "I moved to Lisbon in March.".into(),
                    },
                    types::Message {
                        role: "assistant".into(),
                        content: "Noted: you live in Lisbon.".into(),
                    },
                ]),
        )
        .await
        .expect("add_memories (messages)");
    add_content(&client, alice, "walk-notes", "build 1432 passed in 4m12s").await;
    let before_doc = listed(&client, alice, "walk-notes").await;
    client
        .add_memories(
            types::MemoryCreate::builder()
                .user_id(alice.to_owned())
                .mem_cube_id("walk-notes".to_owned())
                .doc_path(server.docs_dir().display().to_string()),
        )
        .await
        .expect("add_memories (doc_path) answers 200");
    // Known defect on every backend: the doc_path import stores nothing.
    assert_eq!(listed(&client, alice, "walk-notes").await, before_doc);

    // List: each message and the content once. naive_text lists them verbatim in
    // insertion order, general_text verbatim in no particular order, tree_text newest
    // first as the LLM's extraction.
    let all = listed(&client, alice, "walk-notes").await;
    let inputs = [
        "I moved to Lisbon in March.",
        "Noted: you live in Lisbon.",
        "build 1432 passed in 4m12s",
    ];
    match backend {
        Backend::NaiveText => {
            assert_eq!(
                all.iter().map(|m| m.memory.as_str()).collect::<Vec<_>>(),
                inputs
            )
        }
        Backend::GeneralText => {
            let mut texts: Vec<&str> = all.iter().map(|m| m.memory.as_str()).collect();
            texts.sort_unstable();
            let mut sorted = inputs;
            sorted.sort_unstable();
            assert_eq!(texts, sorted);
        }
        Backend::TreeText => assert!(holds_each_once(&all, &inputs), "{all:#?}"),
    }
    assert!(
        all.iter().all(|m| m.user_id.as_deref() == Some(alice)),
        "{all:#?}"
    );
    let lisbon = all
        .iter()
        .find(|m| m.memory.contains("I moved to Lisbon in March."))
        .expect("the first message is stored")
        .id
        .clone();

    // Get one: a known defect on every backend; the memory is still listed.
    let err = client
        .get_memory("walk-notes", &lisbon, Some(alice))
        .await
        .unwrap_err();
    assert_api_error(&err, 400, "Input should be a valid dictionary");

    // Update: a known defect; the memory reads back unchanged. tree_text answers 200.
    let update = client
        .update_memory(
            "walk-notes",
            &lisbon,
            Some(alice),
            types::MemoryUpdate::builder().memory_content("I moved to Porto in May.".to_owned()),
        )
        .await;
    match backend {
        Backend::TreeText => {
            update.expect("tree_text answers 200 to an update");
        }
        _ => assert_api_error(
            &update.unwrap_err(),
            500,
            "unexpected keyword argument 'memories'",
        ),
    }
    assert_eq!(listed(&client, alice, "walk-notes").await, all);

    // Search: one entry for the cube, at most top_k items. Only naive_text ranks by
    // shared words; the others rank by the fake LLM's embeddings, which carry no meaning.
    let found = client
        .search_memories(
            types::SearchRequest::builder()
                .user_id(alice.to_owned())
                .query("Lisbon in March.")
                .install_cube_ids(vec!["walk-notes".to_owned()]),
        )
        .await
        .expect("search_memories");
    assert_eq!(found.text_mem.len(), 1);
    match &found.text_mem[0].memories {
        MemoryCollection::Array(items) => {
            assert!(
                !items.is_empty() && items.len() <= 5,
                "top_k caps the results"
            );
            if backend == Backend::NaiveText {
                assert_eq!(items[0].memory, "I moved to Lisbon in March.");
            }
        }
        other => panic!("search answers a list on every backend, got {other:?}"),
    }

    // Chat: the fake LLM answers about the query, with alice's memories as context.
    let answer = client
        .chat(
            types::ChatRequest::builder()
                .user_id(alice.to_owned())
                .query("Where do I live?"),
        )
        .await
        .expect("chat");
    assert!(answer.contains("Where do I live?"), "{answer}");

    // Share: a known defect; registering the loaded cube id for bob is the working way
    // to share (the path is not read again, so even general_text's lock allows it).
    let err = client
        .share_cube(
            "walk-notes",
            types::CubeShare::builder().target_user_id(bob),
        )
        .await
        .unwrap_err();
    assert_api_error(&err, 400, "User 'walk-notes' does not exist");
    register(&client, bob, "walk-notes", &cube_dir(&server, 0)).await;
    assert_eq!(listed(&client, bob, "walk-notes").await.len(), all.len());

    // Delete one: naive_text deletes it; general_text answers 400 and tree_text 200,
    // and neither deletes anything.
    let deleted = client
        .delete_memory("walk-notes", &lisbon, Some(alice))
        .await;
    let after_delete = listed(&client, alice, "walk-notes").await;
    match backend {
        Backend::NaiveText => {
            deleted.expect("delete_memory");
            assert_eq!(
                after_delete
                    .iter()
                    .map(|m| m.memory.as_str())
                    .collect::<Vec<_>>(),
                ["Noted: you live in Lisbon.", "build 1432 passed in 4m12s"]
            );
        }
        Backend::GeneralText => {
            assert_api_error(&deleted.unwrap_err(), 400, "PointIdsList");
            assert_eq!(after_delete.len(), all.len());
        }
        Backend::TreeText => {
            deleted.expect("tree_text answers 200 to a delete");
            assert_eq!(after_delete.len(), all.len());
        }
    }

    // Delete all: empty.
    client
        .delete_all_memories("walk-notes", Some(alice))
        .await
        .expect("delete_all_memories");
    assert!(listed(&client, alice, "walk-notes").await.is_empty());

    // Unregister: the cube no longer answers.
    client
        .unregister_cube("walk-notes", Some(alice))
        .await
        .expect("unregister_cube");
    let err = client
        .list_memories(Some("walk-notes"), Some(alice))
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(500), "{err}");
    let err = client
        .unregister_cube("walk-notes", Some(alice))
        .await
        .unwrap_err();
    assert_api_error(&err, 400, "MemCube with ID walk-notes does not exist.");

    // The current user and their cubes.
    let me = client.get_current_user().await.expect("get_current_user");
    assert_eq!(me.user_id, "root");
    assert_eq!(me.role, UserRole::Root);

    // Configure: the same config again makes a fresh instance; users survive it.
    let config: types::MosConfig = serde_json::from_value(server.configure_body().clone())
        .expect("configure body fits the spec");
    client.configure(config).await.expect("configure");
    let users = client
        .list_users()
        .await
        .expect("list_users after configure");
    assert!(users.iter().any(|u| u.user_id == alice));
}

#[tokio::test]
async fn known_defect_get_memory_never_succeeds() {
    let Some(server) = shared_server().await else {
        return;
    };
    let client = client(server);
    create_user(&client, "defect-get").await;
    register(
        &client,
        "defect-get",
        "defect-get-cube",
        &cube_dir(server, 1),
    )
    .await;
    add_content(
        &client,
        "defect-get",
        "defect-get-cube",
        "a memory to fetch",
    )
    .await;
    let id = memories(&client, "defect-get", "defect-get-cube").await[0]
        .id
        .clone();

    let err = client
        .get_memory("defect-get-cube", &id, Some("defect-get"))
        .await
        .unwrap_err();
    assert_api_error(
        &err,
        400,
        "1 validation error for MemoryResponse\ndata\n  Input should be a valid dictionary",
    );

    let err = client
        .get_memory("defect-get-cube", "not-a-uuid", Some("defect-get"))
        .await
        .unwrap_err();
    assert_api_error(&err, 400, "badly formed hexadecimal UUID string");
}

#[tokio::test]
async fn known_defect_update_memory_always_answers_500() {
    let Some(server) = shared_server().await else {
        return;
    };
    let client = client(server);
    create_user(&client, "defect-put").await;
    register(
        &client,
        "defect-put",
        "defect-put-cube",
        &cube_dir(server, 2),
    )
    .await;
    add_content(&client, "defect-put", "defect-put-cube", "original text").await;
    let before = memories(&client, "defect-put", "defect-put-cube").await;

    let err = client
        .update_memory(
            "defect-put-cube",
            &before[0].id,
            Some("defect-put"),
            types::MemoryUpdate::builder().memory_content("new text".to_owned()),
        )
        .await
        .unwrap_err();
    assert_api_error(
        &err,
        500,
        "NaiveTextMemory.update() got an unexpected keyword argument 'memories'",
    );
    assert_eq!(
        memories(&client, "defect-put", "defect-put-cube").await,
        before
    );
}

#[tokio::test]
async fn known_defect_share_cube_checks_the_cube_id_as_a_user() {
    let Some(server) = shared_server().await else {
        return;
    };
    let client = client(server);
    create_user(&client, "defect-share-owner").await;
    create_user(&client, "defect-share-target").await;
    register(
        &client,
        "defect-share-owner",
        "defect-share-cube",
        &cube_dir(server, 3),
    )
    .await;

    let err = client
        .share_cube(
            "defect-share-cube",
            types::CubeShare::builder().target_user_id("defect-share-target"),
        )
        .await
        .unwrap_err();
    assert_api_error(
        &err,
        400,
        "User 'defect-share-cube' does not exist or is inactive. Please register the user first.",
    );
    // The target still has no access.
    let err = client
        .list_memories(Some("defect-share-cube"), Some("defect-share-target"))
        .await
        .unwrap_err();
    assert_api_error(&err, 400, "does not have access");
}

#[tokio::test]
async fn known_defect_doc_path_import_answers_200_and_stores_nothing() {
    let Some(server) = shared_server().await else {
        return;
    };
    let client = client(server);
    create_user(&client, "defect-doc").await;
    register(
        &client,
        "defect-doc",
        "defect-doc-cube",
        &cube_dir(server, 4),
    )
    .await;

    client
        .add_memories(
            types::MemoryCreate::builder()
                .user_id("defect-doc".to_owned())
                .mem_cube_id("defect-doc-cube".to_owned())
                .doc_path(server.docs_dir().display().to_string()),
        )
        .await
        .expect("the server answers 200");
    assert!(memories(&client, "defect-doc", "defect-doc-cube")
        .await
        .is_empty());
}

#[tokio::test]
async fn known_defect_create_user_without_role_is_rejected() {
    let Some(server) = shared_server().await else {
        return;
    };
    // The generated client always sends a role, so send the bare body by hand.
    let response = reqwest::Client::new()
        .post(format!("{}/users", server.base_url()))
        .json(&serde_json::json!({"user_id": "defect-no-role"}))
        .send()
        .await
        .expect("POST /users");
    assert_eq!(response.status().as_u16(), 400);
    let body: serde_json::Value = response.json().await.expect("JSON body");
    assert_eq!(
        body,
        serde_json::json!({"code": 400, "message": "'user' is not a valid UserRole", "data": null})
    );
}

#[tokio::test]
async fn known_defect_unknown_cube_on_delete_answers_500() {
    let Some(server) = shared_server().await else {
        return;
    };
    let client = client(server);
    create_user(&client, "defect-del").await;
    let err = client
        .delete_all_memories("defect-no-such-cube", Some("defect-del"))
        .await
        .unwrap_err();
    assert_api_error(
        &err,
        500,
        "MemCube with ID defect-no-such-cube does not exist. please regiester",
    );
}

/// The reference server resets the keep-alive connection after it answers 500, without
/// `connection: close`. A POST sent next on that connection would fail as a transport error
/// that must not be retried; the client opens a fresh connection after a 5xx instead.
#[tokio::test]
async fn a_post_right_after_a_500_goes_through() {
    let Some(server) = shared_server().await else {
        return;
    };
    let client = client(server);
    create_user(&client, "after-500").await;
    register(&client, "after-500", "after-500-cube", &cube_dir(server, 5)).await;
    for round in 0..5 {
        let err = client
            .delete_all_memories("after-500-no-such-cube", Some("after-500"))
            .await
            .unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(500), "{err}");
        add_content(
            &client,
            "after-500",
            "after-500-cube",
            &format!("round {round}"),
        )
        .await;
    }
    assert_eq!(
        memories(&client, "after-500", "after-500-cube").await.len(),
        5
    );
}
