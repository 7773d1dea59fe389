//! `memos_api::product::Client` against the real `/product` server (MemoryOS 2.0.33, started
//! by `memos-refserver` as upstream ships it). One walk, on one server: it starts in about
//! as long as the rest of this binary's tests take, so a second server would double it.

use futures::StreamExt as _;
use memos_api::product::types::{self, ChatStreamEvent};
use memos_api::{product, Error};
use memos_refserver::{testing, Api, StartOptions};

const USER: &str = "root";
const CUBE: &str = "e2e-product-client";

/// The ids of the text memories `get_memories` lists for the cube.
async fn listed(client: &product::Client) -> Vec<String> {
    let buckets = client
        .get_memories(
            types::GetMemoryRequest::builder()
                .mem_cube_id(CUBE)
                .user_id(USER.to_owned()),
        )
        .await
        .expect("get_memories");
    buckets
        .text_mem
        .iter()
        .flat_map(|cube| cube.memories.iter().map(|memory| memory.id.clone()))
        .collect()
}

#[tokio::test]
async fn add_list_delete_and_chat_through_the_product_client() {
    let Some(server) = testing::start_or_skip(StartOptions {
        api: Api::Product,
        ..StartOptions::default()
    })
    .await
    else {
        return;
    };
    let client = product::Client::new(server.base_url()).expect("the server's base URL is valid");
    let health = client.health_check().await.expect("health_check");
    assert_eq!(health.status, "healthy");

    let added = client
        .add_memories(
            types::AddRequest::builder()
                .user_id(USER)
                .session_id("s-e2e".to_owned())
                .writable_cube_ids(vec![CUBE.to_owned()])
                .messages(types::MessagesInput::Text(
                    "Mina keeps bees on the roof.".into(),
                ))
                .async_mode(types::AddRequestAsyncMode::Sync)
                .mode(types::AddRequestMode::Fast),
        )
        .await
        .expect("add_memories");
    let id = match added.first().expect("the add answers its items") {
        types::AddResult::AddedMemory(memory) => memory.memory_id.clone(),
        other => panic!("a fast add answers stored memories, not {other:?}"),
    };
    assert!(listed(&client).await.contains(&id), "{added:?}");

    // Known server defect: reads by id see only the internal cube `memos_default`, so the
    // memory just listed is "not found" (a 200 with `data: null`).
    assert!(client.get_memory(&id).await.expect("get_memory").is_none());

    // A delete without a selector is refused with a 200 and `status: failure`.
    let err = client
        .delete_memories(types::DeleteMemoryRequest::builder())
        .await
        .expect_err("a delete that selects nothing is refused");
    assert!(matches!(err, Error::ReportedFailure { .. }), "{err:?}");
    assert!(err.message().is_some(), "{err}");

    client
        .delete_memories(
            types::DeleteMemoryRequest::builder()
                .writable_cube_ids(vec![CUBE.to_owned()])
                .memory_ids(vec![id.clone()]),
        )
        .await
        .expect("delete_memories");
    assert!(!listed(&client).await.contains(&id));

    // Chat streams typed events from the fake LLM. 2.0.33 sends the answer as `text`
    // frames and ends the stream without an `end` frame.
    let events: Vec<ChatStreamEvent> = client
        .chat_stream(
            types::ChatRequest::builder()
                .user_id(USER)
                .query("Who keeps bees?")
                .readable_cube_ids(vec![CUBE.to_owned()])
                .add_message_on_answer(false),
        )
        .await
        .expect("chat_stream starts")
        .map(|event| event.expect("every event parses"))
        .collect()
        .await;
    let answer: String = events
        .iter()
        .filter_map(|event| match event {
            ChatStreamEvent::TextEvent(text) => Some(text.data.as_str()),
            _ => None,
        })
        .collect();
    assert!(answer.contains("Who keeps bees?"), "{events:?}");

    // Without Redis the scheduler reports one `idle` frame at once.
    let progress: Vec<types::SchedulerProgressEvent> = client
        .scheduler_wait_stream(USER, None, None)
        .await
        .expect("scheduler_wait_stream starts")
        .map(|event| event.expect("every event parses"))
        .collect()
        .await;
    assert_eq!(progress.len(), 1, "{progress:?}");
    assert_eq!(
        progress[0].status,
        types::SchedulerProgressEventStatus::Idle
    );
}
