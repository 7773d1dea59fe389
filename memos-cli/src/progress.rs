//! Showing an import's progress on stderr: a bar on a terminal, a line every few seconds
//! otherwise (logs, CI), nothing but problems with `--quiet`.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use memos_loader::{Event, ProgressFn};

use crate::output;

/// How often a plain progress line is printed.
const PLAIN_EVERY: Duration = Duration::from_secs(2);

enum Display {
    Bar(ProgressBar),
    Plain(Mutex<PlainState>),
    Quiet,
}

struct PlainState {
    total: u64,
    done: u64,
    /// Records done before this run (not part of the rate).
    initial: u64,
    failed: u64,
    started: Instant,
    last: Instant,
}

pub struct Reporter {
    display: Display,
}

impl Reporter {
    pub fn new(quiet: bool) -> Arc<Self> {
        let display = if quiet {
            Display::Quiet
        } else if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:40.cyan/blue} {pos}/{len} records \
                     ({per_sec}, eta {eta}) {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar.set_message("reading");
            Display::Bar(bar)
        } else {
            let now = Instant::now();
            Display::Plain(Mutex::new(PlainState {
                total: 0,
                done: 0,
                initial: 0,
                failed: 0,
                started: now,
                last: now,
            }))
        };
        Arc::new(Self { display })
    }

    /// Prints a line without breaking the bar. Lines carry server errors and file names,
    /// so they go out escaped.
    pub fn line(&self, text: &str) {
        match &self.display {
            Display::Bar(bar) => bar.suspend(|| output::warn(text)),
            _ => output::warn(text),
        }
    }

    /// Removes the bar (before the summary is printed).
    pub fn finish(&self) {
        if let Display::Bar(bar) = &self.display {
            bar.finish_and_clear();
        }
        let _ = std::io::stderr().flush();
    }

    pub fn callback(self: &Arc<Self>) -> ProgressFn {
        let me = self.clone();
        Arc::new(move |event: &Event<'_>| me.event(event))
    }

    fn event(&self, event: &Event<'_>) {
        let quiet = matches!(self.display, Display::Quiet);
        match event {
            Event::Invalid {
                record,
                skipped: true,
            } if !quiet => {
                self.line(&format!("memos: skipped invalid record {record}"));
            }
            Event::Validated { records, invalid } if !quiet => {
                let note = if *invalid > 0 {
                    format!(", {invalid} invalid")
                } else {
                    String::new()
                };
                match &self.display {
                    Display::Bar(bar) => bar.set_message(format!("{records} valid{note}")),
                    _ => self.line(&format!("memos: read {records} records{note}")),
                }
            }
            Event::Reconciled(report) if !quiet => {
                let mut text = format!(
                    "memos: resuming: {} records were in doubt: {} already stored, {} missing",
                    report.in_doubt, report.present, report.missing
                );
                if report.partial > 0 {
                    text.push_str(&format!(", {} partly stored", report.partial));
                }
                if report.duplicates_removed > 0 {
                    text.push_str(&format!(
                        ", {} stored twice (an add of the killed run landed late): the second \
                         copy was deleted",
                        report.duplicates_removed
                    ));
                }
                if report.foreign_markers > 0 {
                    text.push_str(&format!(
                        ", {} memories carry this import's marker with a run it never recorded \
                         (a copy of the marker, or a run of an older memos): left alone and not trusted",
                        report.foreign_markers
                    ));
                }
                if report.cannot_tell > 0 {
                    text.push_str(&format!(
                        ", {} cannot be checked and are sent again (they may be duplicated)",
                        report.cannot_tell
                    ));
                }
                if report.ignored_nodes > 0 {
                    text.push_str(&format!(
                        "; {} graph nodes with unreadable sources were left out",
                        report.ignored_nodes
                    ));
                }
                if let Some(reason) = &report.reason {
                    text.push_str(&format!(" ({reason})"));
                }
                self.line(&text);
            }
            Event::Started { total, done } => match &self.display {
                Display::Bar(bar) => {
                    bar.set_length(*total);
                    bar.set_position(*done);
                    bar.reset_eta();
                    bar.set_message("");
                }
                Display::Plain(state) => {
                    let mut state = lock(state);
                    state.total = *total;
                    state.done = *done;
                    state.initial = *done;
                    state.started = Instant::now();
                    let already = if *done > 0 {
                        format!(" ({done} already imported)")
                    } else {
                        String::new()
                    };
                    eprintln!("memos: sending {} records{already}", total - done);
                }
                Display::Quiet => {}
            },
            Event::Acked { .. } => self.advance(false),
            Event::Failed {
                location, error, ..
            } => {
                self.line(&format!("memos: record {location} failed: {error}"));
                self.advance(true);
            }
            Event::Retrying { location, error } if !quiet => {
                let first = error.lines().next().unwrap_or_default();
                self.line(&format!(
                    "memos: record {location} is sent again after: {first}"
                ));
            }
            Event::Stopping { reason } => self.line(&format!("memos: stopping: {reason}")),
            _ => {}
        }
    }

    fn advance(&self, failed: bool) {
        match &self.display {
            Display::Bar(bar) => bar.inc(1),
            Display::Plain(state) => {
                let mut state = lock(state);
                state.done += 1;
                if failed {
                    state.failed += 1;
                }
                if state.last.elapsed() >= PLAIN_EVERY {
                    state.last = Instant::now();
                    let secs = state.started.elapsed().as_secs_f64().max(0.001);
                    let percent = (state.done * 100).checked_div(state.total).unwrap_or(100);
                    eprintln!(
                        "memos: {}/{} records ({percent}%), {:.0} records/s, {} failed",
                        state.done,
                        state.total,
                        (state.done - state.initial) as f64 / secs,
                        state.failed
                    );
                }
            }
            Display::Quiet => {}
        }
    }
}

fn lock(state: &Mutex<PlainState>) -> std::sync::MutexGuard<'_, PlainState> {
    // A panic elsewhere must not silence progress.
    state.lock().unwrap_or_else(|e| e.into_inner())
}
