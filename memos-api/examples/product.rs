//! The `/product` client: a synchronous add, then a chat answered as server-sent events.
//!
//! `cargo run -p memos-api --example product -- http://127.0.0.1:8000` against a server such
//! as `memos-reference-server --api product`.

use futures::StreamExt as _;
use memos_api::{product, product::types};

#[tokio::main]
async fn main() -> memos_api::Result<()> {
    let base_url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:8000".into());
    let client = product::Client::builder(&base_url).build()?;
    let added = client
        .add_memories(
            types::AddRequest::builder()
                .user_id("alice")
                .session_id("s1".to_owned())
                .writable_cube_ids(vec!["notes".to_owned()])
                .messages(types::MessagesInput::Text(
                    "I moved to Lisbon in March.".into(),
                ))
                // Sync: the answer means stored (async answers before the extraction).
                .async_mode(types::AddRequestAsyncMode::Sync)
                // Fast: stored as sent; fine mode stores what the server's LLM extracts.
                .mode(types::AddRequestMode::Fast),
        )
        .await?;
    println!("stored {} memories", added.len());

    let mut events = client
        .chat_stream(
            types::ChatRequest::builder()
                .user_id("alice")
                .query("Where do I live?"),
        )
        .await?;
    while let Some(event) = events.next().await {
        println!("{:?}", event?);
    }
    Ok(())
}
