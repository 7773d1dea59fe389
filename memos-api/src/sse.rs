//! The server-sent-event grammar (WHATWG HTML, "Parsing an event stream"), read in one pass.
//!
//! [`Decoder`] takes the body chunk by chunk and scans every byte once: it looks for the
//! next line break from where the last search stopped (`memchr`), keeps only the unfinished
//! line between chunks, and never goes back over bytes it has read. A general-purpose
//! parser that re-reads the unfinished line on every chunk costs time quadratic in a line's
//! length, which a hostile server turns into minutes of CPU with one long event or a body
//! of blank lines.
//!
//! What it reads: `\n`, `\r\n` and `\r` line ends (a `\r\n` split across chunks included),
//! one leading byte-order mark, comments (`:` lines), the `data`, `event`, `id` and `retry`
//! fields (other fields are ignored), multi-line data joined with `\n`, an event dispatched
//! on a blank line, and an unfinished event at the end of the body dropped. Text is decoded
//! as UTF-8 with replacement, as the standard says.
//!
//! The one departure from the standard is a bound: the bytes read since the last event
//! (the event's own lines, and the blank lines, comments and events without data before
//! it) may not pass a cap, so neither a huge event nor an endless run of keep-alives can
//! hold memory or CPU without end. An event whose data is empty is not passed on: there is
//! nothing to decode in it, and it counts as bytes without an event.

use std::collections::VecDeque;

use memchr::{memchr, memchr2};

/// The byte-order mark the standard strips from the start of a stream.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Event {
    /// The event type (`event` field), `message` when none was given.
    // Read by the tests: the typed streams tell events apart by their data.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) event: String,
    /// The data lines, joined with `\n`; never empty.
    pub(crate) data: String,
    /// The last event ID at the time of dispatch (`id` field; it carries over events).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) id: String,
}

/// Why the decoder stopped: the bytes since the last event passed the cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Overflow {
    /// An event (data, or a field line being received) is larger than the cap.
    Event,
    /// Blank lines and comments without an event passed the cap.
    NoEvent,
}

/// Reads a server-sent-event body chunk by chunk; see the module docs.
#[derive(Debug)]
pub(crate) struct Decoder {
    /// The most bytes accepted between two events.
    cap: usize,
    /// Bytes accepted since the last event; each line break counts one.
    used: usize,
    /// How many bytes of a leading byte-order mark have been seen; `None` once the start of
    /// the stream is behind.
    bom_seen: Option<usize>,
    /// The unfinished line: the bytes after the last line break.
    line: Vec<u8>,
    /// The last byte read was a `\r`: a `\n` next belongs to the same line break.
    after_cr: bool,
    data: String,
    event: String,
    last_id: String,
    /// The reconnection time the server asked for, in milliseconds.
    #[cfg_attr(not(test), allow(dead_code))]
    retry: Option<u64>,
    /// The cap was passed: nothing more is read.
    overflow: Option<Overflow>,
}

impl Decoder {
    /// A decoder that accepts at most `cap` bytes between two events.
    pub(crate) fn new(cap: usize) -> Self {
        Decoder {
            cap,
            used: 0,
            bom_seen: Some(0),
            line: Vec::new(),
            after_cr: false,
            data: String::new(),
            event: String::new(),
            last_id: String::new(),
            retry: None,
            overflow: None,
        }
    }

    /// Reads the next chunk of the body, appending the events it completes to `out`.
    /// Fails once the bytes since the last event pass the cap; the events completed before
    /// that point are in `out`, and every later call fails the same way.
    pub(crate) fn feed(&mut self, bytes: &[u8], out: &mut VecDeque<Event>) -> Result<(), Overflow> {
        if let Some(overflow) = self.overflow {
            return Err(overflow);
        }
        let bytes = self.strip_bom(bytes, out)?;
        self.read(bytes, out)
    }

    /// Skips a leading byte-order mark, which may arrive split over chunks; the bytes of a
    /// start that turns out not to be one are read as they are.
    fn strip_bom<'a>(
        &mut self,
        bytes: &'a [u8],
        out: &mut VecDeque<Event>,
    ) -> Result<&'a [u8], Overflow> {
        let Some(seen) = self.bom_seen else {
            return Ok(bytes);
        };
        let wanted = &BOM[seen..];
        let common = wanted.len().min(bytes.len());
        if bytes[..common] != wanted[..common] {
            self.bom_seen = None;
            self.read(&BOM[..seen], out)?;
            return Ok(bytes);
        }
        if common == wanted.len() {
            self.bom_seen = None;
        } else {
            self.bom_seen = Some(seen + common);
        }
        Ok(&bytes[common..])
    }

    /// Splits `bytes` into lines, continuing the unfinished one.
    fn read(&mut self, mut rest: &[u8], out: &mut VecDeque<Event>) -> Result<(), Overflow> {
        if self.after_cr && !rest.is_empty() {
            self.after_cr = false;
            if rest[0] == b'\n' {
                rest = &rest[1..];
            }
        }
        loop {
            rest = self.skip_blank_lines(rest)?;
            let Some(end) = memchr2(b'\r', b'\n', rest) else {
                break;
            };
            let part = &rest[..end];
            let mut next = end + 1;
            if rest[end] == b'\r' {
                match rest.get(next) {
                    Some(b'\n') => next += 1,
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
            self.accept(part.len() + 1, part)?;
            if self.line.is_empty() {
                self.line_ended(part, out);
            } else {
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(part);
                self.line_ended(&line, out);
                line.clear();
                self.line = line;
            }
            rest = &rest[next..];
        }
        self.accept(rest.len(), rest)?;
        self.line.extend_from_slice(rest);
        Ok(())
    }

    /// Skips the `\n`s at the start of `rest` when nothing is pending: blank lines that
    /// dispatch nothing, counted in one step rather than line by line (the body of blank
    /// lines a hostile server sends).
    fn skip_blank_lines<'a>(&mut self, rest: &'a [u8]) -> Result<&'a [u8], Overflow> {
        if !self.line.is_empty() || !self.data.is_empty() || !self.event.is_empty() {
            return Ok(rest);
        }
        let run = rest
            .iter()
            .position(|&byte| byte != b'\n')
            .unwrap_or(rest.len());
        self.accept(run, &[])?;
        Ok(&rest[run..])
    }

    /// Counts `count` more bytes since the last event; `part` is the part of the current
    /// line among them (after what `line` holds), which tells what the overflow is.
    fn accept(&mut self, count: usize, part: &[u8]) -> Result<(), Overflow> {
        self.used = self.used.saturating_add(count);
        if self.used <= self.cap {
            return Ok(());
        }
        let first = self.line.first().or(part.first());
        let overflow = if !self.data.is_empty() || first.is_some_and(|&byte| byte != b':') {
            Overflow::Event
        } else {
            Overflow::NoEvent
        };
        self.overflow = Some(overflow);
        Err(overflow)
    }

    /// Interprets one whole line (without its line break).
    fn line_ended(&mut self, line: &[u8], out: &mut VecDeque<Event>) {
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if line[0] == b':' {
            return;
        }
        let (name, value) = match memchr(b':', line) {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        match name {
            b"data" => {
                self.data.push_str(&String::from_utf8_lossy(value));
                self.data.push('\n');
            }
            b"event" => self.event = String::from_utf8_lossy(value).into_owned(),
            b"id" if !value.contains(&0) => {
                self.last_id = String::from_utf8_lossy(value).into_owned();
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                // Digits only, so the parse fails only on overflow: ignored as too large.
                if let Ok(millis) = std::str::from_utf8(value).unwrap_or_default().parse() {
                    self.retry = Some(millis);
                }
            }
            _ => {}
        }
    }

    /// The blank line: passes the event on, unless its data is empty.
    fn dispatch(&mut self, out: &mut VecDeque<Event>) {
        let mut data = std::mem::take(&mut self.data);
        let event = std::mem::take(&mut self.event);
        data.pop();
        if data.is_empty() {
            return;
        }
        self.used = 0;
        out.push_back(Event {
            event: if event.is_empty() {
                "message".to_owned()
            } else {
                event
            },
            data,
            id: self.last_id.clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Every event of `chunks`, read in order, and how reading ended.
    fn decode(cap: usize, chunks: &[&[u8]]) -> (Vec<Event>, Result<(), Overflow>) {
        let mut decoder = Decoder::new(cap);
        let mut out = VecDeque::new();
        let mut result = Ok(());
        for chunk in chunks {
            result = decoder.feed(chunk, &mut out);
            if result.is_err() {
                break;
            }
        }
        (out.into_iter().collect(), result)
    }

    fn data(events: &[Event]) -> Vec<&str> {
        events.iter().map(|event| event.data.as_str()).collect()
    }

    #[test]
    fn every_line_ending_ends_lines_and_events() {
        let (events, end) = decode(1024, &[b"data: a\n\ndata: b\r\n\r\ndata: c\r\rdata: d\n\n"]);
        assert_eq!(end, Ok(()));
        assert_eq!(data(&events), ["a", "b", "c", "d"]);
    }

    #[test]
    fn a_crlf_split_across_chunks_is_one_line_break() {
        // Were the `\n` a second line break, "a" would be dispatched alone.
        let (events, _) = decode(1024, &[b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"]);
        assert_eq!(data(&events), ["a\nb"]);
    }

    #[test]
    fn a_cr_at_the_end_of_a_chunk_ends_the_line_at_once() {
        let (events, _) = decode(1024, &[b"data: a\r\r", b"data: b\r", b"\r"]);
        assert_eq!(data(&events), ["a", "b"]);
    }

    #[test]
    fn fields_comments_and_multi_line_data_follow_the_standard() {
        let body = b": keep-alive\nevent: progress\nid: 7\nretry: 1500\ndata:first\ndata:  second\nignored: x\ndata\n\ndata: next\n\n";
        let mut decoder = Decoder::new(1024);
        let mut out = VecDeque::new();
        decoder.feed(body, &mut out).unwrap();
        let events: Vec<Event> = out.into_iter().collect();
        assert_eq!(
            events,
            [
                Event {
                    event: "progress".into(),
                    data: "first\n second\n".into(),
                    id: "7".into(),
                },
                Event {
                    event: "message".into(),
                    data: "next".into(),
                    id: "7".into(),
                },
            ]
        );
        assert_eq!(decoder.retry, Some(1500));
    }

    #[test]
    fn a_leading_bom_is_skipped_even_split_and_only_at_the_start() {
        let (events, _) = decode(
            1024,
            &[b"\xEF", b"\xBB", b"\xBFdata: a\n\n\xEF\xBB\xBFdata: b\n\n"],
        );
        assert_eq!(data(&events), ["a"], "a second BOM is part of a field name");
        let (events, _) = decode(1024, &[b"\xEF\xBB", b"data: a\n\n"]);
        assert_eq!(
            data(&events),
            Vec::<&str>::new(),
            "a broken BOM is a field name"
        );
    }

    #[test]
    fn an_unfinished_event_at_the_end_is_dropped_and_empty_data_is_not_an_event() {
        let (events, end) = decode(1024, &[b"data:\n\ndata: a\n\ndata: b\n"]);
        assert_eq!(end, Ok(()));
        assert_eq!(data(&events), ["a"]);
    }

    #[test]
    fn an_event_past_the_cap_stops_after_the_events_before_it() {
        let (events, end) = decode(16, &[b"data: short\n\ndata: ", b"0123456789abcdef\n\n"]);
        assert_eq!(data(&events), ["short"]);
        assert_eq!(end, Err(Overflow::Event));
    }

    #[test]
    fn blank_lines_and_comments_past_the_cap_stop_the_stream() {
        let blank = vec![b'\n'; 17];
        assert_eq!(decode(16, &[&blank]).1, Err(Overflow::NoEvent));
        let comments = b":\r\n".repeat(17);
        assert_eq!(decode(16, &[&comments]).1, Err(Overflow::NoEvent));
        // An event resets the count.
        let mut body = b"\n".repeat(10);
        body.extend_from_slice(b"data: a\n\n");
        body.extend_from_slice(&b"\n".repeat(10));
        assert_eq!(
            decode(20, &[&body]),
            (decode(20, &[b"data: a\n\n"]).0, Ok(()))
        );
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        let (events, _) = decode(1024, &[b"data: \xFF\n\n"]);
        assert_eq!(data(&events), ["\u{FFFD}"]);
    }

    /// Bodies made of the grammar's pieces, so that splits fall on every kind of boundary.
    fn body() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            Just(b"data: ".to_vec()),
            Just(b"data:".to_vec()),
            Just(b"event: e".to_vec()),
            Just(b"id: 1".to_vec()),
            Just(b"retry: 10".to_vec()),
            Just(b":c".to_vec()),
            Just(b"\n".to_vec()),
            Just(b"\r".to_vec()),
            Just(b"\r\n".to_vec()),
            Just(BOM.to_vec()),
            Just(b"\xE2\x82\xAC".to_vec()),
            "[a-z :{}\"]{0,6}".prop_map(String::into_bytes),
        ];
        prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #[test]
        fn chunking_never_changes_the_events(
            body in body(),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
            cap in 4usize..200,
        ) {
            let mut at: Vec<usize> = cuts.iter().map(|cut| cut.index(body.len() + 1)).collect();
            at.sort_unstable();
            let mut chunks: Vec<&[u8]> = Vec::new();
            let mut start = 0;
            for end in at {
                chunks.push(&body[start..end]);
                start = end;
            }
            chunks.push(&body[start..]);
            prop_assert_eq!(decode(cap, &chunks), decode(cap, &[&body]));
        }
    }
}
