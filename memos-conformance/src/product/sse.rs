//! The event grammar of the product API's streams: a body of frames, each one line
//! `data: <JSON>` followed by an empty line, with no other fields.
//!
//! Not the client's reader (`memos_api::EventStream`): a client's parser rightly skips
//! comments and unknown fields, which is exactly what a conformance check has to report.

use serde_json::Value;

/// One frame's JSON, or why the frame is not one.
pub(crate) type Frame = Result<Value, String>;

/// Splits a `text/event-stream` body into its frames. Anything but `data:` lines is a
/// grammar error of its frame; so is a frame without a `data:` line, and a body that
/// does not end with the empty line closing its last frame.
pub(crate) fn frames(body: &str) -> Vec<Frame> {
    let body = body.replace("\r\n", "\n");
    let mut frames = Vec::new();
    let (complete, rest) = match body.rfind("\n\n") {
        Some(end) => (&body[..end], &body[end + 2..]),
        None => ("", body.as_str()),
    };
    for block in complete.split("\n\n").filter(|b| !b.is_empty()) {
        frames.push(frame(block));
    }
    if !rest.trim().is_empty() {
        frames.push(Err(format!(
            "the stream ends inside a frame (no empty line after {:?})",
            memos_text::one_line(rest, 80)
        )));
    }
    frames
}

fn frame(block: &str) -> Frame {
    let mut data = Vec::new();
    for line in block.lines() {
        match line.strip_prefix("data:") {
            Some(value) => data.push(value.strip_prefix(' ').unwrap_or(value)),
            None => {
                return Err(format!(
                    "a line that is not `data: ...`: {:?}",
                    memos_text::one_line(line, 80)
                ))
            }
        }
    }
    // Several `data:` lines of one frame are one value joined by newlines (the SSE rule).
    let text = data.join("\n");
    serde_json::from_str(&text).map_err(|e| {
        format!(
            "a frame whose data is not JSON ({e}): {:?}",
            memos_text::one_line(&text, 80)
        )
    })
}

/// The `type` of a frame's JSON.
pub(crate) fn event_type(value: &Value) -> Option<&str> {
    value.get("type").and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_data_lines_closed_by_an_empty_line() {
        let frames =
            frames("data: {\"type\": \"text\", \"data\": \"hi\"}\n\ndata: {\"type\": \"end\"}\n\n");
        assert_eq!(frames.len(), 2);
        assert_eq!(event_type(frames[1].as_ref().expect("json")), Some("end"));
    }

    #[test]
    fn grammar_errors_are_named() {
        let frames = frames("event: x\ndata: {}\n\ndata: nope\n\ndata: {\"type\": \"text\"}");
        assert!(frames[0]
            .as_ref()
            .is_err_and(|e| e.contains("not `data: ...`")));
        assert!(frames[1].as_ref().is_err_and(|e| e.contains("not JSON")));
        assert!(frames[2]
            .as_ref()
            .is_err_and(|e| e.contains("ends inside a frame")));
    }
}
