//! The fake LLM's answers: pure functions from a request body to a response, kept
//! apart from the HTTP plumbing so they can be unit-tested.

use serde_json::{json, Value};

/// The chat model name the fake LLM reports and the configs use.
pub const CHAT_MODEL: &str = "fake-llm";
/// The embedding model name the configs use.
pub const EMBEDDING_MODEL: &str = "fake-embedding";
/// Length of every embedding vector.
pub const EMBEDDING_DIM: usize = 8;

/// What a recorded request was understood to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// An ordinary chat completion (e.g. from MemOS `/chat`).
    Chat,
    /// The `naive_text` memory extractor's prompt (answered with a JSON list).
    NaiveExtraction,
    /// The `simple_struct` reader's conversation prompt (answered with `{"memory list": ...}`).
    ChatReader,
    /// The `simple_struct` reader's document-chunk prompt.
    DocReader,
    /// `POST /v1/embeddings`.
    Embeddings,
    /// `GET /v1/models`.
    Models,
    /// Anything else (answered 404 or 400).
    Other,
}

pub(super) fn word_count(text: &str) -> usize {
    text.split_whitespace().count()
}

/// `(role, text)` of every chat message; `content` may be a string or a list of parts.
pub(super) fn messages(body: &Value) -> Vec<(String, String)> {
    let Some(list) = body.get("messages").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .map(|m| {
            let role = m
                .get("role")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let text = match m.get("content") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Array(parts)) => parts
                    .iter()
                    .filter_map(|p| p.get("text").and_then(Value::as_str))
                    .collect::<Vec<_>>()
                    .join("\n"),
                _ => String::new(),
            };
            (role, text)
        })
        .collect()
}

/// Classifies a chat request and produces the model's text.
pub(super) fn chat_answer(body: &Value) -> (RequestKind, String) {
    let msgs = messages(body);
    // MemOS's extraction prompts are always sent as one user message, while `/chat`
    // always has a system prompt first; so a user text that merely quotes a prompt
    // is still answered as chat.
    if let [(_, prompt)] = msgs.as_slice() {
        if prompt.contains("\"memory list\"") {
            if let Some(chunk) = section(
                prompt,
                &["Document chunk:", "文档片段："],
                &["Your Output:", "您的输出："],
            ) {
                return (RequestKind::DocReader, doc_reader_answer(chunk));
            }
            if let Some(conv) = section(
                prompt,
                &["Conversation:", "对话："],
                &["Your Output:", "您的输出："],
            ) {
                return (RequestKind::ChatReader, chat_reader_answer(conv));
            }
        }
        if prompt.contains("You are a memory extractor.") {
            if let Some(input) = section(prompt, &["### Input"], &["### Output"]) {
                return (RequestKind::NaiveExtraction, naive_extraction_answer(input));
            }
        }
    }
    let query = msgs
        .iter()
        .rev()
        .find(|(role, _)| role == "user")
        .map(|(_, t)| t.as_str())
        .unwrap_or_default();
    let memories: usize = msgs
        .iter()
        .filter(|(role, _)| role == "system")
        .map(|(_, t)| count_memories(t))
        .sum();
    (
        RequestKind::Chat,
        format!("Answer to \"{query}\" using {memories} memories."),
    )
}

/// The text after the *last* of `starts` up to the first following `ends` (or the end).
fn section<'a>(text: &'a str, starts: &[&str], ends: &[&str]) -> Option<&'a str> {
    let (pos, marker) = starts
        .iter()
        .filter_map(|m| text.rfind(m).map(|p| (p, *m)))
        .max_by_key(|(p, _)| *p)?;
    let rest = &text[pos + marker.len()..];
    let end = ends
        .iter()
        .filter_map(|m| rest.find(m))
        .min()
        .unwrap_or(rest.len());
    Some(rest[..end].trim())
}

/// Counts `1. ...` lines of a `## Memories:` section (the format of MemOS's
/// `_build_system_prompt`).
fn count_memories(system: &str) -> usize {
    let Some(pos) = system.find("## Memories:") else {
        return 0;
    };
    system[pos + "## Memories:".len()..]
        .lines()
        .take_while(|line| !line.starts_with("## "))
        .filter(|line| {
            let digits = line.chars().take_while(char::is_ascii_digit).count();
            digits > 0 && line[digits..].starts_with(". ")
        })
        .count()
}

/// `naive_text` parses the answer with `json.loads` as a list of
/// `{"memory": str, "metadata": {...}}`; one memory per message, word for word.
fn naive_extraction_answer(input: &str) -> String {
    let items: Vec<Value> = match serde_json::from_str::<Value>(input) {
        Ok(Value::Array(msgs)) => msgs
            .iter()
            .filter_map(|m| m.get("content").and_then(Value::as_str))
            .filter(|c| !c.trim().is_empty())
            .map(|c| json!({"memory": c, "metadata": {"type": "fact"}}))
            .collect(),
        _ => vec![json!({"memory": input, "metadata": {"type": "fact"}})],
    };
    Value::Array(items).to_string()
}

fn key_of(text: &str) -> String {
    text.split_whitespace()
        .take(5)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The chat reader reads `response["memory list"]` items with `key`, `memory_type`,
/// `value`, `tags`, plus `summary`; one memory per non-empty conversation line.
fn chat_reader_answer(conversation: &str) -> String {
    let list: Vec<Value> = conversation
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| json!({"key": key_of(l), "memory_type": "UserMemory", "value": l, "tags": ["conversation"]}))
        .collect();
    json!({"memory list": list, "summary": conversation}).to_string()
}

/// The doc reader's `_build_node` reads top-level `key`, `value` and `tags`, while
/// its prompt asks for a `memory list`; answer both so either parser is satisfied.
fn doc_reader_answer(chunk: &str) -> String {
    let key = key_of(chunk);
    json!({
        "key": key,
        "value": chunk,
        "tags": ["document"],
        "memory list": [{"key": key, "memory_type": "LongTermMemory", "value": chunk, "tags": ["document"]}],
        "summary": chunk
    })
    .to_string()
}

/// The embeddings answer; `input` may be a string, a list of strings, or token lists.
pub(super) fn embeddings_body(body: &Value) -> Result<Value, String> {
    let inputs = embedding_inputs(body)?;
    let base64 = body.get("encoding_format").and_then(Value::as_str) == Some("base64");
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or(EMBEDDING_MODEL);
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let vector = embed(text);
            let embedding = if base64 {
                let bytes: Vec<u8> = vector.iter().flat_map(|f| f.to_le_bytes()).collect();
                Value::String(base64_encode(&bytes))
            } else {
                json!(vector)
            };
            json!({"object": "embedding", "index": i, "embedding": embedding})
        })
        .collect();
    let tokens: usize = inputs.iter().map(|t| word_count(t)).sum();
    Ok(json!({
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens}
    }))
}

/// The texts of an embedding request's `input` (a string or an array), as both the
/// OpenAI and the Ollama API send it.
fn embedding_inputs(body: &Value) -> Result<Vec<String>, String> {
    match body.get("input") {
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => Ok(items
            .iter()
            .map(|item| match item {
                Value::String(s) => s.clone(),
                // Token ids (or lists of them) are hashed through their JSON text.
                other => other.to_string(),
            })
            .collect()),
        _ => Err("`input` must be a string or an array".to_string()),
    }
}

/// The answer to Ollama's `POST /api/embed`: the same vectors as `/v1/embeddings`.
pub(super) fn ollama_embed_body(body: &Value) -> Result<Value, String> {
    let inputs = embedding_inputs(body)?;
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or(EMBEDDING_MODEL);
    let embeddings: Vec<Vec<f32>> = inputs.iter().map(|t| embed(t)).collect();
    let tokens: usize = inputs.iter().map(|t| word_count(t)).sum();
    Ok(json!({
        "model": model,
        "embeddings": embeddings,
        "total_duration": 0,
        "load_duration": 0,
        "prompt_eval_count": tokens
    }))
}

/// The answer to Ollama's `GET /api/tags`: the embedding model is "installed", so an
/// Ollama client never asks to pull it.
pub(super) fn ollama_tags_body() -> Value {
    json!({"models": [{
        "name": EMBEDDING_MODEL,
        "model": EMBEDDING_MODEL,
        "modified_at": "2025-01-01T00:00:00Z",
        "size": 0,
        "digest": "0000000000000000000000000000000000000000000000000000000000000000",
        "details": {"format": "gguf", "family": "fake", "parameter_size": "0", "quantization_level": "F32"}
    }]})
}

/// A deterministic unit vector derived from FNV-1a and splitmix64.
pub fn embed(text: &str) -> Vec<f32> {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut v: Vec<f32> = (0..EMBEDDING_DIM as u64)
        .map(|i| {
            let mut z = hash.wrapping_add(i.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            // Top 24 bits as a float in [-1, 1).
            ((z >> 40) as f32 / (1u64 << 23) as f32) - 1.0
        })
        .collect();
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].iter().enumerate() {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> shift) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {

    use super::*;

    fn chat(msgs: Value) -> (RequestKind, String) {
        chat_answer(&json!({"model": CHAT_MODEL, "messages": msgs}))
    }

    #[test]
    fn chat_mentions_query_and_counts_memories() {
        let system = "You are helpful.\n\n## Memories:\n1. Zed likes tea.\n2. Zed lives in Oslo.";
        let (kind, text) = chat(json!([
            {"role": "system", "content": system},
            {"role": "user", "content": "What does Zed like?"}
        ]));
        assert_eq!(kind, RequestKind::Chat);
        assert_eq!(text, "Answer to \"What does Zed like?\" using 2 memories.");
        let (_, text) =
            chat(json!([{"role": "system", "content": "x"}, {"role": "user", "content": "hi"}]));
        assert_eq!(text, "Answer to \"hi\" using 0 memories.");
    }

    #[test]
    fn naive_extraction_returns_a_json_list() {
        let prompt = "You are a memory extractor. ...\n## Query\n\n### Input\n\n\
                      [{\"role\": \"user\", \"content\": \"I like tea.\"}, {\"role\": \"assistant\", \"content\": \"Noted.\"}]\n\n### Output\n\n";
        let (kind, text) = chat(json!([{"role": "user", "content": prompt}]));
        assert_eq!(kind, RequestKind::NaiveExtraction);
        let parsed: Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(parsed[0]["memory"], "I like tea.");
        assert_eq!(parsed[1]["metadata"]["type"], "fact");
    }

    #[test]
    fn reader_prompts_get_memory_lists() {
        let chat_prompt = "Return {\"memory list\": ...}\nConversation:\nuser: [today]: I like tea.\n\nYour Output:";
        let (kind, text) = chat(json!([{"role": "user", "content": chat_prompt}]));
        assert_eq!(kind, RequestKind::ChatReader);
        let parsed: Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(
            parsed["memory list"][0]["value"],
            "user: [today]: I like tea."
        );

        let doc_prompt =
            "Return {\"memory list\": ...}\nDocument chunk:\nTea is a drink.\n\nYour Output:";
        let (kind, text) = chat(json!([{"role": "user", "content": doc_prompt}]));
        assert_eq!(kind, RequestKind::DocReader);
        let parsed: Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(parsed["value"], "Tea is a drink.");
        assert_eq!(parsed["memory list"][0]["memory_type"], "LongTermMemory");
    }

    #[test]
    fn embeddings_are_deterministic_unit_vectors() {
        let a = embed("hello");
        assert_eq!(a, embed("hello"));
        assert_ne!(a, embed("world"));
        assert_eq!(a.len(), EMBEDDING_DIM);
        let norm: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5);
        let body = embeddings_body(&json!({"input": ["a", "b"], "encoding_format": "base64"}))
            .expect("ok");
        let encoded = body["data"][1]["embedding"]
            .as_str()
            .expect("base64 string");
        assert_eq!(encoded.len(), (EMBEDDING_DIM * 4).div_ceil(3) * 4);
        assert!(embeddings_body(&json!({"input": 3})).is_err());
    }

    #[test]
    fn base64_matches_known_values() {
        assert_eq!(base64_encode(b""), "");
        assert_eq!(base64_encode(b"f"), "Zg==");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_encode(b"foo"), "Zm9v");
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
    }
}
